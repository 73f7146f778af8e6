package main

// report_cmds.go: `reconcile` and `report merchant`: the settlement
// reports of a business date (docs/settlement.md), through the running
// host's admin API or, with the host stopped, from the store read-only.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
	"github.com/spf13/cobra"
)

// reportCallTimeout bounds a report: it reads a date's journal (a
// million entries take seconds).
const reportCallTimeout = 10 * time.Minute

// reportFlags are the flags both report commands share.
type reportFlags struct {
	date, config, output string
}

func (f *reportFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.date, "date", "", "the business date, YYYY-MM-DD (required)")
	cmd.Flags().StringVarP(&f.output, "output", "o", outputTable, "table, csv or json")
	cmd.Flags().StringVar(&f.config, "config", "", "the host's configuration (business zone and cut-off), for the stopped store")
}

// check validates the flags before anything is read.
func (f *reportFlags) check() (uint32, error) {
	if err := checkOutput(f.output); err != nil {
		return 0, err
	}
	if f.date == "" {
		return 0, fmt.Errorf("--date: missing (YYYY-MM-DD)")
	}
	d, err := ledger.ParseBusinessDate(f.date)
	if err != nil {
		return 0, fmt.Errorf("--date: %w", err)
	}
	return d, nil
}

// flagError names the flag a report's error is about.
func flagError(err error) error {
	var apiErr *admin.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Body.Field != "":
		return fmt.Errorf("--%s: %s", apiErr.Body.Field, apiErr.Body.Error)
	case errors.Is(err, settlement.ErrFutureDate):
		return fmt.Errorf("--date: %w", err)
	case errors.Is(err, settlement.ErrUnknownMerchant):
		return fmt.Errorf("--mid: %w", err)
	}
	return err
}

// withReportSource runs api with a host running, else local on the
// stopped store (read-only) with today's business date.
func withReportSource(cmd *cobra.Command, g *globalFlags, config string, api func(context.Context, *admin.Client) error,
	local func(context.Context, *ledger.Store, uint32) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), reportCallTimeout)
	defer cancel()
	if c, offline := loyaltyOffline(ctx, g); !offline {
		return flagError(api(ctx, c))
	}
	st, err := openStoreFor(g, config, true)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	today := st.BusinessDate()
	return flagError(local(ctx, st, today))
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

