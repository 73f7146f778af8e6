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
package loyalty
