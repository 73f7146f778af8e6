package settlement

// reconcile.go: the reconciliation report of a business date, per
// merchant and terminal: the ledger's totals (every approved purchase,
// completion, refund and load that happened on the date by the host
// clock) against the settled totals (what the date's settlement counts)
// against the terminals' batch totals (the host's totals of each batch
// against the terminal's 0500), with every difference listed with the
// transactions behind it (docs/settlement.md, "Reconciliation report").

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// ReconcileLedger is what the reconciliation needs of the ledger.
type ReconcileLedger interface {
	ReportLedger
	TerminalBatches(tid string) ([]ledger.Batch, error)
	JournalDates(from, through uint32) ([]uint32, error)
}

// lateHorizonDays bounds the business dates after D searched for D's
// late transactions: a late one is booked on the date after the latest
// closed one, which is D + 1 unless later dates were closed early too.
const lateHorizonDays = 7

// BatchCounts are batch-shaped totals (contract section 6): debits are
// purchases and completions, credits refunds and loads.
type BatchCounts struct {
	DebitCount   int64         `json:"debit_count"`
	DebitAmount  ledger.Amount `json:"debit_fen"`
	CreditCount  int64         `json:"credit_count"`
	CreditAmount ledger.Amount `json:"credit_fen"`
}

func batchCountsOf(b ledger.BatchTotals) BatchCounts {
	return BatchCounts{b.DebitCount, b.DebitAmount, b.CreditCount, b.CreditAmount}
}

// add counts n transactions of amount a on the debit or credit side.
func (c *BatchCounts) add(debit bool, n int64, a ledger.Amount) {
	if debit {
		c.DebitCount, c.DebitAmount = c.DebitCount+n, c.DebitAmount+a
	} else {
		c.CreditCount, c.CreditAmount = c.CreditCount+n, c.CreditAmount+a
	}
}

// TerminalRecon is one terminal's ledger and settled totals for the date.
type TerminalRecon struct {
	Program     string      `json:"program"`
	MID         string      `json:"mid"`
	TID         string      `json:"tid"`
	Ledger      BatchCounts `json:"ledger"`
	Settled     BatchCounts `json:"settled"`
	Differences int         `json:"differences"`
}

// BatchRecon is one batch of the date: the host's totals against the
// terminal's 0500.
type BatchRecon struct {
	MID       string      `json:"mid"`
	TID       string      `json:"tid"`
	Batch     string      `json:"batch"`  // six digits
	Opened    string      `json:"opened"` // the business date it was opened on
	State     string      `json:"state"`  // open, mismatch, closed
	ClosedHow string      `json:"closed_how,omitempty"`
	Reported  bool        `json:"reported"` // the terminal sent its 0500
	Host      BatchCounts `json:"host"`
	Terminal  BatchCounts `json:"terminal"`
	Match     bool        `json:"match"`
}

// Difference is a transaction behind a difference (or, with no RRN, an
// amount the terminal counts that the host has no transaction for).
type Difference struct {
	Between string        `json:"between"` // ledger/settled or host/terminal
	MID     string        `json:"mid"`
	TID     string        `json:"tid"`
	Batch   string        `json:"batch,omitempty"`
	RRN     string        `json:"rrn"`
	Card    string        `json:"card"` // masked PAN
	Kind    string        `json:"kind"`
	Amount  ledger.Amount `json:"amount_fen"`
	Why     string        `json:"why"`
}

// Between values of a Difference.
const (
	BetweenLedgerSettled = "ledger/settled"
	BetweenHostTerminal  = "host/terminal"
)

// Reconciliation is the report of a date.
type Reconciliation struct {
	Date        string          `json:"date"`
	Source      string          `json:"source"` // settled or live
	Note        string          `json:"note"`
	Terminals   []TerminalRecon `json:"terminals"`
	Batches     []BatchRecon    `json:"batches"`
	Differences []Difference    `json:"differences"`
}

// batchKind reports whether kind k is in batch totals, and on which side.
func batchKind(k ledger.Kind) (in, debit bool) {
	switch k {
	case ledger.KindPurchase, ledger.KindCompletion:
		return true, true
	case ledger.KindRefund, ledger.KindLoad:
		return true, false
	}
	return false, false
}

type termKey struct{ mid, tid string }

