package wire

import (
	"errors"
	"slices"
	"strings"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/prefix"
)

// This file holds the encoders and length prefixers the specs in spec.go are
// built from. Each implements moov-io's encoding.Encoder or prefix.Prefixer,
// so the specs are ordinary moov message specs (the tests pack them with
// moov's own iso8583.Message as a cross-check). They exist because the stock
// ones do not fit the contract:
//
//   - encoding.ASCII rejects bytes above 0x7F and encoding.BCD rejects the
//     nibbles A–F, but Unpack must not judge content: an n field with a letter
//     unpacks, and the gateway's validator answers 30 for it;
//   - encoding.BCD cannot carry the track-2 separator ('=' as nibble 0xD);
//   - prefix.ASCII accepts "+5" as a length (strconv.Atoi) and prefix.BCD
//     ignores the top nibble of a 2-byte LLL prefix;
//   - every stock encoder allocates a fresh slice per field (encoding.Binary
//     copies the whole rest of the message on each Decode).
//
// Besides moov's interfaces they implement appendCodec / appendPrefixer /
// bitmapCodec, which append into a caller's buffer: Pack and Unpack use only
// those, so a message costs a handful of allocations, not several per field.

// Reasons given by the encoders and prefixers. They are fixed strings: no
// value from a message ever reaches an error (house rule 5).
var (
	errOverrun     = errors.New("overruns the message")
	errPrefixDigit = errors.New("length prefix is not decimal")
	errPrefixMax   = errors.New("length prefix above the field maximum")
	errTooLong     = errors.New("value longer than the field maximum")
	errNotBCD      = errors.New("value has a character that packed BCD cannot carry")
	errNotHex      = errors.New("is not hexadecimal")
)

// appendCodec is the allocation-free side of a field encoder.
type appendCodec interface {
	encoding.Encoder
	// appendEncode appends the encoding of v (len(v) units) to dst.
	appendEncode(dst []byte, v string) ([]byte, error)
	// appendDecode appends the decoded value of length units read from
	// src to dst, and returns the number of bytes of src read.
	appendDecode(dst, src []byte, length int) ([]byte, int, error)
}

// appendPrefixer is the allocation-free side of a variable-length prefixer.
// DecodeLength from prefix.Prefixer is already allocation-free.
type appendPrefixer interface {
	prefix.Prefixer
	appendLength(dst []byte, maxLen, length int) ([]byte, error)
	maxDigits() int
}

// bitmapCodec packs and unpacks one 64-bit bitmap (bit 1 is the most
// significant bit).
type bitmapCodec interface {
	encoding.Encoder
	appendBitmap(dst []byte, bits uint64) []byte
	decodeBitmap(src []byte) (bits uint64, read int, err error)
}

// rawEncoder copies bytes as they are: ASCII text and digits in the ascii
// packagers, text in bcd, and binary (b) fields everywhere. It checks
// nothing about content.
type rawEncoder struct{}

var (
	_ appendCodec = rawEncoder{}

	encASCII  appendCodec = rawEncoder{} // n, z, an, ans as ASCII characters
	encBinary appendCodec = rawEncoder{} // b fields: raw bytes
)

func (rawEncoder) Encode(src []byte) ([]byte, error) {
	return append([]byte{}, src...), nil
}

func (e rawEncoder) Decode(src []byte, length int) ([]byte, int, error) {
	return e.appendDecode(nil, src, length)
}

func (rawEncoder) appendEncode(dst []byte, v string) ([]byte, error) {
	return append(dst, v...), nil
}

func (rawEncoder) appendDecode(dst, src []byte, length int) ([]byte, int, error) {
	if length < 0 || length > len(src) {
		return dst, 0, errOverrun
	}
	return append(dst, src[:length]...), length, nil
}

// bcdEncoder packs digits two to a byte. The length it is given counts
// characters (digits). An odd count leaves one pad nibble: before the first
// digit when the value is right-aligned, after the last when left-aligned.
//
// Decoding never fails on content: nibbles A–F come back as the letters
// 'A'–'F' (or '=' for 0xD in track 2), so the validator can reject them and
// an echo packs them back unchanged; the pad nibble is not checked. Encoding
// accepts '0'–'9' and 'A'–'F' (and '=' in track 2), nothing else.
type bcdEncoder struct {
	left   bool // left-aligned: the pad nibble follows the last digit
	pad    byte // pad nibble
	track2 bool // '=' is nibble 0xD, and 0xD decodes as '='
}

