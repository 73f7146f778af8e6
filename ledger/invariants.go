package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// assertPosting panics when a posting leaves a hold or a card's available
// value negative: a bug in the decision that made it, never bad input
// (decisions decline before posting). Only with -tags invariants.
func assertPosting(accts ...*Account) {
	if !invariantsEnabled {
		return
	}
	for _, a := range accts {
		if a.DebitsPending < 0 || a.CreditsPending < 0 {
			panic(fmt.Sprintf("ledger invariant: account %s has negative pending (%s)", maskAccount(a.ID), sumsOf(a)))
		}
		if (strings.HasPrefix(a.ID, "sv/")) && a.Available() < 0 {
			panic(fmt.Sprintf("ledger invariant: card account %s available %d < 0", maskAccount(a.ID), a.Available()))
		}
	}
}

// assertConsistent runs the full checker after a group commit. Only with
// -tags invariants; it costs a scan of the store per group.
func (s *Store) assertConsistent() {
	if !invariantsEnabled {
		return
	}
	rep, err := s.Check(context.Background())
	if err != nil {
		panic(fmt.Sprintf("ledger invariant: check failed: %v", err))
	}
	if !rep.OK() {
		panic(fmt.Sprintf("ledger invariant: store inconsistent after a commit: %v", rep.Problems))
	}
}

// assertCardHead panics when the stored-value account a decision hands
// finish is not its card's, or not as the op last wrote it: finish
// writes it back, and a stale copy would undo a posting. Only with
// -tags invariants.
func assertCardHead(t *tx, txn *Txn, sv *Account) {
	if !invariantsEnabled {
		return
	}
	if sv.ID != accountSV(txn.PAN) {
		panic(fmt.Sprintf("ledger invariant: journal entry %d of card %s finished with account %s", txn.Seq, cardnum.Mask(txn.PAN), maskAccount(sv.ID)))
	}
	cur, err := t.account(sv.ID, UnitMoney)
	if err != nil {
		panic(fmt.Sprintf("ledger invariant: read %s: %v", maskAccount(sv.ID), err))
	}
	if sumsOf(cur) != sumsOf(sv) || cur.LastEntry != sv.LastEntry {
		panic(fmt.Sprintf("ledger invariant: journal entry %d finished with a stale %s (%s, last entry %d; the op wrote %s, last entry %d)",
			txn.Seq, maskAccount(sv.ID), sumsOf(sv), sv.LastEntry, sumsOf(cur), cur.LastEntry))
	}
}
