package main

// output.go: the one `-o table|csv|json` helper of the report commands
// (reconcile, report merchant): a table for people, CSV for
// spreadsheets, the API's JSON for programs.

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Output formats of -o.
const (
	outputTable = "table"
	outputCSV   = "csv"
	outputJSON  = "json"
)

// checkOutput validates -o before anything is read.
func checkOutput(format string) error {
	switch format {
	case outputTable, outputCSV, outputJSON:
		return nil
	}
	return fmt.Errorf("-o %q: want table, csv or json", format)
}

// rows are a report as a header and rows of cells; note is a line a
// table prints above them (CSV carries it in a column, JSON in v).
type rows struct {
	note   string
	header []string
	cells  [][]string
}

// writeOutput writes v as JSON, or rs as a table or CSV.
func writeOutput(w io.Writer, format string, rs rows, v any) error {
	switch format {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(rs.header); err != nil {
			return err
		}
		if err := cw.WriteAll(rs.cells); err != nil {
			return err
		}
		return cw.Error()
	}
	if rs.note != "" {
		fmt.Fprintln(w, rs.note)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(rs.header, "\t"))
	for _, c := range rs.cells {
		fmt.Fprintln(tw, strings.Join(c, "\t"))
	}
	return tw.Flush()
}
