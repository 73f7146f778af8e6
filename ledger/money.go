package ledger

import (
	"fmt"
	"strconv"
)

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

// Unit says what an account counts: money or points. Transfers only move
// value between accounts of the same unit.
type Unit uint8

const (
	UnitMoney  Unit = 1
	UnitPoints Unit = 2
)

func (u Unit) String() string {
	switch u {
	case UnitMoney:
		return "money"
	case UnitPoints:
		return "points"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}
