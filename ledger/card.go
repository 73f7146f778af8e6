package ledger

// card.go: the card checks (14, 41, 43, 54, 57, 62), the card's
// accounts and balances, and the limits on debits.

import (
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// checkCard applies the card checks in the contract's order: 14, 41, 43,
// 54, 57, 62. Requests that settle or undo what the host already accepted
// (completions, reversals) only need the card to exist: a card reported
// lost after a purchase must not block that purchase's reversal.
func (d *decision) checkCard() error {
	r := d.r
	// Masked only for an error: most requests pass every check.
	masked := func() string { return cardnum.Mask(r.PAN) }
	if !cardnum.LuhnValid(r.PAN) {
		return fmt.Errorf("pan %s: bad check digit: %w", masked(), ErrUnknownCard)
	}
	c, err := registryGet[Card](d.t, d.t.cardRegKey(r.PAN))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	}
	if c == nil || c.ProgramID != d.m.ProgramID {
		return fmt.Errorf("pan %s: %w", masked(), ErrUnknownCard)
	}
	d.card = c
	if ch := r.Security.Chip; ch != nil && checksChip(r.Kind) && ch.PSN != cardPSN(c) {
		return fmt.Errorf("pan %s: card sequence number %s is not the card's: %w", masked(), ch.PSN, ErrUnknownCard)
	}
	if r.Kind == KindCompletion || r.Kind == KindReversal {
		return nil
	}
	switch c.State {
	case CardLost:
		return fmt.Errorf("pan %s: %w", masked(), ErrCardLost)
	case CardStolen:
		return fmt.Errorf("pan %s: %w", masked(), ErrCardStolen)
	}
	now := d.now.In(d.s.opts.Location)
	y, m := now.Year()%100, int(now.Month())
	yymm := [4]byte{byte('0' + y/10), byte('0' + y%10), byte('0' + m/10), byte('0' + m%10)}
	if month := string(yymm[:]); c.Expiry < month || (r.CardExp != "" && r.CardExp < month) {
		return fmt.Errorf("pan %s: %w", masked(), ErrCardExpired)
	}
	if c.State != CardActive {
		return fmt.Errorf("pan %s state %s: %w", masked(), c.State, ErrCardNotActive)
	}
	if c.Blacklisted {
		return fmt.Errorf("pan %s: %w", masked(), ErrBlacklisted)
	}
	if on, err := d.binBlacklisted(r.PAN); err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	} else if on {
		return fmt.Errorf("pan %s: BIN range on the blacklist: %w", masked(), ErrBlacklisted)
	}
	return nil
}

// cardAccounts loads the card's stored value and points accounts,
// releasing expired holds first so that available balances are right.
func (d *decision) cardAccounts() (sv, pts *Account, err error) {
	if err := d.releaseExpiredHolds(); err != nil {
		return nil, nil, err
	}
	// Each call's are its own: a decision may read them again.
	sv, pts = d.newAccount(), d.newAccount()
	if err = d.t.loadCardAccount(d.card.PAN, slotSV, sv); err != nil {
		return nil, nil, err
	}
	if err = d.t.loadCardAccount(d.card.PAN, slotPoints, pts); err != nil {
		return nil, nil, err
	}
	return sv, pts, nil
}

// balancesOf are the card's balances for field 54. Points are the points
// available (contract section 4): for a card of a program with loyalty
// rules, its live lots less its debt, so that points whose lot has
// expired are not shown before the expiry job posts their breakage; for
// any other card, the points account.
func (d *decision) balancesOf(sv, pts *Account) *Balances {
	b := takeSpare(&d.spareBalances)
	*b = Balances{Ledger: Amount(sv.Balance()), Available: Amount(sv.Available()), Points: Points(pts.Balance())}
	if d.card == nil {
		return b
	}
	if pts, stored := d.pointsAvailable(); stored {
		b.Points = pts
	}
	return b
}

func (d *decision) balance() {
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.bal = d.balancesOf(sv, pts)
	d.assignRRN()
}

// checkLimits applies the card's per-transaction, daily amount and daily
// count limits to a debit (purchase or pre-authorization). The card's
// day counter (cday/<pan>, a part of its values record) counts one
// business date: a counter of an earlier date is today's zero, and the
// debit starts today's in its place. One of a later date (a clock set
// back across the cut-off) goes on counting: the limits then hold for
// the two dates together, never letting through more than they allow.
//
// The counter is read into the writer's scratch (opScratch): put
// encodes it at once and nothing keeps it.
func (d *decision) checkLimits(amount Amount) error {
	c := d.card
	date := d.s.businessDate(d.now)
	key := d.t.cardKey(c.PAN, slotDay)
	day := &d.s.op.day
	if _, err := getRecordInto(d.t, key, day); err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	}
	if day.Date < date { // absent: zero, a date before any
		*day = CardDay{Date: date}
	}
	masked := func() string { return cardnum.Mask(c.PAN) } // for an error only
	if c.PerTxnLimit > 0 && amount > c.PerTxnLimit {
		return fmt.Errorf("pan %s amount %d over per-transaction limit %d: %w", masked(), amount, c.PerTxnLimit, ErrOverLimit)
	}
	dayAmount, err := day.Amount.Add(amount)
	if err != nil {
		return fmt.Errorf("pan %s day's amount: %w", masked(), err)
	}
	dayCount, err := addInt64(day.Count, 1)
	if err != nil {
		return fmt.Errorf("pan %s day's count: %w", masked(), err)
	}
	if c.DailyLimit > 0 && dayAmount > c.DailyLimit {
		return fmt.Errorf("pan %s amount %d over daily limit %d: %w", masked(), amount, c.DailyLimit, ErrOverLimit)
	}
	if c.DailyCountLimit > 0 && dayCount > int64(c.DailyCountLimit) {
		return fmt.Errorf("pan %s over daily count limit %d: %w", masked(), c.DailyCountLimit, ErrCountLimit)
	}
	day.Count, day.Amount = dayCount, dayAmount
	d.t.put(key, day)
	return nil
}

// debitable runs the checks shared by everything that takes stored value
// from the card (purchase, pre-authorization): a positive amount, no
// earlier reversal of this request, the card's limits, enough available.
// It returns the card's accounts when all pass.
func (d *decision) debitable() (sv, pts *Account, ok bool) {
	if !d.positiveAmount() || d.tombstoned() {
		return nil, nil, false
	}
	if err := d.checkLimits(d.r.Amount); err != nil {
		d.err = err
		return nil, nil, false
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return nil, nil, false
	}
	if sv.Available() < int64(d.r.Amount) {
		d.balancesOnDecline = d.balancesOf(sv, pts)
		d.err = fmt.Errorf("pan %s available %d < %d: %w", cardnum.Mask(d.card.PAN), sv.Available(), d.r.Amount, ErrInsufficientFunds)
		return nil, nil, false
	}
	return sv, pts, true
}
