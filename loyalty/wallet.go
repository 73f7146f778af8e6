package loyalty

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// MaxLots bounds the lots one wallet holds. One lot per earning is the
// rule; a card that would hold more (years of daily purchases under a
// never or long rolling policy) has each further earning merged into its
// latest-expiring lot (see Wallet.Earn), so a wallet's size and the cost
// of every operation on it stay bounded.
const MaxLots = 1024

// ErrInsufficientPoints: a redemption asks for more than the live lots
// hold; the ledger answers it 51. Nothing is changed.
var ErrInsufficientPoints = errors.New("insufficient points")

// ErrTooManyLots: a wallet at MaxLots whose lots have all expired
// without the expiry job running; run Expire first. Nothing is changed.
var ErrTooManyLots = errors.New("too many lots")

// Use is points taken from one lot (by a redemption, a take-back or the
// expiry job); the ledger posts one movement per Use.
type Use struct {
	Seq    uint64       `json:"seq"`
	Points money.Points `json:"points"`
}

// Wallet is the points account of one card as lots, the model the
// ledger mirrors in postings. Lots are held in consumption order
// (soonest expiry first, never-expiring last, then by Seq) and only
// while Remaining > 0. Debt is points taken back by refunds after the
// lots ran out: the balance is negative (Available < 0) until future
// earnings repay it.
//
// Invariants (Check verifies them): 0 < Remaining <= Points <=
// MaxAmount for every lot, lots in order with distinct Seq, at most
// MaxLots lots, 0 <= Debt <= MaxAmount, and, over the wallet's life,
//
//	earned = Available + redeemed + expired + taken back
//
// where Available counts expired lots not yet removed by Expire and
// subtracts Debt. Every method either succeeds or returns an error and
// changes nothing. A Wallet is not safe for concurrent use; the ledger
// calls it inside its single writer.
type Wallet struct {
	Lots []Lot        `json:"lots,omitempty"`
	Debt money.Points `json:"debt,omitempty"`
}

// Earn credits an earning's lot (Seq, Points, EarnedAt and Expires set;
// Remaining is ignored). The points repay Debt first and only what is
// left is credited: repaid is the debt repaid and into the Seq of the
// lot credited (0 when nothing was). When the wallet already holds
// MaxLots lots, the points are merged into the latest-expiring lot,
// which keeps its Seq and takes the later of the two expiries, so no
// point's life is shortened; into then names that lot.
//
// Errors: negative points or a Seq already held (ErrInvalid), a merge
// beyond MaxAmount (money.ErrOutOfRange), a full wallet whose latest lot
// has expired (ErrTooManyLots).
func (w *Wallet) Earn(lot Lot) (repaid money.Points, into uint64, err error) {
	return w.earn(lot, MaxLots)
}

func (w *Wallet) earn(lot Lot, limit int) (money.Points, uint64, error) {
	if lot.Points < 0 || !money.InRange(int64(lot.Points)) {
		return 0, 0, fmt.Errorf("lot %d: %d points: want 0..%d: %w", lot.Seq, lot.Points, int64(money.MaxAmount), ErrInvalid)
	}
	for i := range w.Lots {
		if w.Lots[i].Seq == lot.Seq {
			return 0, 0, fmt.Errorf("lot %d: already held: %w", lot.Seq, ErrInvalid)
		}
	}
	repaid := min(w.Debt, lot.Points)
	credit := lot.Points - repaid
	if credit == 0 {
		w.Debt -= repaid
		return repaid, 0, nil
	}
	lot.Points, lot.Remaining = credit, credit
	if len(w.Lots) >= limit {
		last := &w.Lots[len(w.Lots)-1]
		if !last.Live(lot.EarnedAt) {
			return 0, 0, fmt.Errorf("lot %d: wallet holds %d lots, all expired: %w", lot.Seq, len(w.Lots), ErrTooManyLots)
		}
		pts, err := last.Points.Add(credit)
		if err != nil {
			return 0, 0, fmt.Errorf("lot %d merged into lot %d: %w", lot.Seq, last.Seq, err)
		}
		w.Debt -= repaid
		last.Points, last.Remaining = pts, last.Remaining+credit
		if lot.Expires.IsZero() || (!last.Expires.IsZero() && lot.Expires.After(last.Expires)) {
			last.Expires = lot.Expires // still last: the order's greatest expiry
		}
		return repaid, last.Seq, nil
	}
	w.Debt -= repaid
	i := sort.Search(len(w.Lots), func(i int) bool { return lot.Before(&w.Lots[i]) })
	w.Lots = slices.Insert(w.Lots, i, lot)
	return repaid, lot.Seq, nil
}

// Available is the points spendable at instant at: the live lots'
// Remaining less Debt (negative while a refund's debt is unpaid).
func (w *Wallet) Available(at time.Time) money.Points {
	return w.live(at) - w.Debt
}

// live is the live lots' Remaining; at most MaxLots × MaxAmount, far
// inside int64.
func (w *Wallet) live(at time.Time) money.Points {
	var sum money.Points
	for i := range w.Lots {
		if w.Lots[i].Live(at) {
			sum += w.Lots[i].Remaining
		}
	}
	return sum
}

