package settlement

// load.go: a date's Day from the ledger: its journal through a
// Computer and, on a month's last business date, the month's invoices.
// The job, the reports and the reconciliation all come here, so a date
// is computed one way.

import (
	"context"
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
// not nil, sees the entries read (every progressEvery, and at the end).
func readJournal(ctx context.Context, l Journal, d uint32, progress func(done, total int)) (*Computer, []ledger.Program, []ledger.Merchant, error) {
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
