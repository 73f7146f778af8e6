package terminal

import (
	"fmt"
	"math/bits"
)

// load_layout.go: where each field sits in a packed message, for the load
// generator's request templates (load_template.go) and answer reader
// (load_answer.go), which work on the packed bytes instead of packing
// and unpacking a wire.Message per request.
//
// The layouts are the contract's field table (shared/terminal-protocol.md
// section 2) as data, read the way package gateway/wire's three
// packagers read it. wire keeps its compiled specs to itself, so this is
// a second statement of them, held to the first by tests:
// FuzzScanMessage compares scanMessage with wire's Unpack on any input
// for every packager, and TestLoadTemplateBytes compares the templates'
// requests with wire's Pack byte for byte.

// fieldFormat is one field of the contract's table.
type fieldFormat struct {
	kind   byte // 'n' numeric, 'z' track 2, 'a' an/ans text, 'b' binary
	length int  // fixed length, or the maximum of an LL/LLL field (characters; bytes for b)
	prefix int  // 0 fixed, 2 LLVAR, 3 LLLVAR
}

// contractFields are the fields a message may carry (the contract's
// table and field 63, the host's loyalty field); any other is malformed.
var contractFields = [129]fieldFormat{
	2: {'n', 19, 2}, 3: {'n', 6, 0}, 4: {'n', 12, 0}, 7: {'n', 10, 0},
	11: {'n', 6, 0}, 12: {'n', 6, 0}, 13: {'n', 4, 0}, 14: {'n', 4, 0},
	22: {'n', 3, 0}, 23: {'n', 3, 0}, 25: {'n', 2, 0}, 35: {'z', 37, 2},
	37: {'a', 12, 0}, 38: {'a', 6, 0}, 39: {'a', 2, 0}, 41: {'a', 8, 0},
	42: {'a', 15, 0}, 48: {'a', 999, 3}, 49: {'n', 3, 0}, 52: {'b', 8, 0},
	54: {'a', 120, 3}, 55: {'b', 255, 3}, 60: {'a', 999, 3}, 62: {'b', 999, 3},
	63: {'a', 999, 3}, 64: {'b', 8, 0}, 70: {'n', 3, 0}, 90: {'n', 42, 0},
	128: {'b', 8, 0},
}

// Encodings of a field's value.
const (
	encRaw       = iota // bytes as they are: text, binary, and every field of the ascii packagers
	encBCDRight         // packed BCD, pad nibble 0 before the first digit (fixed n fields)
	encBCDLeft          // packed BCD, pad nibble 0 after the last digit (LLVAR n fields and field 22)
	encBCDTrack2        // packed BCD, '=' as 0xD, pad nibble F after the last digit
)

// fieldLayout is a field as one packager lays it out.
type fieldLayout struct {
	defined bool
	enc     uint8
	length  int // as in fieldFormat
	prefix  int // 0, 2 or 3 digits
}

// valueBytes is how many bytes a value of n characters takes.
func (f *fieldLayout) valueBytes(n int) int {
	if f.enc == encRaw {
		return n
	}
	return (n + 1) / 2
}

// msgLayout is a packager's layout of a whole message.
type msgLayout struct {
	name      string
	bcd       bool // MTI and n/z fields in packed BCD, prefixes in BCD
	hexBitmap bool // bitmaps as 16 ASCII hex characters, not 8 bytes
	fields    [129]fieldLayout
	defined   [2]uint64 // bitmap bits of the defined fields, bit 1 included
}

var msgLayouts = func() map[string]*msgLayout {
	m := map[string]*msgLayout{}
	for _, l := range []*msgLayout{
		{name: "ascii"},
		{name: "ascii-hexbitmap", hexBitmap: true},
		{name: "bcd", bcd: true},
	} {
		l.defined[0] = 1 << 63
		for n, f := range contractFields {
			if f.kind == 0 {
				continue
			}
			fl := fieldLayout{defined: true, length: f.length, prefix: f.prefix}
			if l.bcd {
				switch {
				case f.kind == 'z':
					fl.enc = encBCDTrack2
				case f.kind == 'n' && (f.prefix > 0 || n == 22):
					fl.enc = encBCDLeft
				case f.kind == 'n':
					fl.enc = encBCDRight
				}
			}
			l.fields[n] = fl
			l.defined[(n-1)/64] |= 1 << (63 - uint(n-1)%64)
		}
		m[l.name] = l
	}
	return m
}()

// layoutOf is the layout of the packager named name.
func layoutOf(name string) (*msgLayout, error) {
	if l, ok := msgLayouts[name]; ok {
		return l, nil
	}
	return nil, fmt.Errorf("packager %q has no field layout for the load generator", name)
}

