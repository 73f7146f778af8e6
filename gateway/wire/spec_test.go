package wire

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"
)

// contractField restates a row of the contract's field table (section 2),
// independently of spec.go.
type contractField struct {
	kind     string // n, z, an, ans, b
	length   int    // fixed length or maximum
	variable bool   // LL/LLL
}

var contractFields = map[int]contractField{
	2: {"n", 19, true}, 3: {"n", 6, false}, 4: {"n", 12, false}, 7: {"n", 10, false},
	11: {"n", 6, false}, 12: {"n", 6, false}, 13: {"n", 4, false}, 14: {"n", 4, false},
	22: {"n", 3, false}, 23: {"n", 3, false}, 25: {"n", 2, false}, 35: {"z", 37, true},
	37: {"an", 12, false}, 38: {"an", 6, false}, 39: {"an", 2, false}, 41: {"ans", 8, false},
	42: {"ans", 15, false}, 48: {"ans", 999, true}, 49: {"n", 3, false}, 52: {"b", 8, false},
	54: {"an", 120, true}, 55: {"b", 255, true}, 60: {"ans", 999, true}, 62: {"b", 999, true},
	64: {"b", 8, false}, 70: {"n", 3, false}, 90: {"n", 42, false}, 128: {"b", 8, false},
}

// hostFields are the host's own fields outside the contract's table:
// field 63, the opt-in loyalty tier (docs/protocol.md "Field 63"). The
// specs must declare them exactly so, and the random messages carry them.
var hostFields = map[int]contractField{63: {"ans", 999, true}}

func init() {
	for n, f := range hostFields {
		contractFields[n] = f
	}
}

func TestSpecMatchesContract(t *testing.T) {
	for i, s := range specs {
		if s.Name != Packagers[i] {
			t.Fatalf("spec %d is %q, want %q", i, s.Name, Packagers[i])
		}
		p := packagers[i]
		for n := 2; n <= 128; n++ {
			cf, inContract := contractFields[n]
			c := p.fields[n]
			if (c != nil) != inContract {
				t.Errorf("%s: field %d in spec %v, in contract %v", s.Name, n, c != nil, inContract)
				continue
			}
			if c == nil {
				continue
			}
			if c.spec.Length != cf.length || c.fixed == cf.variable {
				t.Errorf("%s: field %d: length %d fixed %v, contract %d variable %v", s.Name, n, c.spec.Length, c.fixed, cf.length, cf.variable)
			}
			if cf.variable {
				want := 2
				if cf.length > 99 {
					want = 3
				}
				if c.pref.maxDigits() != want {
					t.Errorf("%s: field %d: %d-digit prefix, want %d", s.Name, n, c.pref.maxDigits(), want)
				}
			}
			_, isBinary := s.Fields[n].(*field.Binary)
			if isBinary != (cf.kind == "b") {
				t.Errorf("%s: field %d: binary %v, contract kind %s", s.Name, n, isBinary, cf.kind)
			}
			if padded := c.spec.Pad != nil; padded != (cf.kind == "n" && !cf.variable) {
				t.Errorf("%s: field %d: padded %v, but kind %s", s.Name, n, padded, cf.kind)
			}
		}
	}
}

// randomMessage builds a message valid for the packager. Strict keeps to
// what the stock moov encoders accept (printable ASCII text, decimal
// digits); otherwise content is as wild as the packager can carry.
func randomMessage(r *rand.Rand, packager string, strict bool) *Message {
	m := NewMessage(fmt.Sprintf("%04d", r.IntN(10000)))
	for n, f := range contractFields {
		if r.IntN(2) == 0 {
			m.Set(n, randomValue(r, packager, f, strict))
		}
	}
	return m
}