var (
	_ appendCodec = bcdEncoder{}

	// encBCDRight: fixed n fields, "0" pad nibble on the left (n3 "156" = 01 56).
	encBCDRight appendCodec = bcdEncoder{}
	// encBCDLeft: LLVAR n fields and field 22, "0" pad nibble on the right
	// (n3 "051" = 05 10).
	encBCDLeft appendCodec = bcdEncoder{left: true}
	// encBCDTrack2: track 2, '=' as 0xD, "F" pad nibble on the right.
	encBCDTrack2 appendCodec = bcdEncoder{left: true, pad: 0xF, track2: true}
)

func (e bcdEncoder) Encode(src []byte) ([]byte, error) {
	return e.appendEncode(nil, string(src))
}

func (e bcdEncoder) Decode(src []byte, length int) ([]byte, int, error) {
	return e.appendDecode(nil, src, length)
}

func (e bcdEncoder) nibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c == '=' && e.track2:
		return 0xD, true
	}
	return 0, false
}

func (e bcdEncoder) char(n byte) byte {
	switch {
	case n < 10:
		return '0' + n
	case n == 0xD && e.track2:
		return '='
	}
	return 'A' + n - 10
}

func (e bcdEncoder) appendEncode(dst []byte, v string) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, (len(v)+1)/2)
	i := 0
	if len(v)%2 == 1 && !e.left {
		lo, ok := e.nibble(v[0])
		if !ok {
			return dst[:start], errNotBCD
		}
		dst = append(dst, e.pad<<4|lo)
		i = 1
	}
	for ; i+1 < len(v); i += 2 {
		hi, ok1 := e.nibble(v[i])
		lo, ok2 := e.nibble(v[i+1])
		if !ok1 || !ok2 {
			return dst[:start], errNotBCD
		}
		dst = append(dst, hi<<4|lo)
	}
	if i < len(v) { // left-aligned, odd: last digit then the pad nibble
		hi, ok := e.nibble(v[i])
		if !ok {
			return dst[:start], errNotBCD
		}
		dst = append(dst, hi<<4|e.pad)
	}
	return dst, nil
}

func (e bcdEncoder) appendDecode(dst, src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return dst, 0, errOverrun
	}
	nb := (length + 1) / 2
	if nb > len(src) {
		return dst, 0, errOverrun
	}
	dst = slices.Grow(dst, length)
	odd := length%2 == 1
	for i, b := range src[:nb] {
		if !(odd && !e.left && i == 0) {
			dst = append(dst, e.char(b>>4))
		}
		if !(odd && e.left && i == nb-1) {
			dst = append(dst, e.char(b&0x0F))
		}
	}
	return dst, nb, nil
}

// binaryBitmap is a bitmap sent as 8 raw bytes.
type binaryBitmap struct{}

// hexBitmap is a bitmap sent as 16 ASCII hex characters (upper case on
// Pack; either case accepted on Unpack).
type hexBitmap struct{}

var (
	_ bitmapCodec = binaryBitmap{}
	_ bitmapCodec = hexBitmap{}
)

func (binaryBitmap) Encode(src []byte) ([]byte, error) {
	return append([]byte{}, src...), nil
}

func (binaryBitmap) Decode(src []byte, length int) ([]byte, int, error) {
	return rawEncoder{}.appendDecode(nil, src, length)
}

func (binaryBitmap) appendBitmap(dst []byte, bits uint64) []byte {
	return append(dst,
		byte(bits>>56), byte(bits>>48), byte(bits>>40), byte(bits>>32),
		byte(bits>>24), byte(bits>>16), byte(bits>>8), byte(bits))
}

func (binaryBitmap) decodeBitmap(src []byte) (uint64, int, error) {
	if len(src) < 8 {
		return 0, 0, errOverrun
	}
	var bits uint64
	for _, b := range src[:8] {
		bits = bits<<8 | uint64(b)
	}
	return bits, 8, nil
}

const hexDigits = "0123456789ABCDEF"

// Encode turns bitmap bytes into upper-case hex (moov's interface: the
// length of a Decode is in bytes of bitmap, 2 characters each).
func (hexBitmap) Encode(src []byte) ([]byte, error) {
	out := make([]byte, 0, 2*len(src))
	for _, b := range src {
		out = append(out, hexDigits[b>>4], hexDigits[b&0x0F])
	}
	return out, nil
}

