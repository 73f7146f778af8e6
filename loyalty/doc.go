// Package loyalty is the loyalty engine's rules, as pure functions: given
// a program's Rules and the facts of a member and a transaction, it says
// how many points the transaction earns and why, when a lot of points
// expires, which lots a redemption consumes, what a refund takes back and
// which tier a member is in. It keeps no state and does no I/O: the
// ledger keeps lots, visits and tiers, calls these functions inside its
// single writer, and posts what they return as balanced transfers.
//
// The semantics are shared loyalty-rules.md (normative): money in fen,
// points whole, rates in basis points; the points of one transaction are
// rounded down once, after every multiplier, with exact integer
// arithmetic (money.Scale: an amount times three rates exceeds int64);
// fixed bonuses are added after rounding. Every Earning records the rules
// version and the campaigns that produced it.
//
// # Earning a purchase
//
// For an approved purchase or accrual the ledger, in order:
//
//  1. adds the amount to the current month's spend bucket and calls
//     Upgrade(r, tier, AverageMonthlySpend(buckets)): an upgrade is
//     immediate, so the purchase that crosses a threshold earns at the
//     new tier;
//  2. calls Earn with the Member facts (that tier, the month's visit
//     dates, the merchants seen, the last birthday-bonus year) and the
//     Purchase (amount, merchant, instant, the program's time zone);
//  3. credits Earning.Points as a lot: Wallet.Earn(Lot{Seq, Points,
//     EarnedAt, Expires from LotPolicy.Expiry}), which repays any debt
//     first;
//  4. after commit records the visit date, the merchant and, when
//     Earning.BirthdayBonus, Earning.BirthdayBonusYear.
//
// Earn counts in local dates of the program's zone: campaign windows
// (inclusive), the visit number (distinct dates of the calendar month)
// and birthday windows (which wrap the year; Feb 29 is Feb 28 in other
// years). Of the multiplier campaigns that apply one is used (highest
// multiplier, then priority, then smallest id); bonuses add.
//
// # Taking points back
//
// A refund takes back RefundTakeBack(earned, takenBack, refundedTotal,
// original): the cumulative floor(earned × refundedTotal / original)
// less what earlier refunds took (never below zero: after an undone
// refund the earlier ones may have taken a refund's share already), so
// partial refunds never take more than earned and a full refund takes
// all of it. A void or reversal
// takes back exactly earned − takenBack. Wallet.TakeBack takes the
// points from the earning's own lot first, then the soonest-expiring
// live lots; what they cannot cover becomes Debt, a negative balance
// that later earnings repay before making lots.
//
// # Lots and expiry
//
// A Wallet holds one Lot per earning in consumption order (soonest
// expiry first, never last, then Seq). Redeem spends live lots in that
// order (ErrInsufficientPoints: the ledger's 51). A lot is expired from
// its Expires instant on — the boundary instant is expired — and Expire
// (the daily job, idempotent) removes expired lots and returns them as
// breakage. Expiring lists the lots due within the notice window. A
// wallet holds at most MaxLots lots; beyond it a new earning is merged
// into the latest-expiring lot, never shortening any point's life.
//
// Conservation, checked by the property test over random sequences:
// earned = Available (held lots less Debt) + redeemed + expired + taken
// back; every held lot has 0 < Remaining <= Points (Wallet.Check).
//
// # Tiers
//
// TierFor is the highest tier whose threshold the average reaches;
// Upgrade never goes down; Review (monthly) goes up to the qualified
// tier or down by one at most.
//
// # Assumptions and errors
//
// The functions assume Rules passed Rules.Validate (dates YYYY-MM-DD,
// thresholds rising from 0, one of multiplier or bonus per campaign,
// non-negative months and days). They check the facts they are handed:
// a malformed fact wraps ErrInvalid and names the field (a birthday's
// value is personal data and is left out); arithmetic beyond int64 or
// money.MaxAmount wraps money.ErrOutOfRange. A failed call changes
// nothing.
//
// The rules are tested as stories in testdata/*.txt (datadriven, one
// file per rule family; every earning is recomputed with math/big), by a
// seeded property test of the Wallet and by BenchmarkEarn.
package loyalty