func randomValue(r *rand.Rand, packager string, f contractField, strict bool) string {
	l := f.length
	if f.variable {
		l = r.IntN(f.length + 1)
		if r.IntN(4) == 0 {
			l = r.IntN(min(f.length, 40) + 1) // favour short ones
		}
	}
	bcd := packager == "bcd"
	var b strings.Builder
	for i := range l {
		var c byte
		switch {
		case f.kind == "b":
			c = byte(r.IntN(256))
		case !bcd && !strict:
			c = byte(r.IntN(256)) // ascii packagers carry any byte
		case f.kind == "n" || f.kind == "z":
			c = byte('0' + r.IntN(10))
			if f.kind == "z" && l > 1 && i == l/2 {
				c = '='
				if !bcd && r.IntN(2) == 0 {
					c = 'D'
				}
			}
			if bcd && !strict && r.IntN(8) == 0 {
				c = "ABCEF"[r.IntN(5)] // D would come back as '=' in track 2
				if f.kind == "n" {
					c = "ABCDEF"[r.IntN(6)]
				}
			}
		default: // an, ans in bcd, or strict
			c = byte(0x20 + r.IntN(0x5F))
			if bcd && !strict {
				c = byte(r.IntN(256))
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func equal(a, b *Message) bool {
	if a.MTI != b.MTI || len(a.Fields) != len(b.Fields) {
		return false
	}
	for n, v := range a.Fields {
		if w, ok := b.Fields[n]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRoundTrip: Unpack(Pack(m)) == m and Pack is a fixed point, for
// random valid messages in every packager.
func TestRoundTrip(t *testing.T) {
	for _, name := range Packagers {
		p, _ := NewPackager(name)
		r := rand.New(rand.NewPCG(1, uint64(len(name))))
		for i := range 3000 {
			m := randomMessage(r, name, i%2 == 0)
			b, err := p.Pack(m)
			if err != nil {
				t.Fatalf("%s #%d: Pack: %v", name, i, err)
			}
			m2, err := p.Unpack(b)
			if err != nil {
				t.Fatalf("%s #%d: Unpack(% X): %v", name, i, b, err)
			}
			if !equal(m, m2) {
				t.Fatalf("%s #%d: round trip changed the message\n in %v\nout %v", name, i, m.Fields, m2.Fields)
			}
			b2, err := p.Pack(m2)
			if err != nil || string(b2) != string(b) {
				t.Fatalf("%s #%d: repack differs (%v)", name, i, err)
			}
		}
	}
}

// moovPack packs m with moov-io's own iso8583.Message over spec: an
// independent implementation of bitmaps, field order and the field packer.
func moovPack(t *testing.T, spec *iso8583.MessageSpec, m *Message) []byte {
	t.Helper()
	mm := iso8583.NewMessage(spec)
	mm.MTI(m.MTI)
	for n, v := range m.Fields {
		var err error
		if _, ok := spec.Fields[n].(*field.Binary); ok {
			err = mm.BinaryField(n, []byte(v))
		} else {
			err = mm.Field(n, v)
		}
		if err != nil {
			t.Fatalf("moov: field %d: %v", n, err)
		}
	}
	b, err := mm.Pack()
	if err != nil {
		t.Fatalf("moov Pack: %v", err)
	}
	return b
}

// TestOurSpecsAreMoovSpecs: our specs drive moov-io's iso8583.Message to
// the same bytes as our packager, and moov unpacks ours to the same values.
func TestOurSpecsAreMoovSpecs(t *testing.T) {
	for i, spec := range specs {
		p := packagers[i]
		r := rand.New(rand.NewPCG(2, uint64(i)))
		for j := range 500 {
			m := randomMessage(r, spec.Name, true)
			want, err := p.Pack(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := moovPack(t, spec, m); string(got) != string(want) {
				t.Fatalf("%s #%d: moov packs\n% X\nwe pack\n% X", spec.Name, j, got, want)
			}
			mm := iso8583.NewMessage(spec)
			if err := mm.Unpack(want); err != nil {
				t.Fatalf("%s #%d: moov Unpack: %v", spec.Name, j, err)
			}
			for n, v := range m.Fields {
				got, err := mm.GetBytes(n)
				if err != nil {
					t.Fatal(err)
				}
				if pad := spec.Fields[n].Spec().Pad; pad != nil { // moov strips padding
					got = pad.Pad(got, spec.Fields[n].Spec().Length)
				}
				if string(got) != v {
					t.Fatalf("%s #%d: moov unpacks field %d as %q, want %q", spec.Name, j, n, got, v)
				}
			}
		}
	}
}

// stockSpec rebuilds spec with moov-io's stock encoders and prefixers
// wherever one does the same job (every one but the bcd track 2 encoder,
// whose field it drops), without padding.
func stockSpec(t *testing.T, spec *iso8583.MessageSpec) *iso8583.MessageSpec {
	out := &iso8583.MessageSpec{Name: spec.Name + "-stock", Fields: map[int]field.Field{}}
	for n, f := range spec.Fields {
		s := *f.Spec()
		s.Pad = nil
		_, binary := f.(*field.Binary)
		switch {
		case n == 1 && spec.Name == "ascii-hexbitmap":
			s.Enc, s.Pref = encoding.BytesToASCIIHex, prefix.Hex.Fixed
		case n == 1:
			s.Enc = encoding.Binary
		case s.Enc == encBCDTrack2:
			continue
		case s.Enc == encBCDRight:
			s.Enc = encoding.BCD
		case s.Enc == encBCDLeft:
			s.Enc = encoding.LBCD
		case binary:
			s.Enc = encoding.Binary
		default:
			s.Enc = encoding.ASCII
		}
		switch s.Pref {
		case prefASCIILL:
			s.Pref = prefix.ASCII.LL
		case prefASCIILLL:
			s.Pref = prefix.ASCII.LLL
		case prefBCDLL:
			s.Pref = prefix.BCD.LL
		case prefBCDLLL:
			s.Pref = prefix.BCD.LLL
		}
		switch {
		case n == 1:
			out.Fields[n] = field.NewBitmap(&s)
		case binary:
			out.Fields[n] = field.NewBinary(&s)
		default:
			out.Fields[n] = field.NewString(&s)
		}
	}
	return out
}

// TestStockMoovAgrees: on content the stock moov encoders accept, they
// produce exactly our bytes, and ours unpack theirs.
func TestStockMoovAgrees(t *testing.T) {
	for i, spec := range specs {
		p := packagers[i]
		stock := stockSpec(t, spec)
		r := rand.New(rand.NewPCG(3, uint64(i)))
		for j := range 500 {
			m := randomMessage(r, spec.Name, true)
			if _, ok := stock.Fields[35]; !ok {
				delete(m.Fields, 35)
			}
			want, err := p.Pack(m)
			if err != nil {
				t.Fatal(err)
			}
			got := moovPack(t, stock, m)
			if string(got) != string(want) {
				t.Fatalf("%s #%d: stock moov packs\n% X\nwe pack\n% X", spec.Name, j, got, want)
			}
			back, err := p.Unpack(got)
			if err != nil || !equal(back, m) {
				t.Fatalf("%s #%d: we unpack stock moov's bytes wrongly (%v)", spec.Name, j, err)
			}
		}
	}
}

// TestAllocs guards the allocation budget of the hot path.
func TestAllocs(t *testing.T) {
	m := NewMessage("0200").
		Set(3, "000000").Set(4, "000000001250").Set(7, "1123143015").Set(11, "000123").
		Set(22, "051").Set(25, "00").Set(35, "6210001234567890123=2812101").Set(41, "TERM0001").
		Set(42, "MERCHANT0000001").Set(49, "156").Set(60, "000001").Set(64, "\x01\x23\x45\x67\x89\xAB\xCD\xEF")
	for _, p := range packagers {
		b, err := p.Pack(m)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Pack(m) }); n > 1 {
			t.Errorf("%s: Pack allocates %v times, budget 1", p.name, n)
		}
		// The Message, its map (4 for a map of more than 8 entries in Go
		// 1.26), and the one string all values share.
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Unpack(b) }); n > 6 {
			t.Errorf("%s: Unpack allocates %v times, budget 6", p.name, n)
		}
	}
}