// Redeem spends pts at instant at from the live lots, soonest-expiring
// first, and says how much it took from which lot. More than Available
// wraps ErrInsufficientPoints (the ledger answers 51); negative pts
// wraps ErrInvalid; 0 takes nothing.
func (w *Wallet) Redeem(pts money.Points, at time.Time) ([]Use, error) {
	if pts < 0 {
		return nil, fmt.Errorf("redeem %d points: negative: %w", pts, ErrInvalid)
	}
	if avail := w.Available(at); pts > avail {
		return nil, fmt.Errorf("redeem %d points: %d available: %w", pts, avail, ErrInsufficientPoints)
	}
	uses := w.take(-1, pts, at)
	return uses, nil
}

// TakeBack takes pts back for a refund, void or reversal of the earning
// seq at instant at: first from that earning's lot if it is held and
// live, then from the live lots soonest-expiring first; what the lots
// cannot cover becomes Debt (debt is what was added to it). Expired
// lots are left to Expire, so the outcome does not depend on whether
// the expiry job has run yet. Negative pts wraps ErrInvalid; Debt
// beyond MaxAmount wraps money.ErrOutOfRange.
func (w *Wallet) TakeBack(seq uint64, pts money.Points, at time.Time) (uses []Use, debt money.Points, err error) {
	if pts < 0 {
		return nil, 0, fmt.Errorf("take back %d points of lot %d: negative: %w", pts, seq, ErrInvalid)
	}
	debt = max(0, pts-w.live(at))
	newDebt, err := w.Debt.Add(debt)
	if err != nil {
		return nil, 0, fmt.Errorf("take back %d points of lot %d: debt: %w", pts, seq, err)
	}
	first := -1
	for i := range w.Lots {
		if w.Lots[i].Seq == seq && w.Lots[i].Live(at) {
			first = i
		}
	}
	uses = w.take(first, pts-debt, at)
	w.Debt = newDebt
	return uses, debt, nil
}

// take removes pts (no more than the live lots hold) from lot first (if
// >= 0) and then the live lots in order, and drops emptied lots.
func (w *Wallet) take(first int, pts money.Points, at time.Time) []Use {
	var uses []Use
	from := func(l *Lot) {
		n := min(pts, l.Remaining)
		if n == 0 {
			return
		}
		l.Remaining -= n
		pts -= n
		uses = append(uses, Use{Seq: l.Seq, Points: n})
	}
	if first >= 0 {
		from(&w.Lots[first])
	}
	for i := range w.Lots {
		if pts == 0 {
			break
		}
		if w.Lots[i].Live(at) {
			from(&w.Lots[i])
		}
	}
	w.Lots = slices.DeleteFunc(w.Lots, func(l Lot) bool { return l.Remaining == 0 })
	return uses
}

// Expire removes every lot expired at instant at (Expires <= at: the
// boundary instant is expired, see Lot.Live) and returns what it
// removed, the breakage to post. Run again at the same instant it
// returns nothing: the daily job is idempotent.
func (w *Wallet) Expire(at time.Time) []Use {
	var uses []Use
	for i := range w.Lots {
		if !w.Lots[i].Live(at) {
			uses = append(uses, Use{Seq: w.Lots[i].Seq, Points: w.Lots[i].Remaining})
		}
	}
	if len(uses) > 0 {
		w.Lots = slices.DeleteFunc(w.Lots, func(l Lot) bool { return !l.Live(at) })
	}
	return uses
}

// Expiring lists the lots live at instant at that expire by instant by
// (Expires <= by), for the expiry-notice report: by is at plus the
// program's notice window. The ledger remembers which lots it has
// noticed, so each is reported once.
func (w *Wallet) Expiring(at, by time.Time) []Lot {
	var lots []Lot
	for _, l := range w.Lots {
		if l.Live(at) && !l.Expires.IsZero() && !l.Expires.After(by) {
			lots = append(lots, l)
		}
	}
	return lots
}

// Check verifies the wallet's invariants (for -tags invariants builds
// and tests); the error names the first broken one.
func (w *Wallet) Check() error {
	if w.Debt < 0 || !money.InRange(int64(w.Debt)) {
		return fmt.Errorf("wallet debt %d: want 0..%d", w.Debt, int64(money.MaxAmount))
	}
	if len(w.Lots) > MaxLots {
		return fmt.Errorf("wallet holds %d lots: more than %d", len(w.Lots), MaxLots)
	}
	seqs := make(map[uint64]bool, len(w.Lots))
	for i := range w.Lots {
		l := &w.Lots[i]
		if l.Remaining <= 0 || l.Remaining > l.Points || !money.InRange(int64(l.Points)) {
			return fmt.Errorf("lot %d: remaining %d of %d points: want 0 < remaining <= points <= %d", l.Seq, l.Remaining, l.Points, int64(money.MaxAmount))
		}
		if seqs[l.Seq] {
			return fmt.Errorf("lot %d: held twice", l.Seq)
		}
		seqs[l.Seq] = true
		if i > 0 && !w.Lots[i-1].Before(l) {
			return fmt.Errorf("lot %d after lot %d: out of expiry order", l.Seq, w.Lots[i-1].Seq)
		}
	}
	return nil
}