func (hexBitmap) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 || 2*length > len(src) {
		return nil, 0, errOverrun
	}
	out := make([]byte, length)
	for i := range out {
		hi, ok1 := unhex(src[2*i])
		lo, ok2 := unhex(src[2*i+1])
		if !ok1 || !ok2 {
			return nil, 0, errNotHex
		}
		out[i] = hi<<4 | lo
	}
	return out, 2 * length, nil
}

func (hexBitmap) appendBitmap(dst []byte, bits uint64) []byte {
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[bits>>uint(shift)&0x0F])
	}
	return dst
}

func (hexBitmap) decodeBitmap(src []byte) (uint64, int, error) {
	if len(src) < 16 {
		return 0, 0, errOverrun
	}
	var bits uint64
	for _, c := range src[:16] {
		n, ok := unhex(c)
		if !ok {
			return 0, 0, errNotHex
		}
		bits = bits<<4 | uint64(n)
	}
	return bits, 16, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// asciiPrefixer is an LL/LLL length sent as ASCII decimal digits. Unlike
// prefix.ASCII it accepts nothing but digits ("+5", " 5" are errors).
type asciiPrefixer struct{ digits int }

// bcdPrefixer is an LL (1 byte) or LLL (2 bytes) length in packed BCD,
// right-aligned. Every nibble must be decimal, the pad nibble included, and
// counts: a LLL prefix 10 00 is 1000, above any maximum.
type bcdPrefixer struct{ digits int }

var (
	_ appendPrefixer = asciiPrefixer{}
	_ appendPrefixer = bcdPrefixer{}

	prefASCIILL  appendPrefixer = asciiPrefixer{digits: 2}
	prefASCIILLL appendPrefixer = asciiPrefixer{digits: 3}
	prefBCDLL    appendPrefixer = bcdPrefixer{digits: 2}
	prefBCDLLL   appendPrefixer = bcdPrefixer{digits: 3}
)

func (p asciiPrefixer) EncodeLength(maxLen, length int) ([]byte, error) {
	return p.appendLength(nil, maxLen, length)
}

func (p asciiPrefixer) appendLength(dst []byte, maxLen, length int) ([]byte, error) {
	if length < 0 || length > maxLen || length >= pow10(p.digits) {
		return dst, errTooLong
	}
	for d := pow10(p.digits - 1); d > 0; d /= 10 {
		dst = append(dst, byte('0'+length/d%10))
	}
	return dst, nil
}

func (p asciiPrefixer) DecodeLength(maxLen int, src []byte) (int, int, error) {
	if len(src) < p.digits {
		return 0, 0, errOverrun
	}
	n := 0
	for _, c := range src[:p.digits] {
		if c < '0' || c > '9' {
			return 0, 0, errPrefixDigit
		}
		n = n*10 + int(c-'0')
	}
	if n > maxLen {
		return 0, 0, errPrefixMax
	}
	return n, p.digits, nil
}

func (p asciiPrefixer) Inspect() string { return "ASCII." + strings.Repeat("L", p.digits) }
func (p asciiPrefixer) maxDigits() int  { return p.digits }

func (p bcdPrefixer) bytes() int { return (p.digits + 1) / 2 }

func (p bcdPrefixer) EncodeLength(maxLen, length int) ([]byte, error) {
	return p.appendLength(nil, maxLen, length)
}

func (p bcdPrefixer) appendLength(dst []byte, maxLen, length int) ([]byte, error) {
	if length < 0 || length > maxLen || length >= pow10(p.digits) {
		return dst, errTooLong
	}
	for i := p.bytes() - 1; i >= 0; i-- {
		pair := length / pow10(2*i) % 100
		dst = append(dst, byte(pair/10)<<4|byte(pair%10))
	}
	return dst, nil
}

func (p bcdPrefixer) DecodeLength(maxLen int, src []byte) (int, int, error) {
	nb := p.bytes()
	if len(src) < nb {
		return 0, 0, errOverrun
	}
	n := 0
	for _, b := range src[:nb] {
		hi, lo := b>>4, b&0x0F
		if hi > 9 || lo > 9 {
			return 0, 0, errPrefixDigit
		}
		n = n*100 + int(hi)*10 + int(lo)
	}
	if n > maxLen {
		return 0, 0, errPrefixMax
	}
	return n, nb, nil
}

func (p bcdPrefixer) Inspect() string { return "BCD." + strings.Repeat("L", p.digits) }
func (p bcdPrefixer) maxDigits() int  { return p.digits }

func pow10(n int) int {
	r := 1
	for range n {
		r *= 10
	}
	return r
}
