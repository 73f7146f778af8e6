package terminal

import (
	"errors"
	"strings"
	"testing"
)

func TestParseYuan(t *testing.T) {
	good := map[string]Fen{
		"12.50": 1250, "12": 1200, "0.05": 5, "12.5": 1250, "0": 0, "0.00": 0, "007.10": 710,
		"9999999999.99": 999_999_999_999, "1.": -1,
	}
	delete(good, "1.")
	for in, want := range good {
		got, err := ParseYuan(in)
		if err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.", ".5", "1.234", "+1", "-1", "1,00", "12a", " 12", "12 ", "1e3", "1..2",
		"10000000000.00", "99999999999999999999", "0x10", "１２", "1.2.3"} {
		_, err := ParseYuan(in)
		if err == nil || !errors.Is(err, ErrBadAmount) {
			t.Errorf("ParseYuan(%q): err = %v, want ErrBadAmount", in, err)
			continue
		}
		if !strings.Contains(err.Error(), "\""+in+"\"") && len(in) <= 20 {
			t.Errorf("ParseYuan(%q): error %q does not name the value", in, err)
		}
	}
}

func TestFenString(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 1250: "12.50", -5: "-0.05", -1250: "-12.50", 100: "1.00"} {
		if got := f.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(f), got, want)
		}
	}
	// Round trip over a spread of values.
	for f := Fen(0); f < 100_000; f += 37 {
		back, err := ParseYuan(f.String())
		if err != nil || back != f {
			t.Fatalf("%d -> %q -> %d, %v", int64(f), f.String(), back, err)
		}
	}
}
