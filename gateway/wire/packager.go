package wire

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// Packager packs and unpacks messages in one of the contract's encodings.
// Packagers are stateless and safe for concurrent use.
type Packager interface {
	Name() string
	Pack(m *Message) ([]byte, error)
	Unpack(b []byte) (*Message, error) // structural errors only; trailing bytes are an error
	// UnpackInto is Unpack into m: its fields are replaced and its
	// Fields map, cleared, is reused, so a caller that recycles messages
	// unpacks without building a map. On an error m's content is
	// unspecified.
	UnpackInto(b []byte, m *Message) error
}

// Packagers lists the packager names NewPackager accepts; the first is the
// default.
var Packagers = []string{"ascii", "ascii-hexbitmap", "bcd"}

// NewPackager returns the packager with the given name: "ascii",
// "ascii-hexbitmap" or "bcd".
func NewPackager(name string) (Packager, error) {
	for _, p := range packagers {
		if p.name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("wire: unknown packager %q (want one of %q)", name, Packagers)
}

// ErrMalformed is matched (errors.Is) by every error Unpack returns: the
// bytes are not a message of the packager's layout, and the host closes the
// connection without an answer.
var ErrMalformed = errors.New("wire: malformed message")

// ErrPack is matched by every error Pack returns.
var ErrPack = errors.New("wire: cannot pack message")

// Element numbers a FieldError may name besides a data field (2–128).
const (
	ElemMessage = -1 // the message as a whole (trailing bytes, nil message)
	ElemMTI     = 0  // the MTI
	ElemBitmap  = 1  // the primary or secondary bitmap
)

// FieldError says which element of a message could not be packed or
// unpacked, and why. It never carries a value: Error() is safe to log.
type FieldError struct {
	Op     string // "pack" or "unpack"
	Field  int    // 2–128, or ElemMessage, ElemMTI, ElemBitmap
	Reason string // a fixed phrase, no data
}

func (e *FieldError) Error() string {
	switch e.Field {
	case ElemMessage:
		return "wire: " + e.Op + ": " + e.Reason
	case ElemMTI:
		return "wire: " + e.Op + ": MTI: " + e.Reason
	case ElemBitmap:
		return "wire: " + e.Op + ": bitmap: " + e.Reason
	}
	return fmt.Sprintf("wire: %s: field %d: %s", e.Op, e.Field, e.Reason)
}

// Unwrap returns ErrMalformed for unpack errors and ErrPack for pack errors.
func (e *FieldError) Unwrap() error {
	if e.Op == "unpack" {
		return ErrMalformed
	}
	return ErrPack
}

func unpackErr(field int, reason string) error {
	return &FieldError{Op: "unpack", Field: field, Reason: reason}
}

func packErr(field int, reason string) error {
	return &FieldError{Op: "pack", Field: field, Reason: reason}
}

// fieldCodec is one field of a spec, compiled for the fast path.
type fieldCodec struct {
	spec  *field.Spec
	enc   appendCodec
	pref  appendPrefixer // nil for a fixed-length field
	fixed bool
}

// packager drives a moov spec: it reads the MTI, the bitmaps and the fields
// in bitmap order with the spec's encoders and prefixers, and checks what
// moov's Message does not (trailing bytes, unknown fields, a third bitmap).
type packager struct {
	name    string
	mti     fieldCodec
	bitmap  bitmapCodec
	fields  [129]*fieldCodec
	defined [2]uint64 // bits of the fields in the spec (bit 1 included)
}

var packagers = func() []*packager {
	ps := make([]*packager, len(specs))
	for i, s := range specs {
		ps[i] = compile(s)
	}
	return ps
}()

// compile checks a spec literal and builds its packager. The specs are
// package data, so a bad one is a programming error and panics at init.
func compile(s *iso8583.MessageSpec) *packager {
	p := &packager{name: s.Name}
	for n, f := range s.Fields {
		spec := f.Spec()
		switch {
		case n == 0:
			p.mti = mustCodec(s.Name, n, spec)
			if !p.mti.fixed || spec.Length != 4 {
				panic(fmt.Sprintf("wire: spec %s: MTI must be fixed, 4 long", s.Name))
			}
		case n == 1:
			bc, ok := spec.Enc.(bitmapCodec)
			if !ok || spec.Length != 8 {
				panic(fmt.Sprintf("wire: spec %s: bitmap needs a bitmapCodec, 8 bytes", s.Name))
			}
			p.bitmap = bc
			p.defined[0] |= 1 << 63
		case n >= 2 && n <= 128:
			c := mustCodec(s.Name, n, spec)
			p.fields[n] = &c
			p.defined[(n-1)/64] |= 1 << (63 - uint(n-1)%64)
		default:
			panic(fmt.Sprintf("wire: spec %s: field %d out of range", s.Name, n))
		}
	}
	if len(s.Fields)-2 > maxSpans {
		panic(fmt.Sprintf("wire: spec %s: more than %d data fields", s.Name, maxSpans))
	}
	if p.bitmap == nil || p.mti.enc == nil {
		panic(fmt.Sprintf("wire: spec %s: needs fields 0 and 1", s.Name))
	}
	return p
}

func mustCodec(name string, n int, spec *field.Spec) fieldCodec {
	enc, ok := spec.Enc.(appendCodec)
	if !ok {
		panic(fmt.Sprintf("wire: spec %s: field %d: encoder has no fast path", name, n))
	}
	c := fieldCodec{spec: spec, enc: enc}
	if ap, ok := spec.Pref.(appendPrefixer); ok {
		if spec.Length >= pow10(ap.maxDigits()) {
			panic(fmt.Sprintf("wire: spec %s: field %d: maximum does not fit its prefix", name, n))
		}
		c.pref = ap
		return c
	}
	// Any other prefixer must be a fixed one: it reads nothing and yields
	// the spec's length (moov's prefix.*.Fixed do exactly that).
	l, read, err := spec.Pref.DecodeLength(spec.Length, nil)
	if err != nil || read != 0 || l != spec.Length {
		panic(fmt.Sprintf("wire: spec %s: field %d: prefixer is neither fixed nor ours", name, n))
	}
	c.fixed = true
	return c
}

func (p *packager) Name() string { return p.name }

// Pack encodes m. The bitmaps (and field 1) follow from which fields are
// present. An n field shorter than its fixed length is zero-padded (on the
// left; bcd field 22 on the right); any other value of the wrong length, a
// value the encoding cannot carry (a letter other than A–F in a bcd n
// field), a field the spec does not list, or an MTI that is not 4 digits is
// an error naming the field and the problem, never the value.
func (p *packager) Pack(m *Message) ([]byte, error) {
	if m == nil {
		return nil, packErr(ElemMessage, "nil message")
	}
	if len(m.MTI) != 4 {
		return nil, packErr(ElemMTI, "not 4 decimal digits")
	}
	for i := 0; i < len(m.MTI); i++ {
		if c := m.MTI[i]; c < '0' || c > '9' {
			return nil, packErr(ElemMTI, "not 4 decimal digits")
		}
	}

	// Which fields, and an upper bound of the packed size. Of several bad
	// field numbers the lowest is reported, whatever the map order.
	var bm [2]uint64
	size := 4 + 2*16
	bad, badErr := 0, error(nil)
	for n, v := range m.Fields {
		var err error
		switch {
		case n == 1:
			err = packErr(ElemBitmap, "field 1 (secondary bitmap) is set by Pack, not by the caller")
		case n < 2 || n > 128:
			err = packErr(ElemMessage, fmt.Sprintf("field number %d out of range 2-128", n))
		case p.fields[n] == nil:
			err = packErr(n, "field not in the "+p.name+" spec")
		}
		if err != nil {
			if badErr == nil || n < bad {
				bad, badErr = n, err
			}
			continue
		}
		bm[(n-1)/64] |= 1 << (63 - uint(n-1)%64)
		if c := p.fields[n]; c.fixed {
			size += max(len(v), c.spec.Length)
		} else {
			size += 3 + len(v)
		}
	}
	if badErr != nil {
		return nil, badErr
	}
	if bm[1] != 0 {
		bm[0] |= 1 << 63
	}

	dst := make([]byte, 0, size)
	dst, _ = p.mti.enc.appendEncode(dst, m.MTI) // digits: cannot fail
	dst = p.bitmap.appendBitmap(dst, bm[0])
	if bm[1] != 0 {
		dst = p.bitmap.appendBitmap(dst, bm[1])
	}
	bm[0] &^= 1 << 63
	for w := range bm {
		for word := bm[w]; word != 0; {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << (63 - uint(lz))
			n := w*64 + lz + 1
			var err error
			if dst, err = p.packField(dst, n, p.fields[n], m.Fields[n]); err != nil {
				return nil, err
			}
		}
	}
	return dst, nil
}

func (p *packager) packField(dst []byte, n int, c *fieldCodec, v string) ([]byte, error) {
	spec := c.spec
	if len(v) > spec.Length {
		if c.fixed {
			return nil, packErr(n, fmt.Sprintf("value longer than its fixed length %d", spec.Length))
		}
		return nil, packErr(n, fmt.Sprintf("value longer than its maximum length %d", spec.Length))
	}
	if c.fixed && len(v) < spec.Length {
		if spec.Pad == nil {
			return nil, packErr(n, fmt.Sprintf("value shorter than its fixed length %d", spec.Length))
		}
		v = string(spec.Pad.Pad([]byte(v), spec.Length)) // rare: allocates
	}
	var err error
	if c.pref != nil {
		if dst, err = c.pref.appendLength(dst, spec.Length, len(v)); err != nil {
			return nil, packErr(n, err.Error())
		}
	}
	if dst, err = c.enc.appendEncode(dst, v); err != nil {
		return nil, packErr(n, err.Error())
	}
	return dst, nil
}

// span locates one decoded field value in the scratch buffer.
type span struct {
	n          int
	start, end int
}

// maxSpans bounds the fields of one message: a spec lists at most this
// many data fields (compile checks; the contract's table has 29). Unpack
// keeps its spans on the stack, and the stack of the goroutine that
// unpacks is every connection's: 32 spans, not 128, keep it small.
const maxSpans = 32

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 2*MaxFrameBytes); return &b }}

