package cardnum

import (
	"strings"
	"testing"
)

// Every length 0..19 of a digit string, and a few past it: how much shows
// and that at least 6 digits, and never more than the first 6 and last 4,
// show.
func TestMaskEveryLength(t *testing.T) {
	const digits = "1234567890123456789012"
	want := map[int]string{
		12: "12******9012",
		13: "123******0123",
		14: "1234******1234",
		15: "12345******2345",
		16: "123456******3456",
		17: "123456*******4567",
		18: "123456********5678",
		19: "123456*********6789",
	}
	for n := 0; n <= len(digits); n++ {
		in := digits[:n]
		got := Mask(in)
		if len(got) != n {
			t.Errorf("Mask(%d digits) has length %d", n, len(got))
		}
		w, ok := want[n]
		if !ok {
			w = strings.Repeat("*", n) // not PAN-like: starred completely
		}
		if got != w {
			t.Errorf("Mask of %d digits = %q, want %q", n, got, w)
		}
		shown := n - strings.Count(got, "*")
		if n-shown < min(6, n) || shown > 10 {
			t.Errorf("Mask of %d digits shows %d", n, shown)
		}
		if i := strings.IndexByte(got, '*'); i > 6 || (i >= 0 && n-strings.LastIndexByte(got, '*')-1 > 4) {
			t.Errorf("Mask of %d digits = %q: more than first 6 or last 4", n, got)
		}
	}
}

func TestMaskNotAPAN(t *testing.T) {
	for _, in := range []string{
		"6210000000000011=2912101", // track 2: not a PAN
		"621000000000001A",
		" 6210000000000011",
		"6210-0000-0000-0011",
		"６２１０００００００００００１１", // full-width digits
		"abcdefghijklmnop",
	} {
		if got := Mask(in); got != strings.Repeat("*", len(in)) {
			t.Errorf("Mask(%d bytes of non-PAN) = %q, want all stars", len(in), got)
		}
	}
}

func TestScrub(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"card 6210000000000011 lost":        "card 621000******0011 lost",
		"x621000000011y":                    "x62******0011y",
		"stan 000123, amount 12345678901":   "stan 000123, amount 12345678901",
		"a 12345678901234567890123 b":       "a *********************** b",
		"6210000000000011,6210000000000029": "621000******0011,621000******0029",
	} {
		if got := Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDigits(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "0": true, "0123456789": true, " 1": false, "1 ": false,
		"12a": false, "-1": false, "+1": false, "1.0": false, "١": false,
	} {
		if got := Digits(in); got != want {
			t.Errorf("Digits(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for _, p := range []string{"79927398713", "4111111111111111", "6210000000000011", "00", "18"} {
		if !LuhnValid(p) {
			t.Errorf("LuhnValid(%s) = false", p)
		}
		if d := LuhnDigit(p[:len(p)-1]); d != p[len(p)-1] {
			t.Errorf("LuhnDigit(%s) = %c, want %c", p[:len(p)-1], d, p[len(p)-1])
		}
	}
	for _, p := range []string{"", "0", "79927398710", "4111111111111112", "41111111111111a1", "6210 0000 0000 0011"} {
		if LuhnValid(p) {
			t.Errorf("LuhnValid(%q) = true", p)
		}
	}
	// Exactly one check digit fits any body.
	for _, body := range []string{"0", "7992739871", "621000000000001", "62200000000000"} {
		n := 0
		for d := byte('0'); d <= '9'; d++ {
			if LuhnValid(body + string(d)) {
				n++
			}
		}
		if n != 1 || !LuhnValid(body+string(LuhnDigit(body))) {
			t.Errorf("body %s: %d valid check digits, LuhnDigit %c", body, n, LuhnDigit(body))
		}
	}
	if LuhnDigit("12x") != '0' {
		t.Errorf("LuhnDigit of a non-digit body")
	}
}