func newReconcileCmd(g *globalFlags) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "reconcile --date YYYY-MM-DD [-o table|csv|json]",
		Short: "Reconcile a business date: ledger vs settled vs the terminals' batch totals",
		Long: `Per merchant and terminal: the ledger's totals of the date (what happened
on it by the host clock), the settled totals (what its settlement counts)
and each batch's host totals against the terminal's 0500; then every
difference with the transaction behind it (RRN, masked PAN, amount, why).
docs/settlement.md documents every column. Through the running host's
admin API, or from the stopped store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.check()
			if err != nil {
				return err
			}
			var rec *settlement.Reconciliation
			err = withReportSource(cmd, g, f.config, func(ctx context.Context, c *admin.Client) error {
				rec, err = c.Reconciliation(ctx, f.date)
				return err
			}, func(ctx context.Context, st *ledger.Store, today uint32) error {
				rec, err = settlement.Reconcile(ctx, st, d, today)
				return err
			})
			if err != nil {
				return err
			}
			return writeOutput(cmd.OutOrStdout(), f.output, reconcileRows(rec), rec)
		},
	}
	f.add(cmd)
	return cmd
}

// reconcileColumns: one table for the three record kinds
// (docs/settlement.md, "Reconciliation report").
var reconcileColumns = []string{"record", "date", "between", "program", "mid", "tid", "batch", "state", "match",
	"debit_count_1", "debit_fen_1", "credit_count_1", "credit_fen_1",
	"debit_count_2", "debit_fen_2", "credit_count_2", "credit_fen_2",
	"rrn", "card", "kind", "amount_fen", "why"}

func countCells(c settlement.BatchCounts) []string {
	return []string{itoa64(c.DebitCount), itoa64(int64(c.DebitAmount)), itoa64(c.CreditCount), itoa64(int64(c.CreditAmount))}
}

func reconcileRows(rec *settlement.Reconciliation) rows {
	rs := rows{header: reconcileColumns, note: fmt.Sprintf("reconciliation %s (%s: %s)", rec.Date, rec.Source, rec.Note)}
	for _, t := range rec.Terminals {
		c := []string{"terminal", rec.Date, settlement.BetweenLedgerSettled, t.Program, t.MID, t.TID, "", "", strconv.FormatBool(t.Ledger == t.Settled)}
		c = append(append(c, countCells(t.Ledger)...), countCells(t.Settled)...)
		rs.cells = append(rs.cells, append(c, "", "", "", "", strconv.Itoa(t.Differences)+" differences"))
	}
	for _, b := range rec.Batches {
		state := b.State
		if b.ClosedHow != "" {
			state += " (" + b.ClosedHow + ")"
		}
		why := ""
		if !b.Reported {
			why = "the terminal sent no 0500"
		}
		c := []string{"batch", rec.Date, settlement.BetweenHostTerminal, "", b.MID, b.TID, b.Batch, state, strconv.FormatBool(b.Match)}
		c = append(append(c, countCells(b.Host)...), countCells(b.Terminal)...)
		rs.cells = append(rs.cells, append(c, "", "", "", "", why))
	}
	for _, d := range rec.Differences {
		c := []string{"difference", rec.Date, d.Between, "", d.MID, d.TID, d.Batch, "", "false", "", "", "", "", "", "", "", "",
			d.RRN, d.Card, d.Kind, itoa64(int64(d.Amount)), d.Why}
		rs.cells = append(rs.cells, c)
	}
	return rs
}

func newReportCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Settlement reports"}
	var f reportFlags
	var mid string
	merchant := &cobra.Command{
		Use:   "merchant --date YYYY-MM-DD [--mid MID] [-o table|csv|json]",
		Short: "Each merchant's day: sales, refunds, loads, points earned and redeemed, fees, net",
		Long: `The figures of the settlement for a business date, per merchant (or the
one --mid names): for a settled date those of its settlement files; for
an unsettled one computed live from the journal, which the output says
(column source, and the line above a table). docs/settlement.md
documents every column.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := f.check()
			if err != nil {
				return err
			}
			var rep *settlement.MerchantReport
			err = withReportSource(cmd, g, f.config, func(ctx context.Context, c *admin.Client) error {
				rep, err = c.MerchantReport(ctx, f.date, mid)
				return err
			}, func(ctx context.Context, st *ledger.Store, today uint32) error {
				rep, err = settlement.ReportMerchants(ctx, st, d, today, mid)
				return err
			})
			if err != nil {
				return err
			}
			return writeOutput(cmd.OutOrStdout(), f.output, merchantRows(rep), rep)
		},
	}
	f.add(merchant)
	merchant.Flags().StringVar(&mid, "mid", "", "only this merchant (15 characters)")
	cmd.AddCommand(merchant)
	return cmd
}

var merchantColumns = []string{"date", "source", "program", "mid", "name", "sales_fen", "refunds_fen", "loads_fen",
	"redeemed_value_fen", "points_earned", "points_redeemed", "mdr_fee_fen", "interchange_paid_fen",
	"interchange_received_fen", "load_commission_fen", "point_cost_fen", "billing_fen", "fees_fen", "net_fen"}

func merchantRows(rep *settlement.MerchantReport) rows {
	rs := rows{header: merchantColumns, note: fmt.Sprintf("merchants %s (%s: %s)", rep.Date, rep.Source, rep.Note)}
	for _, r := range rep.Rows {
		c := []string{rep.Date, rep.Source, r.Program, r.MID, r.Name}
		for _, v := range []int64{int64(r.Sales), int64(r.Refunds), int64(r.Loads), int64(r.RedeemedValue), int64(r.PointsEarned),
			int64(r.PointsRedeemed), int64(r.MDRFee), int64(r.Interchange), int64(r.InterchangeReceived), int64(r.LoadCommission),
			int64(r.PointCost), int64(r.Billing), int64(r.Fees), int64(r.Net)} {
			c = append(c, itoa64(v))
		}
		rs.cells = append(rs.cells, c)
	}
	return rs
}
