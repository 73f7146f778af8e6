package terminal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// track.go: what a magstripe reader in keyboard mode ("keyboard wedge")
// types for one swipe, parsed into a Card whose track 2 goes out as
// field 35.

// ErrBadTrack: swiped track data that is not a valid track 1 or track 2.
// Its messages name the track, the element and the fault, and a PAN
// only masked; never the track text.
var ErrBadTrack = errors.New("invalid track data")

// Limits of ISO/IEC 7813 tracks, sentinels included.
const (
	maxTrack1Chars = 79
	maxTrack2Chars = 40
	maxNameChars   = 26
	// MaxSwipeBytes bounds one swipe's text (both tracks, their LRCs and
	// a line ending), so that a reader stuck typing cannot fill memory.
	MaxSwipeBytes = 256
)

// ParseSwipe parses one swipe: track 1 (%B PAN ^ NAME ^ YYMM service
// discretionary ?), track 2 (; PAN = YYMM service discretionary ?), or
// track 1 then track 2, as a keyboard-mode reader types them; a trailing
// line ending is ignored. Each track may be followed by its LRC
// character, which is then checked (track 1: XOR of the 6-bit values,
// character minus 0x20; track 2: XOR of the 4-bit values, character minus
// 0x30, sentinels included). A character after track 1's end sentinel is
// its LRC unless it is ';', which starts track 2. The PAN must be 12 to
// 19 digits with a valid Luhn check digit; with both tracks their PAN
// and expiry must agree. The Card carries track 2 (from track 1's PAN,
// expiry, service code and digit-only discretionary data when only track
// 1 was read).
func ParseSwipe(s string) (Card, error) {
	s = strings.TrimRight(s, "\r\n")
	if len(s) > MaxSwipeBytes {
		return Card{}, fmt.Errorf("%w: %d characters, more than %d", ErrBadTrack, len(s), MaxSwipeBytes)
	}
	if s == "" {
		return Card{}, fmt.Errorf("%w: nothing swiped", ErrBadTrack)
	}
	var t1, t2 *Card
	rest := s
	if strings.HasPrefix(rest, "%") {
		c, n, err := parseTrack1(rest)
		if err != nil {
			return Card{}, err
		}
		t1, rest = &c, rest[n:]
	}
	if strings.HasPrefix(rest, ";") {
		c, n, err := parseTrack2(rest)
		if err != nil {
			return Card{}, err
		}
		t2, rest = &c, rest[n:]
	}
	switch {
	case rest != "" && t1 == nil && t2 == nil:
		return Card{}, fmt.Errorf("%w: want track 1 starting with %% or track 2 starting with ;", ErrBadTrack)
	case rest != "":
		return Card{}, fmt.Errorf("%w: %d unexpected characters after the last track", ErrBadTrack, len(rest))
	case t1 != nil && t2 != nil && (t1.PAN != t2.PAN || t1.Expiry != t2.Expiry):
		return Card{}, fmt.Errorf("%w: track 1 and track 2 name different cards or expiries (%s, %s)", ErrBadTrack,
			cardnum.Mask(t1.PAN), cardnum.Mask(t2.PAN))
	case t2 != nil:
		return *t2, nil
	}
	return *t1, nil
}

// parseTrack1 parses %B PAN ^ NAME ^ YYMM SSS DD… ? [LRC] at the start of
// s and returns the card and the characters taken.
func parseTrack1(s string) (Card, int, error) {
	end := strings.IndexByte(s, '?')
	if end < 0 {
		return Card{}, 0, fmt.Errorf("%w: track 1: no end sentinel '?'", ErrBadTrack)
	}
	if end+1 > maxTrack1Chars {
		return Card{}, 0, fmt.Errorf("%w: track 1: %d characters, more than %d", ErrBadTrack, end+1, maxTrack1Chars)
	}
	body := s[1:end]
	if body == "E" {
		return Card{}, 0, fmt.Errorf("%w: track 1: the reader reports a read error; swipe again", ErrBadTrack)
	}
	if body == "" || body[0] != 'B' {
		return Card{}, 0, fmt.Errorf("%w: track 1: format code is not B", ErrBadTrack)
	}
	parts := strings.Split(body[1:], "^")
	if len(parts) != 3 {
		return Card{}, 0, fmt.Errorf("%w: track 1: %d field separators '^', want 2", ErrBadTrack, len(parts)-1)
	}
	for i := 0; i < end+1; i++ {
		if s[i] < 0x20 || s[i] > 0x5F {
			return Card{}, 0, fmt.Errorf("%w: track 1: character %d is not in the track 1 character set", ErrBadTrack, i+1)
		}
	}
	pan, name, data := parts[0], parts[1], parts[2]
	if err := checkPAN("track 1", pan); err != nil {
		return Card{}, 0, err
	}
	if len(name) < 2 || len(name) > maxNameChars {
		return Card{}, 0, fmt.Errorf("%w: track 1: name of %d characters, want 2 to %d", ErrBadTrack, len(name), maxNameChars)
	}
	c, err := expiryService("track 1", pan, data)
	if err != nil {
		return Card{}, 0, err
	}
	if !cardnum.Digits(c.Discretionary) {
		c.Discretionary = "" // track 2 (z) carries digits only
	}
	n := end + 1
	if n < len(s) && s[n] != ';' {
		var x byte
		for i := 0; i < n; i++ {
			x ^= s[i] - 0x20
		}
		if s[n]-0x20 != x&0x3F {
			return Card{}, 0, fmt.Errorf("%w: track 1: LRC does not match (%s)", ErrBadTrack, cardnum.Mask(pan))
		}
		n++
	}
	return c, n, nil
}

