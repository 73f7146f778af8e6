package loyalty

import (
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// Lot is the points of one earning, with their expiry. The ledger keeps
// one per earning (Seq is the earning's sequence number, its idempotency
// key) and mirrors every change the Wallet makes in balanced postings.
type Lot struct {
	Seq uint64 `json:"seq"`
	// Points is what the lot was credited with (after repaying debt, see
	// Wallet.Earn); Remaining is what is left of it: 0 < Remaining <=
	// Points while the lot is held.
	Points    money.Points `json:"points"`
	Remaining money.Points `json:"remaining"`
	EarnedAt  time.Time    `json:"earned_at"`
	// Expires is the first instant the lot is expired; zero: never.
	Expires time.Time `json:"expires,omitzero"`
}

// Live reports whether the lot can still be spent at instant at: it
// never expires, or at is before Expires. The expiry instant itself is
// expired — Expires is the first instant of the month after the last
// month the points were good for, so "expires at the end of January"
// means gone at February 1 00:00 local, not a nanosecond later.
func (l *Lot) Live(at time.Time) bool {
	return l.Expires.IsZero() || at.Before(l.Expires)
}

// Expiry is when points earned at earnedAt expire under the policy, in
// the program's time zone loc; false for LotNever (and for a kind
// Rules.Validate would refuse, so that no lot is expired on a typo):
//
//   - end_of_month: the instant the month after the Months-th month
//     after the earning month begins, local (earned 2025-01-15 with 12
//     months: 2026-02-01 00:00 local);
//   - rolling_days: Days local days after earnedAt, same wall-clock time.
//
// It assumes Months and Days passed Rules.Validate (not negative) and a
// non-nil loc.
func (p LotPolicy) Expiry(earnedAt time.Time, loc *time.Location) (time.Time, bool) {
	t := earnedAt.In(loc)
	switch p.Kind {
	case LotEndOfMonth:
		return time.Date(t.Year(), t.Month()+time.Month(p.Months)+1, 1, 0, 0, 0, 0, loc), true
	case LotRollingDays:
		return t.AddDate(0, 0, p.Days), true
	default:
		return time.Time{}, false
	}
}

// Before is the order lots are held and consumed in: a comes before b
// when it expires sooner (never-expiring last), or, expiring together,
// when it is the older earning (lower Seq).
func (a *Lot) Before(b *Lot) bool {
	switch {
	case a.Expires.Equal(b.Expires):
		return a.Seq < b.Seq
	case a.Expires.IsZero():
		return false
	case b.Expires.IsZero():
		return true
	default:
		return a.Expires.Before(b.Expires)
	}
}
