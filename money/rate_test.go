package money

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigScale is Scale computed with math/big, the reference.
func bigScale(x int64, factors []int64, den int64, r Rounding) (*big.Int, bool) {
	p := big.NewInt(x)
	for _, f := range factors {
		p.Mul(p, big.NewInt(f))
	}
	if p.BitLen() > 128 {
		return nil, false
	}
	if r == HalfUp {
		p.Add(p, big.NewInt(den/2))
	}
	q := p.Quo(p, big.NewInt(den))
	return q, q.IsInt64()
}

func TestScaleMatchesBigIntegers(t *testing.T) {
	cases := []struct {
		x       int64
		factors []int64
		den     int64
		r       Rounding
	}{
		{12345, []int64{10000}, 10000 * 100, Floor},                                         // 123.45 yuan at 1 point/yuan: 123
		{999_999_999_999, []int64{20000, 15000, 20000}, 10000 * 100 * 10000 * 10000, Floor}, // beyond int64 in the middle
		{999_999_999_999, []int64{1_000_000, 1_000_000, 1_000_000}, 1, Floor},               // beyond 128 bits
		{150, []int64{60}, 10000, HalfUp},                                                   // 0.9 fen: 1
		{250, []int64{20}, 10000, HalfUp},                                                   // 0.5 fen: 1 (half up)
		{249, []int64{20}, 10000, HalfUp},                                                   // 0.498: 0
		{math.MaxInt64, []int64{2}, 1, Floor},                                               // quotient beyond int64
		{0, []int64{1 << 62, 1 << 62}, 3, Floor},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		n := rng.IntN(4)
		f := make([]int64, n)
		for j := range f {
			f[j] = rng.Int64N(1 << uint(rng.IntN(40)+1))
		}
		cases = append(cases, struct {
			x       int64
			factors []int64
			den     int64
			r       Rounding
		}{rng.Int64N(1 << uint(rng.IntN(62)+1)), f, rng.Int64N(1<<uint(rng.IntN(50)+1)) + 1, Rounding(rng.IntN(2))})
	}
	for _, c := range cases {
		want, ok := bigScale(c.x, c.factors, c.den, c.r)
		got, err := Scale(c.x, c.factors, c.den, c.r)
		switch {
		case !ok && !errors.Is(err, ErrOutOfRange):
			t.Fatalf("Scale(%d, %v, %d, %d) = %d, %v; want ErrOutOfRange", c.x, c.factors, c.den, c.r, got, err)
		case ok && (err != nil || got != want.Int64()):
			// HalfUp may overflow 128 bits by the added half where the
			// reference does not; only accept that as an error.
			if err != nil && errors.Is(err, ErrOutOfRange) && c.r == HalfUp {
				continue
			}
			t.Fatalf("Scale(%d, %v, %d, %d) = %d, %v; want %s", c.x, c.factors, c.den, c.r, got, err, want)
		}
	}
}

func TestScaleRefusesNegatives(t *testing.T) {
	for _, c := range []struct {
		x, f, den int64
	}{{-1, 1, 1}, {1, -1, 1}, {1, 1, 0}, {1, 1, -5}} {
		if _, err := Scale(c.x, []int64{c.f}, c.den, Floor); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("Scale(%d, %d, %d): %v, want ErrOutOfRange", c.x, c.f, c.den, err)
		}
	}
}
