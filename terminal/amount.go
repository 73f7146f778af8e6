package terminal

import (
	"errors"
	"fmt"
	"strconv"
)

// Fen is an amount of money in fen (minor units of CNY, currency 156).
// It is a plain int64 until the ledger's Amount type exists; every API of this
// package that takes or returns money uses it.
type Fen int64

// maxAmountFen is the largest amount field 4 (n12) can carry.
const maxAmountFen Fen = 999_999_999_999

// ErrBadAmount is wrapped by every ParseYuan error.
var ErrBadAmount = errors.New("invalid amount")

// ParseYuan parses a decimal amount of yuan as typed on a command line or in a
// scenario file ("12.50", "12", "0.05", "12.5") into fen, exactly, without
// floating point. It rejects signs, more than two decimals, empty parts
// ("1.", ".5"), anything but ASCII digits and one dot, and amounts above
// what field 4 can carry; the error names the value.
func ParseYuan(s string) (Fen, error) {
	bad := func(reason string) (Fen, error) {
		return 0, fmt.Errorf("%w %q: %s", ErrBadAmount, s, reason)
	}
	if s == "" {
		return bad("empty")
	}
	const maxLen = 20 // far more than 12 digits of fen; bounds the loop below
	if len(s) > maxLen {
		return bad("too long")
	}
	intPart, fracPart, hasDot := s, "", false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if hasDot {
				return bad("more than one decimal point")
			}
			hasDot = true
			intPart, fracPart = s[:i], s[i+1:]
		case c == '+' || c == '-':
			return bad("signs are not allowed")
		case c < '0' || c > '9':
			return bad("not a decimal number")
		}
	}
	if intPart == "" {
		return bad("no digits before the decimal point")
	}
	if hasDot && fracPart == "" {
		return bad("no digits after the decimal point")
	}
	if len(fracPart) > 2 {
		return bad("more than 2 decimals")
	}
	yuan, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || yuan > int64(maxAmountFen/100) {
		return bad("too large")
	}
	var frac int64
	for i := 0; i < 2; i++ {
		frac *= 10
		if i < len(fracPart) {
			frac += int64(fracPart[i] - '0')
		}
	}
	f := Fen(yuan*100 + frac)
	if f > maxAmountFen {
		return bad("too large")
	}
	return f, nil
}

// String formats f as yuan with two decimals ("12.50", "-0.05").
func (f Fen) String() string {
	sign := ""
	u := uint64(f)
	if f < 0 {
		sign = "-"
		u = uint64(-(f + 1)) + 1 // no overflow for math.MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// field4 formats f as the 12-digit field 4.
func (f Fen) field4() (string, error) {
	if f < 0 || f > maxAmountFen {
		return "", fmt.Errorf("%w: %d fen does not fit field 4", ErrBadAmount, int64(f))
	}
	return fmt.Sprintf("%012d", int64(f)), nil
}
