// Package money is the module's arithmetic of money, points and rates.
//
// Amount is money in minor units (fen for CNY) and Points a count of
// whole loyalty points, both int64 and never floats. MaxAmount (12 decimal
// digits, what the wire's amount fields carry) bounds every figure a
// card, batch or account shows: Add and Sub refuse to leave it, AddInt64
// refuses to wrap a running sum. Rates are basis points (BP, 10000 =
// 100 %); Scale multiplies an amount by any number of rates exactly, in
// 128 bits, and divides once, rounding down or half up as the rule being
// computed says — an amount times three basis-point rates exceeds int64.
//
// Every failure wraps ErrOutOfRange and changes nothing; the ledger
// answers it 13 on the wire.
package money
