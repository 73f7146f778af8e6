package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/settlegen"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
)

// TestReportCommandsStopped: `report merchant` and `reconcile` on a
// stopped store: a settled date's report has the summary file's nets,
// in every format; bad flags are errors naming the flag.
func TestReportCommandsStopped(t *testing.T) {
	dataDir := t.TempDir()
	cst := time.FixedZone("CST", 8*3600)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 10, 12, 0, 0, 0, cst).UnixNano())
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }, PruneInterval: -1})
	mustDo(t, err)
	mustDo(t, settlegen.Generate(context.Background(), st, settlegen.Config{Merchants: 5, Cards: 20, Txns: 200}))
	mustDo(t, st.Close())

	if out, err := cliRun(t, "settle", "--date", "2026-03-10", "--data", dataDir); err != nil {
		t.Fatalf("settle: %v\n%s", err, out)
	}
	out, err := cliRun(t, "report", "merchant", "--date", "2026-03-10", "-o", "csv", "--data", dataDir)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	mustDo(t, err)
	summary, err := os.ReadFile(filepath.Join(settlement.Dir(settlementDir(dataDir), 20260310), "summary.json"))
	mustDo(t, err)
	var sf settlement.SummaryFile
	mustDo(t, json.Unmarshal(summary, &sf))
	if len(rows) != 1+len(sf.Merchants) || len(sf.Merchants) != 5 {
		t.Fatalf("report rows %d, summary merchants %d:\n%s", len(rows), len(sf.Merchants), out)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	for i, m := range sf.Merchants {
		r := rows[i+1]
		if r[col["mid"]] != m.MID || r[col["net_fen"]] != itoa64(int64(m.Net)) || r[col["source"]] != "settled" {
			t.Errorf("row %v, summary %s net %d", r, m.MID, m.Net)
		}
	}

	out, err = cliRun(t, "reconcile", "--date", "2026-03-10", "-o", "json", "--data", dataDir)
	if err != nil {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
	var rec settlement.Reconciliation
	mustDo(t, json.Unmarshal([]byte(out), &rec))
	if rec.Source != "settled" || len(rec.Terminals) != 5 || len(rec.Differences) != 0 {
		t.Errorf("reconciliation: %s, %d terminals, differences %+v", rec.Source, len(rec.Terminals), rec.Differences)
	}
	if out, err = cliRun(t, "reconcile", "--date", "2026-03-10", "--data", dataDir); err != nil ||
		!strings.Contains(out, "reconciliation 2026-03-10 (settled") {
		t.Errorf("reconcile table: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "merchant", "--date", "2026-13-01"}, "--date: "},
		{[]string{"report", "merchant"}, "--date: missing"},
		{[]string{"report", "merchant", "--date", "2026-03-10", "-o", "xml"}, `-o "xml": want table, csv or json`},
		{[]string{"report", "merchant", "--date", "2026-03-10", "--mid", "NOSUCHMERCHANT1"}, `--mid: mid "NOSUCHMERCHANT1": no such merchant`},
		{[]string{"report", "merchant", "--date", "2099-01-01"}, "--date: date 2099-01-01: after today's business date"},
		{[]string{"reconcile", "--date", "2099-01-01"}, "--date: date 2099-01-01: after today's business date"},
	} {
		out, err := cliRun(t, append(tc.args, "--data", dataDir)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
