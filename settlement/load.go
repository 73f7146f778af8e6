package settlement

// load.go: a date's Day from the ledger: its journal through a
// Computer and, on a month's last business date, the month's invoices.
// The job, the reports and the reconciliation all come here, so a date
// is computed one way.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/ledger"
)

// Journal is what computing a date needs of the ledger (*ledger.Store).
type Journal interface {
	JournalByDate(ctx context.Context, d uint32, fn func(t *ledger.Txn, n int) error) error
	JournalEntry(seq uint64) (*ledger.Txn, error)
	Programs() ([]ledger.Program, error)
	Merchants() ([]ledger.Merchant, error)
}

// readJournal feeds date d's journal through a Computer; progress, if
// not nil, sees the entries read (every progressEvery, and at the end);
// keep, if not nil, sees every entry (the reconciliation keeps a few).
func readJournal(ctx context.Context, l Journal, d uint32, progress func(done, total int), keep func(t *ledger.Txn)) (*Computer, []ledger.Program, []ledger.Merchant, error) {
	progs, err := l.Programs()
	if err != nil {
		return nil, nil, nil, err
	}
	merchants, err := l.Merchants()
	if err != nil {
		return nil, nil, nil, err
	}
	c := NewComputer(d, NewRateBook(progs, merchants), l.JournalEntry)
	n := 0
	err = l.JournalByDate(ctx, d, func(t *ledger.Txn, total int) error {
		if n == 0 {
			c.Grow(total)
		}
		if n++; n%progressEvery == 0 && progress != nil {
			progress(n, total)
		}
		if keep != nil {
			keep(t)
		}
		return c.Add(t)
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("settlement %s: journal: %w", ledger.FormatBusinessDate(d), err)
	}
	if progress != nil {
		progress(n, n)
	}
	return c, progs, merchants, nil
}

// ReportLedger is what the reports and the reconciliation need of the
// ledger (*ledger.Store): the journal, the registry, and what the
// settlement job recorded.
type ReportLedger interface {
	Journal
	Terminals() ([]ledger.Terminal, error)
	SettlementRecord(d uint32) (*ledger.SettlementRecord, error)
	Invoices(month uint32) (json.RawMessage, error)
}

// Source says where a report's figures come from.
const (
	// SourceSettled: the date is settled; the figures are those of its
	// settlement files (the frozen journal, the recorded invoices).
	SourceSettled = "settled"
	// SourceLive: the date is not settled; the figures are computed from
	// its journal as it stands now, and may still change.
	SourceLive = "live"
)

// loadDay computes date d as the job would, without closing or posting
// anything: its Day, whether it is settled, and a note for a reader.
// today is the host's current business date: a later d is refused.
func loadDay(ctx context.Context, l ReportLedger, d, today uint32, keep func(t *ledger.Txn)) (*Day, string, string, error) {
	if d > today {
		return nil, "", "", fmt.Errorf("date %s: after today's business date %s: %w", ledger.FormatBusinessDate(d),
			ledger.FormatBusinessDate(today), ErrFutureDate)
	}
	rec, err := l.SettlementRecord(d)
	if err != nil {
		return nil, "", "", err
	}
	c, progs, merchants, err := readJournal(ctx, l, d, nil, keep)
	if err != nil {
		return nil, "", "", err
	}
	source, note := SourceLive, "not settled: computed now from the journal, which may still change"
	if rec != nil && rec.Settled {
		source, note = SourceSettled, "settled: the figures of the settlement files"
	}
	if ledger.IsMonthEnd(d) {
		raw, err := l.Invoices(d / 100)
		if err != nil {
			return nil, "", "", err
		}
		var invs []Invoice
		if raw != nil {
			invs, err = decodeInvoices(d/100, raw)
		} else {
			var terms []ledger.Terminal
			if terms, err = l.Terminals(); err == nil {
				invs, err = Invoices(d/100, progs, merchants, terms)
			}
			note += "; the month's invoices are provisional (from the registry now)"
		}
		if err != nil {
			return nil, "", "", err
		}
		c.Bill(invs)
	}
	day, err := c.Day()
	if err != nil {
		return nil, "", "", fmt.Errorf("settlement %s: %w", ledger.FormatBusinessDate(d), err)
	}
	return day, source, note, nil
}

// ErrFutureDate: a report asked for a business date after today's.
var ErrFutureDate = errors.New("business date is in the future")

// ErrUnknownMerchant: a report asked for a MID the registry does not
// have.
var ErrUnknownMerchant = errors.New("no such merchant")
