package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// CheckReport is the outcome of a consistency check.
type CheckReport struct {
	Accounts  int `json:"accounts"`
	Transfers int `json:"transfers"`
	Txns      int `json:"txns"`
	// Money and Points sum every account's balance and pending amount of
	// that unit; conservation makes both zero.
	Money    UnitSums `json:"money"`
	Points   UnitSums `json:"points"`
	Problems []string `json:"problems"`
}

// UnitSums are the sums over all accounts of one unit.
type UnitSums struct {
	Sum     int64 `json:"sum"`
	Pending int64 `json:"pending"`
}

// OK reports whether the store is consistent.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

const maxCheckProblems = 100

// Check verifies, on a consistent snapshot, that every account equals the
// sum of the journal's transfers that touch it, that money and points are
// conserved, that no hold is negative and no card's available stored value
// is negative, and that transfer ids follow their entries. It can run on a
// live store.
func (s *Store) Check(ctx context.Context) (CheckReport, error) {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	var rep CheckReport
	problem := func(format string, args ...any) {
		if len(rep.Problems) < maxCheckProblems {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}

	// Recompute every account from the transfers of the journal.
	want := map[string]*Account{}
	err := scan(snap, prefixTxn, func(k, v []byte) error {
		var t Txn
		if err := t.decode(v); err != nil {
			return err
		}
		rep.Txns++
		for i, tr := range t.Transfers {
			rep.Transfers++
			if tr.ID != t.Seq<<8|uint64(i) {
				problem("journal entry %d: transfer %d has id %x", t.Seq, i, tr.ID)
			}
			for _, side := range []struct {
				id    string
				debit bool
			}{{tr.Debit, true}, {tr.Credit, false}} {
				a := want[side.id]
				if a == nil {
					a = &Account{ID: side.id, Unit: tr.Unit}
					want[side.id] = a
				}
				if a.Unit != tr.Unit {
					problem("account %s: transfer %x of unit %s", maskAccount(side.id), tr.ID, tr.Unit)
				}
				if side.debit {
					a.DebitsPosted += tr.Posted
					a.DebitsPending += tr.PendingDelta
				} else {
					a.CreditsPosted += tr.Posted
					a.CreditsPending += tr.PendingDelta
				}
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return rep, err
	}
	seen := map[string]bool{}
	err = scan(snap, prefixAccount, func(k, v []byte) error {
		id := string(k[len(prefixAccount):])
		a := Account{ID: id}
		if err := a.decode(v); err != nil {
			return err
		}
		rep.Accounts++
		seen[id] = true
		sums := &rep.Money
		if a.Unit == UnitPoints {
			sums = &rep.Points
		}
		sums.Sum += a.Balance()
		sums.Pending += a.CreditsPending - a.DebitsPending
		w := want[id]
		if w == nil {
			w = &Account{ID: id, Unit: a.Unit}
		}
		if w.DebitsPosted != a.DebitsPosted || w.CreditsPosted != a.CreditsPosted ||
			w.DebitsPending != a.DebitsPending || w.CreditsPending != a.CreditsPending {
			problem("account %s: stored %+v, transfers sum to %+v", maskAccount(id), sumsOf(&a), sumsOf(w))
		}
		if a.DebitsPending < 0 || a.CreditsPending < 0 {
			problem("account %s: negative pending", maskAccount(id))
		}
		if strings.HasPrefix(id, "sv/") && a.Available() < 0 {
			problem("account %s: negative available stored value %d", maskAccount(id), a.Available())
		}
		return ctx.Err()
	})
	if err != nil {
		return rep, err
	}
	for _, id := range sortedKeys(want) {
		if !seen[id] {
			problem("account %s: has transfers but no record", maskAccount(id))
		}
	}
	if rep.Money.Sum != 0 || rep.Money.Pending != 0 {
		problem("money not conserved: balances sum to %d, pending to %d", rep.Money.Sum, rep.Money.Pending)
	}
	if rep.Points.Sum != 0 || rep.Points.Pending != 0 {
		problem("points not conserved: balances sum to %d, pending to %d", rep.Points.Sum, rep.Points.Pending)
	}
	return rep, nil
}

func sumsOf(a *Account) string {
	return fmt.Sprintf("dp=%d cp=%d dpend=%d cpend=%d", a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending)
}

// maskAccount masks the PAN inside a card account id.
func maskAccount(id string) string {
	if i := strings.IndexByte(id, '/'); i >= 0 && (id[:i] == "sv" || id[:i] == "pt") {
		return id[:i+1] + cardnum.Mask(id[i+1:])
	}
	return id
}

type reader interface {
	NewIter(*pebble.IterOptions) (*pebble.Iterator, error)
}

func scan(r reader, prefix string, fn func(k, v []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}
