package settlement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// diffText renders differences with labels for RRNs.
func diffText(ds []Difference, labels map[string]string) string {
	var b strings.Builder
	for _, d := range ds {
		rrn := d.RRN
		if l, ok := labels[rrn]; ok {
			rrn = l
		}
		why := d.Why
		for r, l := range labels {
			why = strings.ReplaceAll(why, r, l)
		}
		fmt.Fprintf(&b, "%s %s batch=%s %s %s %d: %s\n", d.Between, d.TID, d.Batch, rrn, d.Kind, d.Amount, why)
	}
	return b.String()
}

// TestReconcileMismatch: terminal A's 0500 reports one purchase fewer
// than the host has in its batch; a purchase voided the same day is
// excluded from the settlement; a purchase decided after the date was
// closed early is late. The reconciliation shows exactly those three
// differences, each with its transaction, and the totals behind them.
func TestReconcileMismatch(t *testing.T) {
	w := newWorld(t, t.TempDir())
	root := t.TempDir()
	w.program("pr", 0, 0, 1, nil)
	w.merchant("A", "pr", true, 0, 0)
	w.merchant("B", "pr", false, 0, 0)
	w.card("c", "pr", "A", 1_000_000)
	labels := map[string]string{}
	send := func(kind ledger.Kind, merchant string, amount ledger.Amount, of, as string) {
		t.Helper()
		res := w.send(kind, "c", merchant, amount, of, as)
		if res.Err != nil {
			t.Fatalf("%s %s: %v", kind, as, res.Err)
		}
		labels[res.RRN] = as
	}
	send(ledger.KindPurchase, "A", 10000, "", "p1")
	send(ledger.KindPurchase, "A", 3000, "", "p2")
	send(ledger.KindPurchase, "A", 2000, "", "p3")
	send(ledger.KindVoid, "A", 0, "p3", "v3")
	// The terminal's 0500 misses p2: one debit, 100.00.
	closeReq := &ledger.Request{Kind: ledger.KindBatchClose, MTI: "0500", TID: w.tids[w.mids["A"]], MID: w.mids["A"], Batch: 1,
		Totals: ledger.BatchTotals{DebitCount: 1, DebitAmount: 10000}}
	if res := w.do(closeReq); !errors.Is(res.Err, ledger.ErrTotalsMismatch) {
		t.Fatalf("0500 with short totals: %v, want a mismatch", res.Err)
	}
	if _, err := w.settle(root, 20261123, true); err != nil {
		t.Fatal(err)
	}
	w.clock.t = w.clock.t.Add(5 * 3600e9) // still 2026-11-23: booked on 11-24, late
	send(ledger.KindPurchase, "B", 500, "", "late")

	rec, err := Reconcile(context.Background(), w.s, 20261123, 20261123)
	mustT(t, err)
	if rec.Source != SourceSettled {
		t.Errorf("source %q, want settled", rec.Source)
	}
	got := diffText(rec.Differences, labels)
	want := "ledger/settled T0000001 batch=000001 p3 purchase 2000: excluded: cancelled by v3 on the same date\n" +
		"ledger/settled T0000002 batch=000001 late purchase 500: late: decided after 2026-11-23 was closed; booked and settled on 2026-11-24\n" +
		"host/terminal T0000001 batch=000001 p2 purchase 3000: not in the terminal's totals\n"
	if got != want {
		t.Errorf("differences:\n%s\nwant:\n%s", got, want)
	}
	wantTerms := []TerminalRecon{
		{Program: "pr", MID: w.mids["A"], TID: "T0000001", Ledger: BatchCounts{DebitCount: 3, DebitAmount: 15000},
			Settled: BatchCounts{DebitCount: 2, DebitAmount: 13000}, Differences: 2},
		{Program: "pr", MID: w.mids["B"], TID: "T0000002", Ledger: BatchCounts{DebitCount: 1, DebitAmount: 500}, Differences: 1},
	}
	if g, wt := fmt.Sprintf("%+v", rec.Terminals), fmt.Sprintf("%+v", wantTerms); g != wt {
		t.Errorf("terminals:\n%s\nwant\n%s", g, wt)
	}
	var a *BatchRecon
	for i := range rec.Batches {
		if rec.Batches[i].TID == "T0000001" {
			a = &rec.Batches[i]
		}
	}
	if a == nil || a.Match || !a.Reported || a.State != "mismatch" || a.Host != (BatchCounts{DebitCount: 2, DebitAmount: 13000}) ||
		a.Terminal != (BatchCounts{DebitCount: 1, DebitAmount: 10000}) {
		t.Errorf("batch of A: %+v", a)
	}

	// The next date, live (not settled): the late purchase is settled
	// there but happened on 11-23.
	w.clock.t = w.clock.t.Add(24 * 3600e9)
	rec, err = Reconcile(context.Background(), w.s, 20261124, 20261124)
	mustT(t, err)
	got = diffText(rec.Differences, labels)
	want = "ledger/settled T0000002 batch= late purchase 500: late: happened on 2026-11-23, booked and settled on 2026-11-24\n"
	if rec.Source != SourceLive || got != want {
		t.Errorf("2026-11-24 (%s):\n%s\nwant:\n%s", rec.Source, got, want)
	}

	if _, err := Reconcile(context.Background(), w.s, 20261126, 20261124); !errors.Is(err, ErrFutureDate) {
		t.Errorf("a future date: %v", err)
	}
}

