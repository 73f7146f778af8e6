package terminal

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBalances(t *testing.T) {
	ok := []struct {
		in   string
		want Balances
	}{
		{"0001156C000000010000" + "0002156C000000008000" + "9002999C000000000120",
			Balances{Ledger: 10000, Available: 8000, Points: 120}},
		{"0001156C000000010000" + "0002156C000000008000" + "9002999C000000000120" + "9090999C000000000012",
			Balances{Ledger: 10000, Available: 8000, Points: 120, Earned: 12}},
		{"0001156C000000010000" + "0002156C000000008000" + "9002999C000000000120" + "9091999D000000000050",
			Balances{Ledger: 10000, Available: 8000, Points: 120, Debited: 50}},
		{"0001156C000000010000" + "0002156C000000008000" + "9002999C000000000120" + "9090999C000000000012" + "9091999D000000000050",
			Balances{Ledger: 10000, Available: 8000, Points: 120, Earned: 12, Debited: 50}},
		{"0001156D000000000100" + "0002156D000000000100" + "9002999C000000000000",
			Balances{Ledger: -100, Available: -100}},
	}
	for _, c := range ok {
		got, err := ParseBalances(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseBalances(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if back := got.Field54(); back != c.in {
			t.Errorf("Field54 = %q, want %q", back, c.in)
		}
	}
	const a, b, p = "0001156C000000010000", "0002156C000000008000", "9002999C000000000120"
	bad := map[string]string{
		"empty":              "",
		"short":              a + b + p[:19],
		"missing points":     a + b,
		"missing available":  a + p,
		"out of order":       b + a + p,
		"repeated":           a + a + b + p,
		"wrong currency":     "0001840C000000010000" + b + p,
		"points currency":    a + b + "9002156C000000000120",
		"bad sign":           a + b + "9002999X000000000120",
		"letters in amount":  a + b + "9002999C00000000012A",
		"unknown entry":      a + b + p + "0003156C000000000000",
		"earned after debit": a + b + p + "9091999D000000000050" + "9090999C000000000012",
		"too long":           a + b + p + "9090999C000000000012" + "9091999D000000000050" + a + a,
		"spaces":             a + b + "9002999C 00000000120",
		"lowercase sign":     a + b + "9002999c000000000120",
		"negative via minus": a + b + "9002999C-00000000120",
	}
	for name, in := range bad {
		if _, err := ParseBalances(in); !errors.Is(err, ErrBadBalances) {
			t.Errorf("%s: ParseBalances(%q) err = %v, want ErrBadBalances", name, in, err)
		}
	}
}

func FuzzParseBalances(f *testing.F) {
	addSeeds(f, "FuzzParseBalances")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBalances(s)
		if err != nil {
			if !errors.Is(err, ErrBadBalances) {
				t.Fatalf("error %v does not wrap ErrBadBalances", err)
			}
			return
		}
		// What parses formats back to text that parses to the same
		// balances, and to the same text unless a zero carried sign D.
		out := b.Field54()
		b2, err := ParseBalances(out)
		if err != nil || b2 != b {
			t.Fatalf("re-parse of %q: %+v %v", out, b2, err)
		}
		if out != s && !strings.Contains(s, "D000000000000") {
			t.Fatalf("Field54(ParseBalances(%q)) = %q", s, out)
		}
	})
}