// fieldSpan locates a field's value (after its length prefix) in a
// packed message: off and n in bytes, chars the value's length in
// characters (as a length prefix counts it).
type fieldSpan struct {
	off, n, chars int
}

// scannedMsg is a packed message's structure: its MTI, which fields it
// carries and where. Only the spans of present fields are meaningful;
// it is reused from message to message without being cleared.
type scannedMsg struct {
	mti     [4]byte
	present [2]uint64 // bitmap words, bit 1 (the secondary bitmap) cleared
	at      [129]fieldSpan
}

func (s *scannedMsg) has(n int) bool {
	return s.present[(n-1)/64]&(1<<(63-uint(n-1)%64)) != 0
}

// field is field n's value bytes in b (nil when absent). For a BCD field
// these are the packed bytes, not the digits.
func (s *scannedMsg) field(b []byte, n int) []byte {
	if !s.has(n) {
		return nil
	}
	sp := s.at[n]
	return b[sp.off : sp.off+sp.n]
}

// errScan is scanMessage's error: which element and why, never a value.
type errScan struct {
	field  int // 0 MTI, 1 bitmap, -1 the message, else the field
	reason string
}

func (e *errScan) Error() string {
	switch e.field {
	case -1:
		return "malformed message: " + e.reason
	case 0:
		return "malformed message: MTI: " + e.reason
	case 1:
		return "malformed message: bitmap: " + e.reason
	}
	return fmt.Sprintf("malformed message: field %d: %s", e.field, e.reason)
}

// scan locates every field of the packed message b in s. It accepts
// exactly what wire's Unpack accepts: an MTI of 4 decimal digits, a
// primary and (when bit 1 says so) secondary bitmap naming only defined
// fields, length prefixes of decimal digits within each field's maximum,
// no field overrunning b, and no byte after the last field. Content is
// not checked, as Unpack does not.
func (l *msgLayout) scan(b []byte, s *scannedMsg) error {
	off := 0
	if l.bcd {
		if len(b) < 2 {
			return &errScan{0, "overruns the message"}
		}
		for i := range 2 {
			hi, lo := b[i]>>4, b[i]&0x0F
			if hi > 9 || lo > 9 {
				return &errScan{0, "not 4 decimal digits"}
			}
			s.mti[2*i], s.mti[2*i+1] = '0'+hi, '0'+lo
		}
		off = 2
	} else {
		if len(b) < 4 {
			return &errScan{0, "overruns the message"}
		}
		for i := range 4 {
			if c := b[i]; c < '0' || c > '9' {
				return &errScan{0, "not 4 decimal digits"}
			}
		}
		copy(s.mti[:], b[:4])
		off = 4
	}
	var err error
	if s.present[0], off, err = l.bitmap(b, off); err != nil {
		return err
	}
	s.present[1] = 0
	if s.present[0]&(1<<63) != 0 {
		if s.present[1], off, err = l.bitmap(b, off); err != nil {
			return err
		}
	}
	for w := range s.present {
		if unknown := s.present[w] &^ l.defined[w]; unknown != 0 {
			return &errScan{w*64 + bits.LeadingZeros64(unknown) + 1, "field not in the spec"}
		}
	}
	s.present[0] &^= 1 << 63
	for w := range s.present {
		for word := s.present[w]; word != 0; {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << (63 - uint(lz))
			n := w*64 + lz + 1
			f := &l.fields[n]
			chars := f.length
			if f.prefix > 0 {
				if chars, off, err = l.lengthPrefix(b, off, f); err != nil {
					return &errScan{n, err.Error()}
				}
			}
			nb := f.valueBytes(chars)
			if nb > len(b)-off {
				return &errScan{n, "value overruns the message"}
			}
			s.at[n] = fieldSpan{off: off, n: nb, chars: chars}
			off += nb
		}
	}
	if off != len(b) {
		return &errScan{-1, fmt.Sprintf("%d bytes after the last field", len(b)-off)}
	}
	return nil
}

// bitmap reads one bitmap at off.
func (l *msgLayout) bitmap(b []byte, off int) (uint64, int, error) {
	var v uint64
	if !l.hexBitmap {
		if len(b)-off < 8 {
			return 0, 0, &errScan{1, "overruns the message"}
		}
		for _, c := range b[off : off+8] {
			v = v<<8 | uint64(c)
		}
		return v, off + 8, nil
	}
	if len(b)-off < 16 {
		return 0, 0, &errScan{1, "overruns the message"}
	}
	for _, c := range b[off : off+16] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return 0, 0, &errScan{1, "is not hexadecimal"}
		}
		v = v<<4 | uint64(d)
	}
	return v, off + 16, nil
}

type scanReason string

func (r scanReason) Error() string { return string(r) }