// TestReportEqualsSettledFiles: the report of a settled date, billing
// included, has exactly the figures of its summary file; before the
// date is settled the same figures come live, and say so.
func TestReportEqualsSettledFiles(t *testing.T) {
	w := newWorld(t, t.TempDir())
	root := t.TempDir()
	w.program("pq", 70, 2, 1, &ledger.Billing{MerchantMonthlyFee: 3000, TerminalMonthlyFee: 500})
	w.merchant("H", "pq", true, 120, 35)
	w.merchant("S", "pq", false, 95, 0)
	w.merchant("Q", "pq", false, 0, 0) // no transaction: billed only
	w.card("c", "pq", "H", 500_000)
	w.clock.t = w.clock.t.AddDate(0, 0, 7) // 2026-11-30, the month's last date
	for _, tx := range []struct {
		kind     ledger.Kind
		merchant string
		amount   ledger.Amount
		of, as   string
	}{
		{ledger.KindPurchase, "S", 12345, "", "a"}, {ledger.KindPurchase, "H", 9999, "", "b"},
		{ledger.KindRefund, "S", 2345, "a", ""}, {ledger.KindLoad, "H", 50000, "", ""},
		{ledger.KindRedeem, "S", 100, "", ""},
	} {
		if res := w.send(tx.kind, "c", tx.merchant, tx.amount, tx.of, tx.as); res.Err != nil {
			t.Fatalf("%s: %v", tx.kind, res.Err)
		}
	}
	live, err := ReportMerchants(context.Background(), w.s, 20261130, 20261130, "")
	mustT(t, err)
	if live.Source != SourceLive || !strings.Contains(live.Note, "provisional") {
		t.Errorf("before settlement: %q %q", live.Source, live.Note)
	}
	w.clock.t = w.clock.t.AddDate(0, 0, 1)
	if _, err := w.settle(root, 20261130, false); err != nil {
		t.Fatal(err)
	}
	rep, err := ReportMerchants(context.Background(), w.s, 20261130, 20261201, "")
	mustT(t, err)
	raw, err := os.ReadFile(filepath.Join(Dir(root, 20261130), "summary.json"))
	mustT(t, err)
	var sf SummaryFile
	mustT(t, json.Unmarshal(raw, &sf))
	if rep.Source != SourceSettled || len(rep.Rows) != 3 || len(sf.Merchants) != 3 {
		t.Fatalf("report %s with %d rows, summary %d merchants", rep.Source, len(rep.Rows), len(sf.Merchants))
	}
	for i, row := range rep.Rows {
		if row.MID != sf.Merchants[i].MID || row.Totals != sf.Merchants[i].Totals {
			t.Errorf("mid %s: report %+v\nsummary %+v", row.MID, row.Totals, sf.Merchants[i].Totals)
		}
		// fees: the net is the gross less the fees.
		gross := row.Sales - row.Refunds - row.Loads + row.RedeemedValue
		if gross-row.Fees != row.Net {
			t.Errorf("mid %s: gross %d − fees %d ≠ net %d", row.MID, gross, row.Fees, row.Net)
		}
		if live.Rows[i].Totals != row.Totals {
			t.Errorf("mid %s: live %+v, settled %+v", row.MID, live.Rows[i].Totals, row.Totals)
		}
	}
	byMID := map[string]MerchantDay{}
	for _, r := range rep.Rows {
		byMID[r.MID] = r
	}
	if q := byMID[w.mids["Q"]]; q.Billing != 3500 || q.Net != -3500 || q.Sales != 0 {
		t.Errorf("Q billed only: %+v", q)
	}

	one, err := ReportMerchants(context.Background(), w.s, 20261130, 20261201, w.mids["S"])
	mustT(t, err)
	if len(one.Rows) != 1 || one.Rows[0].Totals != byMID[w.mids["S"]].Totals {
		t.Errorf("--mid S: %+v", one.Rows)
	}
	if _, err := ReportMerchants(context.Background(), w.s, 20261130, 20261201, "NOSUCHMERCHANT1"); !errors.Is(err, ErrUnknownMerchant) ||
		!strings.Contains(err.Error(), "NOSUCHMERCHANT1") {
		t.Errorf("unknown mid: %v", err)
	}
	if _, err := ReportMerchants(context.Background(), w.s, 20261202, 20261201, ""); !errors.Is(err, ErrFutureDate) {
		t.Errorf("future date: %v", err)
	}
}