// Unpack decodes b. It checks structure only (see the package doc): a
// non-numeric MTI, a bitmap naming a field the spec does not list (a third
// bitmap included), a length prefix that is not decimal or exceeds the
// field's maximum, a prefix or field that overruns b, and bytes left after
// the last field are errors matching ErrMalformed. Field content is not
// checked. The Message does not alias b.
func (p *packager) Unpack(b []byte) (*Message, error) {
	m := &Message{}
	if err := p.UnpackInto(b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// UnpackInto is Unpack into m (see Packager).
func (p *packager) UnpackInto(b []byte, m *Message) error {
	bufp := scratchPool.Get().(*[]byte)
	buf := (*bufp)[:0]
	defer func() {
		if cap(buf) <= 1<<16 {
			*bufp = buf[:0]
			scratchPool.Put(bufp)
		}
	}()

	var err error
	var read int
	if buf, read, err = p.mti.enc.appendDecode(buf, b, 4); err != nil {
		return unpackErr(ElemMTI, err.Error())
	}
	if !cardnum.Digits(string(buf[:4])) {
		return unpackErr(ElemMTI, "not 4 decimal digits")
	}
	off := read

	var bm [2]uint64
	if bm[0], read, err = p.bitmap.decodeBitmap(b[off:]); err != nil {
		return unpackErr(ElemBitmap, "primary bitmap "+err.Error())
	}
	off += read
	if bm[0]&(1<<63) != 0 {
		if bm[1], read, err = p.bitmap.decodeBitmap(b[off:]); err != nil {
			return unpackErr(ElemBitmap, "secondary bitmap "+err.Error())
		}
		off += read
	}
	for w := range bm {
		if unknown := bm[w] &^ p.defined[w]; unknown != 0 {
			n := w*64 + bits.LeadingZeros64(unknown) + 1
			return unpackErr(n, "field not in the "+p.name+" spec")
		}
	}
	bm[0] &^= 1 << 63

	var spans [maxSpans]span
	count := 0
	for w := range bm {
		for word := bm[w]; word != 0; {
			lz := bits.LeadingZeros64(word)
			word &^= 1 << (63 - uint(lz))
			n := w*64 + lz + 1
			c := p.fields[n]
			length := c.spec.Length
			if c.pref != nil {
				if length, read, err = c.pref.DecodeLength(c.spec.Length, b[off:]); err != nil {
					if err == errOverrun {
						return unpackErr(n, "length prefix overruns the message")
					}
					return unpackErr(n, err.Error())
				}
				off += read
			}
			start := len(buf)
			if buf, read, err = c.enc.appendDecode(buf, b[off:], length); err != nil {
				return unpackErr(n, "value "+err.Error())
			}
			off += read
			spans[count] = span{n: n, start: start, end: len(buf)}
			count++
		}
	}
	if off != len(b) {
		return unpackErr(ElemMessage, fmt.Sprintf("%d bytes after the last field", len(b)-off))
	}

	s := string(buf) // the one copy: every value is a substring of s
	m.MTI = s[:4]
	if m.Fields == nil {
		m.Fields = make(map[int]string, count)
	} else {
		clear(m.Fields)
	}
	for _, sp := range spans[:count] {
		m.Fields[sp.n] = s[sp.start:sp.end]
	}
	return nil
}