// lengthPrefix reads f's LL or LLL prefix at off: ASCII digits, or in
// BCD one byte (LL) or two (LLL), every nibble a decimal digit.
func (l *msgLayout) lengthPrefix(b []byte, off int, f *fieldLayout) (int, int, error) {
	n := 0
	if l.bcd {
		nb := (f.prefix + 1) / 2
		if len(b)-off < nb {
			return 0, 0, scanReason("length prefix overruns the message")
		}
		for _, c := range b[off : off+nb] {
			hi, lo := c>>4, c&0x0F
			if hi > 9 || lo > 9 {
				return 0, 0, scanReason("length prefix is not decimal")
			}
			n = n*100 + int(hi)*10 + int(lo)
		}
		off += nb
	} else {
		if len(b)-off < f.prefix {
			return 0, 0, scanReason("length prefix overruns the message")
		}
		for _, c := range b[off : off+f.prefix] {
			if c < '0' || c > '9' {
				return 0, 0, scanReason("length prefix is not decimal")
			}
			n = n*10 + int(c-'0')
		}
		off += f.prefix
	}
	if n > f.length {
		return 0, 0, scanReason("length prefix above the field maximum")
	}
	return n, off, nil
}

// decodeField is the value of field n as wire's Unpack gives it: BCD
// unpacked to its digits, anything else as it is. It allocates; the
// load generator calls it only for what it keeps (an RRN) and tests.
func (l *msgLayout) decodeField(b []byte, s *scannedMsg, n int) (string, bool) {
	if !s.has(n) {
		return "", false
	}
	f := &l.fields[n]
	v := s.field(b, n)
	if f.enc == encRaw {
		return string(v), true
	}
	chars := s.at[n].chars
	out := make([]byte, 0, chars)
	odd := chars%2 == 1
	for i, c := range v {
		if !(odd && f.enc == encBCDRight && i == 0) {
			out = append(out, bcdChar(c>>4, f.enc))
		}
		if !(odd && f.enc != encBCDRight && i == len(v)-1) {
			out = append(out, bcdChar(c&0x0F, f.enc))
		}
	}
	return string(out), true
}

func bcdChar(nib byte, enc uint8) byte {
	switch {
	case nib < 10:
		return '0' + nib
	case nib == 0xD && enc == encBCDTrack2:
		return '='
	}
	return 'A' + nib - 10
}

// putValue writes v, a value of exactly the field's length in the
// template, over dst (the field's value bytes) in f's encoding. It
// reports false when v cannot be written so (a character BCD cannot
// carry, or a length that does not fill dst): the caller then packs the
// request the slow way.
func (f *fieldLayout) putValue(dst []byte, v string) bool {
	if f.enc == encRaw {
		if len(v) != len(dst) {
			return false
		}
		copy(dst, v)
		return true
	}
	if f.valueBytes(len(v)) != len(dst) {
		return false
	}
	i, j := 0, 0
	if len(v)%2 == 1 && f.enc == encBCDRight {
		lo, ok := bcdNibble(v[0], f.enc)
		if !ok {
			return false
		}
		dst[0] = lo
		i, j = 1, 1
	}
	for ; i+1 < len(v); i, j = i+2, j+1 {
		hi, ok1 := bcdNibble(v[i], f.enc)
		lo, ok2 := bcdNibble(v[i+1], f.enc)
		if !ok1 || !ok2 {
			return false
		}
		dst[j] = hi<<4 | lo
	}
	if i < len(v) {
		hi, ok := bcdNibble(v[i], f.enc)
		if !ok {
			return false
		}
		pad := byte(0)
		if f.enc == encBCDTrack2 {
			pad = 0xF
		}
		dst[j] = hi<<4 | pad
	}
	return true
}

func bcdNibble(c byte, enc uint8) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c == '=' && enc == encBCDTrack2:
		return 0xD, true
	}
	return 0, false
}

// putDigits writes v (>= 0) as a numeric field of width digits over dst,
// without formatting a string first: the STAN and the amount of every
// request. False when v does not fit or the field is not numeric.
func (f *fieldLayout) putDigits(dst []byte, v uint64, width int) bool {
	var d [20]byte
	if width < 1 || width > len(d) {
		return false
	}
	for i := width - 1; i >= 0; i-- {
		d[i] = '0' + byte(v%10)
		v /= 10
	}
	if v != 0 {
		return false
	}
	if f.enc == encRaw {
		if len(dst) != width {
			return false
		}
		copy(dst, d[:width])
		return true
	}
	if width%2 != 0 || len(dst) != width/2 {
		return false // odd widths go through putValue
	}
	for i := range dst {
		dst[i] = (d[2*i]-'0')<<4 | (d[2*i+1] - '0')
	}
	return true
}