// Reconcile builds the reconciliation of business date d; today is the
// host's business date (a later d is refused with ErrFutureDate).
func Reconcile(ctx context.Context, l ReconcileLedger, d, today uint32) (*Reconciliation, error) {
	var entries []*ledger.Txn // d's entries of batch kinds and undos
	keep := func(t *ledger.Txn) {
		if in, _ := batchKind(t.Kind); in && t.Status != 0 {
			entries = append(entries, t)
		}
	}
	day, source, note, err := loadDay(ctx, l, d, today, keep)
	if err != nil {
		return nil, err
	}
	// d's late transactions, booked on a later date.
	horizon := d
	for range lateHorizonDays {
		horizon = ledger.NextBusinessDate(horizon)
	}
	later, err := l.JournalDates(ledger.NextBusinessDate(d), horizon)
	if err != nil {
		return nil, err
	}
	for _, ld := range later {
		err := l.JournalByDate(ctx, ld, func(t *ledger.Txn, _ int) error {
			if t.LateFrom == d {
				keep(t)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	rec := &Reconciliation{Date: ledger.FormatBusinessDate(d), Source: source, Note: note,
		Terminals: []TerminalRecon{}, Batches: []BatchRecon{}, Differences: []Difference{}}
	terms := map[termKey]*TerminalRecon{}
	term := func(prog, mid, tid string) *TerminalRecon {
		tr := terms[termKey{mid, tid}]
		if tr == nil {
			tr = &TerminalRecon{Program: prog, MID: mid, TID: tid}
			terms[termKey{mid, tid}] = tr
		}
		return tr
	}
	// Ledger: what happened on d by the host clock, gross.
	ledgerOf := map[uint64]*ledger.Txn{}
	for _, t := range entries {
		clock := t.BizDate
		if t.LateFrom != 0 {
			clock = t.LateFrom
		}
		if clock != d {
			continue
		}
		_, debit := batchKind(t.Kind)
		term(t.ProgramID, t.MID, t.TID).Ledger.add(debit, 1, t.Amount)
		ledgerOf[t.Seq] = t
	}
	// Settled: what d's settlement counts.
	settledOf := map[uint64]*Contribution{}
	for i := range day.Contributions {
		cb := &day.Contributions[i]
		f := cb.Figures
		if f.Sales == 0 && f.Refunds == 0 && f.Loads == 0 {
			if _, ok := ledgerOf[cb.Seq]; !ok {
				continue
			}
		}
		tr := term(cb.Program, cb.MID, cb.TID)
		for _, side := range []struct {
			debit bool
			a     ledger.Amount
		}{{true, f.Sales}, {false, f.Refunds}, {false, f.Loads}} {
			if side.a > 0 {
				tr.Settled.add(side.debit, 1, side.a)
			} else if side.a < 0 {
				tr.Settled.add(side.debit, -1, side.a)
			}
		}
		settledOf[cb.Seq] = cb
	}
	rec.Differences = append(rec.Differences, ledgerSettledDiffs(d, ledgerOf, settledOf)...)
	for _, df := range rec.Differences {
		terms[termKey{df.MID, df.TID}].Differences++
	}
	batches, diffs, err := batchRecons(l, d, entries, terms)
	if err != nil {
		return nil, err
	}
	rec.Batches, rec.Differences = batches, append(rec.Differences, diffs...)
	for _, tr := range terms {
		rec.Terminals = append(rec.Terminals, *tr)
	}
	slices.SortFunc(rec.Terminals, func(a, b TerminalRecon) int {
		return strings.Compare(a.Program+"/"+a.MID+"/"+a.TID, b.Program+"/"+b.MID+"/"+b.TID)
	})
	return rec, nil
}

// ledgerSettledDiffs lists every transaction the ledger's totals and the
// settled totals count differently, and why, in RRN order.
func ledgerSettledDiffs(d uint32, ledgerOf map[uint64]*ledger.Txn, settledOf map[uint64]*Contribution) []Difference {
	var out []Difference
	for seq, t := range ledgerOf {
		cb := settledOf[seq]
		if cb != nil && (cb.Figures.Sales != 0 || cb.Figures.Refunds != 0 || cb.Figures.Loads != 0) {
			continue // counted by both
		}
		why := "not in the settlement"
		switch {
		case t.BizDate != d:
			why = fmt.Sprintf("late: decided after %s was closed; booked and settled on %s",
				ledger.FormatBusinessDate(d), ledger.FormatBusinessDate(t.BizDate))
		case cb != nil && cb.Status == Excluded:
			why = fmt.Sprintf("excluded: cancelled by %s on the same date", ledger.FormatRRN(cb.ExcludedWith))
		}
		out = append(out, Difference{Between: BetweenLedgerSettled, MID: t.MID, TID: t.TID, Batch: batchName(t.Batch),
			RRN: t.RRN(), Card: cardnum.Mask(t.PAN), Kind: t.Kind.String(), Amount: t.Amount, Why: why})
	}
	for seq, cb := range settledOf {
		if _, ok := ledgerOf[seq]; ok {
			continue
		}
		amount := cb.Figures.Sales + cb.Figures.Refunds + cb.Figures.Loads
		why := "settled, not in the ledger's totals of the date"
		switch {
		case cb.Late():
			why = fmt.Sprintf("late: happened on %s, booked and settled on %s", ledger.FormatBusinessDate(cb.LateFrom),
				ledger.FormatBusinessDate(d))
		case cb.Status == Adjustment:
			why = fmt.Sprintf("adjustment: undoes %s of %s", ledger.FormatRRN(cb.OrigSeq), ledger.FormatBusinessDate(cb.OrigDate))
		case cb.OrigSeq != 0:
			why = fmt.Sprintf("re-applies %s: its void was reversed", ledger.FormatRRN(cb.OrigSeq))
		}
		out = append(out, Difference{Between: BetweenLedgerSettled, MID: cb.MID, TID: cb.TID, RRN: cb.RRN(), Card: cb.Card,
			Kind: cb.Kind.String(), Amount: amount, Why: why})
	}
	slices.SortFunc(out, func(a, b Difference) int { return strings.Compare(a.RRN, b.RRN) })
	return out
}

func batchName(n uint32) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%06d", n)
}

var batchStates = map[uint8]string{ledger.BatchOpen: "open", ledger.BatchMismatch: "mismatch", ledger.BatchClosed: "closed"}
var closedHows = map[uint8]string{1: "0500", 2: "0500 after upload", 3: "by the host: a newer batch opened"}

// batchRecons compares, for every terminal of the date, each batch the
// date's transactions are in or that was opened on the date: the host's
// totals against the terminal's 0500. A difference lists the batch's
// transactions behind it: with one transaction more on a side, those
// whose amount is the difference ("not in the terminal's totals");
// otherwise every transaction of that side.
func batchRecons(l ReconcileLedger, d uint32, entries []*ledger.Txn, terms map[termKey]*TerminalRecon) ([]BatchRecon, []Difference, error) {
	inBatch := map[string][]*ledger.Txn{} // tid/batch → standing entries
	wanted := map[string]bool{}
	for _, t := range entries {
		if t.Batch == 0 {
			continue
		}
		k := t.TID + "/" + batchName(t.Batch)
		wanted[k] = true
		if t.Status == ledger.TxnApplied {
			inBatch[k] = append(inBatch[k], t)
		}
	}
	keys := make([]termKey, 0, len(terms))
	for k := range terms {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b termKey) int { return strings.Compare(a.mid+a.tid, b.mid+b.tid) })
	var out []BatchRecon
	var diffs []Difference
	for _, k := range keys {
		bs, err := l.TerminalBatches(k.tid)
		if err != nil {
			return nil, nil, err
		}
		for _, b := range bs {
			key := k.tid + "/" + batchName(b.Number)
			if !wanted[key] && b.BizDate != d {
				continue
			}
			br := BatchRecon{MID: k.mid, TID: k.tid, Batch: batchName(b.Number), Opened: ledger.FormatBusinessDate(b.BizDate),
				State: batchStates[b.State], ClosedHow: closedHows[b.ClosedHow], Host: batchCountsOf(b.Totals), Terminal: batchCountsOf(b.Reported)}
			br.Reported = b.State == ledger.BatchMismatch || b.ClosedHow == 1 || b.ClosedHow == 2
			br.Match = !br.Reported || br.Host == br.Terminal
			out = append(out, br)
			if br.Match {
				continue
			}
			for _, side := range []struct {
				debit bool
				dn    int64
				da    ledger.Amount
			}{{true, br.Host.DebitCount - br.Terminal.DebitCount, br.Host.DebitAmount - br.Terminal.DebitAmount},
				{false, br.Host.CreditCount - br.Terminal.CreditCount, br.Host.CreditAmount - br.Terminal.CreditAmount}} {
				diffs = append(diffs, sideDiffs(k, br.Batch, side.debit, side.dn, side.da, inBatch[key])...)
			}
		}
	}
	for _, df := range diffs {
		terms[termKey{df.MID, df.TID}].Differences++
	}
	return out, diffs, nil
}

func sideDiffs(k termKey, batch string, debit bool, dn int64, da ledger.Amount, txns []*ledger.Txn) []Difference {
	if dn == 0 && da == 0 {
		return nil
	}
	side := "credit"
	if debit {
		side = "debit"
	}
	if dn < 0 || (dn == 0 && da < 0) {
		return []Difference{{Between: BetweenHostTerminal, MID: k.mid, TID: k.tid, Batch: batch, Amount: -da,
			Why: fmt.Sprintf("the terminal counts %d %s(s) of %d fen more than the host has transactions for", -dn, side, -da)}}
	}
	var of []*ledger.Txn
	for _, t := range txns {
		if _, d := batchKind(t.Kind); d == debit {
			of = append(of, t)
		}
	}
	why := fmt.Sprintf("in the host's %s totals; the terminal's differ by %d, %d fen", side, dn, da)
	if dn == 1 {
		var exact []*ledger.Txn
		for _, t := range of {
			if t.Amount == da {
				exact = append(exact, t)
			}
		}
		if len(exact) > 0 {
			of, why = exact, "not in the terminal's totals"
		}
	}
	var out []Difference
	for _, t := range of {
		out = append(out, Difference{Between: BetweenHostTerminal, MID: t.MID, TID: t.TID, Batch: batch, RRN: t.RRN(),
			Card: cardnum.Mask(t.PAN), Kind: t.Kind.String(), Amount: t.Amount, Why: why})
	}
	return out
}