// parseTrack2 parses ; PAN = YYMM SSS DD… ? [LRC] at the start of s.
func parseTrack2(s string) (Card, int, error) {
	end := strings.IndexByte(s, '?')
	if end < 0 {
		return Card{}, 0, fmt.Errorf("%w: track 2: no end sentinel '?'", ErrBadTrack)
	}
	if end+1 > maxTrack2Chars {
		return Card{}, 0, fmt.Errorf("%w: track 2: %d characters, more than %d", ErrBadTrack, end+1, maxTrack2Chars)
	}
	body := s[1:end]
	if body == "E" {
		return Card{}, 0, fmt.Errorf("%w: track 2: the reader reports a read error; swipe again", ErrBadTrack)
	}
	pan, data, ok := strings.Cut(body, "=")
	if !ok {
		return Card{}, 0, fmt.Errorf("%w: track 2: no field separator '='", ErrBadTrack)
	}
	if err := checkPAN("track 2", pan); err != nil {
		return Card{}, 0, err
	}
	if !cardnum.Digits(data) {
		return Card{}, 0, fmt.Errorf("%w: track 2: expiry, service code and discretionary data must be digits (%s)", ErrBadTrack, cardnum.Mask(pan))
	}
	c, err := expiryService("track 2", pan, data)
	if err != nil {
		return Card{}, 0, err
	}
	n := end + 1
	if n < len(s) {
		var x byte
		for i := 0; i < n; i++ {
			x ^= s[i] - 0x30
		}
		if s[n] < 0x30 || s[n] > 0x3F || s[n]-0x30 != x&0x0F {
			return Card{}, 0, fmt.Errorf("%w: track 2: LRC does not match (%s)", ErrBadTrack, cardnum.Mask(pan))
		}
		n++
	}
	return c, n, nil
}

func checkPAN(track, pan string) error {
	if !cardnum.Digits(pan) || len(pan) < 12 || len(pan) > 19 {
		return fmt.Errorf("%w: %s: PAN is not 12 to 19 digits (%d characters)", ErrBadTrack, track, len(pan))
	}
	if !cardnum.LuhnValid(pan) {
		return fmt.Errorf("%w: %s: PAN %s fails the Luhn check", ErrBadTrack, track, cardnum.Mask(pan))
	}
	return nil
}

// expiryService reads YYMM, the 3-digit service code and the rest as
// discretionary data, checking that track 2 fits field 35 (37 characters).
func expiryService(track, pan, data string) (Card, error) {
	if len(data) < 7 || !cardnum.Digits(data[:7]) {
		return Card{}, fmt.Errorf("%w: %s: want expiry YYMM and a 3-digit service code after the PAN (%s)", ErrBadTrack, track, cardnum.Mask(pan))
	}
	if mm := data[2:4]; mm < "01" || mm > "12" {
		return Card{}, fmt.Errorf("%w: %s: expiry month is not 01 to 12 (%s)", ErrBadTrack, track, cardnum.Mask(pan))
	}
	c := Card{PAN: pan, Expiry: data[:4], ServiceCode: data[4:7], Discretionary: data[7:]}
	if n := len(pan) + 1 + len(data); n > 37 && cardnum.Digits(c.Discretionary) {
		return Card{}, fmt.Errorf("%w: %s: %d characters of track 2 data, more than field 35's 37 (%s)", ErrBadTrack, track, n, cardnum.Mask(pan))
	}
	return c, nil
}
