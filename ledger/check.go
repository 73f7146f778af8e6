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
	Money  UnitSums `json:"money"`
	Points UnitSums `json:"points"`
	// Secrets counts the sealed values by the KEK that sealed them, and
	// says whether each was opened (secrets.go, rewrap.go).
	Secrets SecretsReport `json:"secrets"`
	// Outbox counts the expiry-notice events stored (check_outbox.go).
	Outbox   OutboxReport `json:"outbox"`
	Problems []string     `json:"problems"`
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
// conserved, that transfer ids follow their entries, and that the
// journal's runs and cards' histories hold every entry where its readers
// look for it (check_journal.go). It flags every
// figure out of its range: a negative running sum of any account; a card's
// stored value or points balance or available balance outside
// 0..MaxAmount (points: -MaxAmount.. for a refund's debt); every wallet
// against its points account and every program's points (check_loyalty.go);
// a journal amount, transfer, hold, batch total or day counter outside its
// range; a card whose holds do not sum to its stored value's pending
// debits; a card key or record an older store format kept (the
// migration moves them); the points mall's rewards and orders
// (mall_check.go); and the outbox: every undelivered event there, none
// beyond the next seq (check_outbox.go). When the store has a Sealer, every
// sealed value (PVK, IMKs, TMKs, working keys) must open under it with its
// record's AAD; CheckReport.Secrets counts them by KEK, so that an
// operator sees a rotation's progress. It can run on a live store.
func (s *Store) Check(ctx context.Context) (CheckReport, error) {
	snap, done, err := s.snapshot()
	if err != nil {
		return CheckReport{}, err
	}
	defer done()
	var rep CheckReport
	problem := func(format string, args ...any) {
		if len(rep.Problems) < maxCheckProblems {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}

	// Recompute every account from the transfers of the journal.
	want := map[string]*Account{}
	links, err := newJournalLinks(snap, problem)
	if err != nil {
		return rep, err
	}
	err = scan(snap, prefixTxn, func(k, v []byte) error {
		var t Txn
		if err := t.decode(v); err != nil {
			return err
		}
		rep.Txns++
		links.entry(&t)
		if !InRange(int64(t.Amount)) || !inUnitRange(int64(t.Refunded)) || !inUnitRange(int64(t.HoldAmount)) ||
			!inUnitRange(int64(t.Earned)) || !inUnitRange(int64(t.Debited)) {
			problem("journal entry %d: amount %d, refunded %d, hold %d, earned %d or debited %d out of range",
				t.Seq, t.Amount, t.Refunded, t.HoldAmount, t.Earned, t.Debited)
		}
		for i, tr := range t.Transfers {
			rep.Transfers++
			if tr.ID != t.Seq<<8|uint64(i) {
				problem("journal entry %d: transfer %d has id %x", t.Seq, i, tr.ID)
			}
			if !inUnitRange(tr.Posted) || !InRange(tr.PendingDelta) {
				problem("journal entry %d: transfer %x posts %d, pending %+d: out of range", t.Seq, tr.ID, tr.Posted, tr.PendingDelta)
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
				posted, pending := &a.CreditsPosted, &a.CreditsPending
				if side.debit {
					posted, pending = &a.DebitsPosted, &a.DebitsPending
				}
				var errP, errQ error
				if *posted, errP = addInt64(*posted, tr.Posted); errP == nil {
					*pending, errQ = addInt64(*pending, tr.PendingDelta)
				}
				if errP != nil || errQ != nil {
					problem("account %s: its transfers' sums overflow at %x", maskAccount(side.id), tr.ID)
				}
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return rep, err
	}
	links.end()
	seen := map[string]bool{}
	pendingSV := map[string]int64{} // card stored value: pending debits (holds)
	held := map[string]Amount{}     // card stored value: its holds' sum, if it has holds
	pointBal := map[string]int64{}  // points accounts: balance
	// A card's accounts, like its holds, security state and day
	// counter, are parts of its card values record (cv/,
	// cardrecord.go); every other account is an acct/ key.
	checkAccount := func(id string, v []byte) error {
		a := Account{ID: id}
		if err := a.decode(v); err != nil {
			return err
		}
		rep.Accounts++
		seen[id] = true
		links.account(&a)
		sums := &rep.Money
		if a.Unit == UnitPoints {
			sums = &rep.Points
		}
		if a.DebitsPosted < 0 || a.CreditsPosted < 0 || a.DebitsPending < 0 || a.CreditsPending < 0 {
			// Every transfer adds to them; negative is a wrapped or
			// corrupt sum, and Balance and Available mean nothing.
			problem("account %s: negative running sum (%s)", maskAccount(id), sumsOf(&a))
		} else {
			var err1, err2 error
			if sums.Sum, err1 = addInt64(sums.Sum, a.Balance()); err1 == nil {
				sums.Pending, err2 = addInt64(sums.Pending, a.CreditsPending-a.DebitsPending)
			}
			if err1 != nil || err2 != nil {
				problem("account %s: the sum of all %s balances overflows", maskAccount(id), a.Unit)
			}
			if a.Unit == UnitPoints {
				pointBal[id] = a.Balance()
			}
			if isCardAccount(id) {
				lo := int64(0)
				if strings.HasPrefix(id, "pt/") {
					lo = -MaxAmount // a refund's debt
				}
				if b, av := a.Balance(), a.Available(); b < lo || av < lo || b > MaxAmount || av > MaxAmount {
					problem("account %s: balance %d, available %d: out of range 0..%d", maskAccount(id), b, av, int64(MaxAmount))
				}
				if strings.HasPrefix(id, "sv/") {
					pendingSV[id] = a.DebitsPending
				}
			}
		}
		w := want[id]
		if w == nil {
			w = &Account{ID: id, Unit: a.Unit}
		}
		if w.DebitsPosted != a.DebitsPosted || w.CreditsPosted != a.CreditsPosted ||
			w.DebitsPending != a.DebitsPending || w.CreditsPending != a.CreditsPending {
			problem("account %s: stored %+v, transfers sum to %+v", maskAccount(id), sumsOf(&a), sumsOf(w))
		}
		return ctx.Err()
	}
	err = scanAggregates(snap, prefixAccount, func(k, v []byte) error {
		id := string(k[len(prefixAccount):])
		if isCardAccount(id) {
			problem("account %s: an acct/ key, which store format 3 and later keep in the card's values record (cv/)", maskAccount(id))
			return ctx.Err()
		}
		return checkAccount(id, v)
	})
	if err == nil {
		// Each record is read once, for all its parts.
		err = scan(snap, prefixCardValues, func(k, v []byte) error {
			pan := string(k[len(prefixCardValues):])
			p, err := decodeCardRecord(v)
			if err != nil {
				return fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
			}
			if v[0] != cardRecordVersion {
				problem("card %s: a card values record of version %d, which the migration to store format 4 rewrites", cardnum.Mask(pan), v[0])
			}
			if p[partSV] != nil {
				if err := checkAccount(accountSV(pan), p[partSV]); err != nil {
					return err
				}
			}
			if p[partPoints] != nil {
				if err := checkAccount(accountPoints(pan), p[partPoints]); err != nil {
					return err
				}
			}
			return checkCardParts(pan, &p, held, problem)
		})
	}
	if err == nil {
		err = checkFormat3CardKeys(ctx, snap, problem)
	}
	if err != nil {
		return rep, err
	}
	for _, id := range sortedKeys(want) {
		if !seen[id] {
			problem("account %s: has transfers but no record", maskAccount(id))
		}
	}
	links.accountsEnd()
	if err := checkRecords(ctx, snap, pendingSV, held, problem); err != nil {
		return rep, err
	}
	if err := checkWallets(ctx, snap, pointBal, problem); err != nil {
		return rep, err
	}
	if err := checkMall(ctx, snap, problem); err != nil {
		return rep, err
	}
	if rep.Outbox, err = checkOutbox(ctx, snap, problem); err != nil {
		return rep, err
	}
	if rep.Secrets, err = s.checkSecrets(ctx, snap, problem); err != nil {
		return rep, err
	}
	if rep.Money.Sum != 0 || rep.Money.Pending != 0 {
		problem("money not conserved: balances sum to %d, pending to %d", rep.Money.Sum, rep.Money.Pending)
	}
	if rep.Points.Sum != 0 || rep.Points.Pending != 0 {
		problem("points not conserved: balances sum to %d, pending to %d", rep.Points.Sum, rep.Points.Pending)
	}
	return rep, nil
}

// inUnitRange: 0..MaxAmount, the range of every card balance, hold,
// total and counter.
func inUnitRange(v int64) bool { return v >= 0 && v <= MaxAmount }

// checkCardParts checks a card's parts beside its accounts: its holds
// (each within range; their sum, which checkRecords compares with the
// stored value's pending debits, goes into held), its security state
// (decodes) and its day counter (dated, within range).
func checkCardParts(pan string, p *cardParts, held map[string]Amount, problem func(string, ...any)) error {
	if v := p[partHolds]; v != nil {
		var hs Holds
		if err := hs.decode(v); err != nil {
			return fmt.Errorf("holds of %s: %w", cardnum.Mask(pan), err)
		}
		var sum Amount
		for _, h := range hs {
			var err error
			if !inUnitRange(int64(h.Amount)) {
				problem("holds of card %s: hold %d of %d out of range 0..%d", cardnum.Mask(pan), h.Seq, h.Amount, int64(MaxAmount))
			} else if sum, err = sum.Add(h.Amount); err != nil {
				problem("holds of card %s: sum out of range: %v", cardnum.Mask(pan), err)
			}
		}
		held[accountSV(pan)] = sum
	}
	if v := p[partSecurity]; v != nil {
		var cs CardSecurity
		if err := cs.decode(v); err != nil {
			return fmt.Errorf("security state of %s: %w", cardnum.Mask(pan), err)
		}
	}
	if v := p[partDay]; v != nil {
		var c CardDay
		if err := c.decode(v); err != nil {
			return fmt.Errorf("day counter of %s: %w", cardnum.Mask(pan), err)
		}
		if c.Date == 0 {
			problem("day counter of card %s: no business date", cardnum.Mask(pan))
		}
		if c.Count < 0 || !inUnitRange(int64(c.Amount)) {
			problem("day counter of card %s on %d: count %d, amount %d out of range", cardnum.Mask(pan), c.Date, c.Count, c.Amount)
		}
	}
	return nil
}

// checkFormat3CardKeys reports every card key that store format 3 kept
// beside the card's record (hold/, csec/, cday/<pan>/<date>): the
// migration to format 4 moves each into the record, and the writer never
// reads one again.
func checkFormat3CardKeys(ctx context.Context, snap reader, problem func(string, ...any)) error {
	for _, k := range format3CardKeys {
		err := scan(snap, k.prefix, func(key, _ []byte) error {
			pan, _, _ := strings.Cut(string(key[len(k.prefix):]), "/")
			problem("card %s: a %s key, which store format 4 keeps in the card's values record (cv/)", cardnum.Mask(pan), k.prefix)
			return ctx.Err()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkRecords checks the records that hold amounts beside accounts and
// the journal: every card's holds together equal to its stored value
// account's pending debits (held: the sums checkCardParts found), and
// batch totals (within range).
func checkRecords(ctx context.Context, snap reader, pendingSV map[string]int64, held map[string]Amount, problem func(string, ...any)) error {
	for _, id := range sortedKeys(held) {
		if pendingSV[id] != int64(held[id]) {
			problem("holds of card %s sum to %d, its account's pending debits are %d", cardnum.Mask(id[len("sv/"):]), held[id], pendingSV[id])
		}
	}
	for _, id := range sortedKeys(pendingSV) {
		if _, ok := held[id]; !ok && pendingSV[id] != 0 {
			problem("account %s: pending debits %d but no holds", maskAccount(id), pendingSV[id])
		}
	}
	return scanAggregates(snap, prefixBatch, func(k, v []byte) error {
		var b Batch
		if err := b.decode(v); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		t := b.Totals
		if t.DebitCount < 0 || t.CreditCount < 0 || !inUnitRange(int64(t.DebitAmount)) || !inUnitRange(int64(t.CreditAmount)) {
			problem("%s: totals %+v out of range", k, t)
		}
		return ctx.Err()
	})
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
