package money

import (
	"fmt"
	"math/bits"
	"slices"
)

// BP is a rate in basis points: 10000 is 100 %, 1 bp is 0.01 %.
type BP int64

// BPScale is 100 % in basis points.
const BPScale = 10000

// Rounding says how Scale rounds its one division.
type Rounding uint8

const (
	// Floor rounds down (points earned, points taken back).
	Floor Rounding = iota
	// HalfUp rounds to the nearest, halves up (fees).
	HalfUp
)

// Scale returns x × f1 × f2 × … / den, rounded once as r says. x and the
// factors must not be negative and den must be positive. The product is
// kept exactly in 128 bits; ErrOutOfRange is returned when it leaves 128
// bits or the result leaves int64.
func Scale(x int64, factors []int64, den int64, r Rounding) (int64, error) {
	if x < 0 || den <= 0 {
		return 0, scaleError(x, factors, den, "want x >= 0 and den > 0")
	}
	hi, lo := uint64(0), uint64(x)
	for _, f := range factors {
		if f < 0 {
			return 0, scaleError(x, factors, den, "a negative factor")
		}
		// (hi·2^64 + lo) × f = hi·f·2^64 + lo·f
		h1, l1 := bits.Mul64(lo, uint64(f))
		h2, l2 := bits.Mul64(hi, uint64(f))
		if h2 != 0 {
			return 0, scaleError(x, factors, den, "product beyond 128 bits")
		}
		var carry uint64
		hi, carry = bits.Add64(h1, l2, 0)
		if carry != 0 {
			return 0, scaleError(x, factors, den, "product beyond 128 bits")
		}
		lo = l1
	}
	d := uint64(den)
	if r == HalfUp {
		// round(p/d) = floor((p + floor(d/2)) / d), halves up.
		var carry uint64
		lo, carry = bits.Add64(lo, d/2, 0)
		hi += carry
		if hi < carry {
			return 0, scaleError(x, factors, den, "product beyond 128 bits")
		}
	}
	if hi >= d {
		return 0, scaleError(x, factors, den, "result beyond 64 bits")
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > 1<<63-1 {
		return 0, scaleError(x, factors, den, "result beyond int64")
	}
	return int64(q), nil
}

// scaleError is Scale's ErrOutOfRange naming its operands. It formats a
// copy of factors, so that the caller's slice (usually a literal on
// every earning's path) does not escape to the heap through fmt.
func scaleError(x int64, factors []int64, den int64, why string) error {
	return fmt.Errorf("scale %d by %v over %d: %s: %w", x, slices.Clone(factors), den, why, ErrOutOfRange)
}
