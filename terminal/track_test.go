package terminal

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

const trackPAN = "6210000000000011" // Luhn-valid test PAN

func lrc1(s string) string {
	var x byte
	for i := 0; i < len(s); i++ {
		x ^= s[i] - 0x20
	}
	return string(x&0x3F + 0x20)
}

func lrc2(s string) string {
	var x byte
	for i := 0; i < len(s); i++ {
		x ^= s[i] - 0x30
	}
	return string(x&0x0F + 0x30)
}

func TestParseSwipe(t *testing.T) {
	if !cardnum.LuhnValid(trackPAN) {
		t.Fatal("test PAN not Luhn-valid")
	}
	t1 := "%B" + trackPAN + "^MEMBER/ALICE^2912101000000?"
	t2 := ";" + trackPAN + "=29121010000?"
	want := Card{PAN: trackPAN, Expiry: "2912", ServiceCode: "101", Discretionary: "0000"}
	for _, in := range []string{t2, t2 + "\n", t1 + t2, t1 + t2 + "\r\n", t1 + lrc1(t1) + t2 + lrc2(t2), t2 + lrc2(t2)} {
		got, err := ParseSwipe(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %+v", in, err, got)
		}
	}
	if got, err := ParseSwipe(t1); err != nil || got.PAN != trackPAN || got.Expiry != "2912" || got.ServiceCode != "101" || got.Discretionary != "000000" {
		t.Errorf("track 1 only: %v %+v", err, got)
	}
	bad := "6210000000000019" // Luhn fails
	for in, msg := range map[string]string{
		"":                              "nothing swiped",
		"hello":                         "want track 1",
		";" + trackPAN + "=2912101":     "no end sentinel",
		";" + trackPAN + "2912101?":     "no field separator",
		";" + bad + "=2912101?":         "fails the Luhn check",
		";62100000=2912101?":            "not 12 to 19 digits",
		";" + trackPAN + "=2913101?":    "month",
		";" + trackPAN + "=29121?":      "service code",
		";" + trackPAN + "=2912101?0":   "LRC does not match",
		";E?":                           "read error",
		"%E?":                           "read error",
		"%A" + trackPAN + "^X^2912101?": "format code",
		"%B" + trackPAN + "^2912101?":   "separators",
		"%B" + trackPAN + "^X^2912101?": "name",
		t1 + ";" + strings.Replace(trackPAN, "11", "29", 1) + "=2912101?": "different cards",
		t2 + "xx":           "LRC does not match",
		t2 + lrc2(t2) + "x": "unexpected characters",
		";" + trackPAN + "=2912101" + strings.Repeat("0", 30) + "?": "more than",
	} {
		_, err := ParseSwipe(in)
		if err == nil || !errors.Is(err, ErrBadTrack) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
			continue
		}
		if strings.Contains(err.Error(), trackPAN) || strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), "ALICE") {
			t.Errorf("%q: error holds card data: %v", in, err)
		}
	}
}

var longDigits = regexp.MustCompile(`[0-9]{11,}`)

// FuzzParseSwipe: never panics; an error never carries 11 or more digits
// in a row (no clear PAN) nor the swiped text; a card it returns is a
// valid card whose track 2 fits field 35.
func FuzzParseSwipe(f *testing.F) {
	fuzzseed.Add(f, f.Name())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseSwipe(s)
		if err != nil {
			if !errors.Is(err, ErrBadTrack) || longDigits.MatchString(err.Error()) {
				t.Fatalf("error %q", err)
			}
			if len(s) > 8 && strings.Contains(err.Error(), strings.TrimRight(s, "\r\n")) {
				t.Fatalf("error holds the track")
			}
			return
		}
		if err := c.check(); err != nil || !cardnum.LuhnValid(c.PAN) || len(c.PAN) < 12 {
			t.Fatalf("card %v: %v", c, err)
		}
	})
}
