package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrOutOfRange: an amount or points figure would leave ±MaxAmount, or a
// running sum would leave int64. The ledger answers it 13 on the wire and
// 400 naming the field at the admin API; nothing is changed.
var ErrOutOfRange = errors.New("amount or points out of range")

// Amount is money in minor units (fen for CNY, currency 156). It is never a
// float: rates are basis points and rounding happens once, where the rules
// say.
type Amount int64

// Points is a count of whole loyalty points.
type Points int64

// String formats an amount as yuan with two decimals ("12.50"), for humans.
func (a Amount) String() string {
	sign := ""
	v := int64(a)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// ParseAmount reads a decimal yuan amount ("12.50", "12", "0.05") exactly,
// without floats. It rejects signs, more than two decimals and anything that
// is not a plain decimal number.
func ParseAmount(s string) (Amount, error) {
	whole, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			whole, frac = s[:i], s[i+1:]
			break
		}
	}
	if whole == "" || len(frac) > 2 || (len(s) > len(whole) && frac == "") {
		return 0, fmt.Errorf("amount %q: want yuan with at most two decimals, e.g. 12.50", s)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, fmt.Errorf("amount %q: not a decimal number", s)
			}
		}
	}
	if len(whole) > 13 {
		return 0, fmt.Errorf("amount %q: too large", s)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return Amount(w*100 + f), nil
}

// MaxAmount is the largest magnitude the ledger lets any amount, balance,
// hold, limit, day counter, refunded sum or batch total of money or points
// take: 12 decimal digits, what field 4, field 48 and every field 54 entry
// can carry. Keeping every card-facing figure inside it is what lets the
// gateway render any answer the ledger gives.
const MaxAmount = 999_999_999_999

// Add returns a+b, or ErrOutOfRange when the sum leaves ±MaxAmount.
func (a Amount) Add(b Amount) (Amount, error) {
	v, err := AddInRange(int64(a), int64(b))
	return Amount(v), err
}

// Sub returns a-b, or ErrOutOfRange when the difference leaves ±MaxAmount.
func (a Amount) Sub(b Amount) (Amount, error) {
	v, err := SubInRange(int64(a), int64(b))
	return Amount(v), err
}

// Add returns p+q, or ErrOutOfRange when the sum leaves ±MaxAmount.
func (p Points) Add(q Points) (Points, error) {
	v, err := AddInRange(int64(p), int64(q))
	return Points(v), err
}

// Sub returns p-q, or ErrOutOfRange when the difference leaves ±MaxAmount.
func (p Points) Sub(q Points) (Points, error) {
	v, err := SubInRange(int64(p), int64(q))
	return Points(v), err
}

// InRange reports whether |v| <= MaxAmount.
func InRange(v int64) bool { return v >= -MaxAmount && v <= MaxAmount }

// AddInRange is a+b, or ErrOutOfRange when the sum leaves ±MaxAmount.
func AddInRange(a, b int64) (int64, error) {
	v, err := AddInt64(a, b)
	if err != nil {
		return 0, err
	}
	if !InRange(v) {
		return 0, fmt.Errorf("%d + %d = %d: beyond ±%d: %w", a, b, v, int64(MaxAmount), ErrOutOfRange)
	}
	return v, nil
}

// SubInRange is a-b, or ErrOutOfRange when the difference leaves
// ±MaxAmount.
func SubInRange(a, b int64) (int64, error) {
	nb, err := Signed(-1, b)
	if err != nil {
		return 0, err
	}
	return AddInRange(a, nb)
}

// AddInt64 is a+b for the accounts' running sums, which grow without the
// MaxAmount bound (a merchant's debits over years) but must never wrap.
func AddInt64(a, b int64) (int64, error) {
	v := a + b
	// Overflow iff both operands have the sign the result lacks.
	if (a^v)&(b^v) < 0 {
		return 0, fmt.Errorf("%d + %d: beyond int64: %w", a, b, ErrOutOfRange)
	}
	return v, nil
}

// Signed is v when sign >= 0 and -v when sign < 0 (an undo takes a
// figure out again), refusing the one int64 without a negation.
func Signed(sign, v int64) (int64, error) {
	if sign >= 0 {
		return v, nil
	}
	if v == math.MinInt64 {
		return 0, fmt.Errorf("-(%d): beyond int64: %w", v, ErrOutOfRange)
	}
	return -v, nil
}
