package wire_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// safeError is the whole vocabulary of codec errors: fixed phrases and
// numbers, so no byte of a message can reach a log through one.
var safeError = regexp.MustCompile(`^wire: (pack|unpack): ((MTI|bitmap|field \d+): )?(` + strings.Join([]string{
	`nil message`,
	`not 4 decimal digits`,
	`overruns the message`,
	`(primary|secondary) bitmap (overruns the message|is not hexadecimal)`,
	`field not in the (ascii|ascii-hexbitmap|bcd) spec`,
	`field 1 \(secondary bitmap\) is set by Pack, not by the caller`,
	`field number -?\d+ out of range 2-128`,
	`length prefix (overruns the message|is not decimal|above the field maximum)`,
	`value overruns the message`,
	`value (longer|shorter) than its (fixed|maximum) length \d+`,
	`value longer than the field maximum`,
	`value has a character that packed BCD cannot carry`,
	`\d+ bytes after the last field`,
}, "|") + `)$`)

// TestUnpackStructuralErrors: every structural fault of section 1 is an
// error (matching ErrMalformed, naming the element), never a panic.
func TestUnpackStructuralErrors(t *testing.T) {
	for _, c := range []struct {
		name     string
		packager string
		in       []byte
		field    int // FieldError.Field
	}{
		// empty and truncated heads
		{"empty", "ascii", nil, wire.ElemMTI},
		{"short MTI", "ascii", cat(a("020")), wire.ElemMTI},
		{"short MTI bcd", "bcd", cat(h("02")), wire.ElemMTI},
		{"no bitmap", "ascii", cat(a("0200")), wire.ElemBitmap},
		{"short bitmap", "ascii", cat(a("0200"), h("32 20 04")), wire.ElemBitmap},
		{"short hex bitmap", "ascii-hexbitmap", cat(a("0200"), a("3220")), wire.ElemBitmap},
		{"no secondary bitmap", "ascii", cat(a("0800"), h("82 20 00 00 00 C0 00 00")), wire.ElemBitmap},
		// non-numeric MTI
		{"MTI letter", "ascii", cat(a("02A0"), h("00 00 00 00 00 00 00 00")), wire.ElemMTI},
		{"MTI space", "ascii", cat(a(" 200"), h("00 00 00 00 00 00 00 00")), wire.ElemMTI},
		{"MTI hex nibble", "bcd", cat(h("02 A0"), h("00 00 00 00 00 00 00 00")), wire.ElemMTI},
		{"MTI letter hexbitmap", "ascii-hexbitmap", cat(a("O200"), a("0000000000000000")), wire.ElemMTI},
		// bitmaps
		{"bitmap not hex", "ascii-hexbitmap", cat(a("0200"), a("002000000000000G"), a("000123")), wire.ElemBitmap},
		{"unknown field 5", "ascii", cat(a("0200"), h("08 00 00 00 00 00 00 00"), a("000000000000")), 5},
		{"unknown field 61", "bcd", cat(h("02 00"), h("00 00 00 00 00 00 00 08")), 61},
		{"third bitmap (bit 65)", "ascii", cat(a("0800"), h("80 00 00 00 00 00 00 00"), h("80 00 00 00 00 00 00 00"), h("00 00 00 00 00 00 00 00")), 65},
		{"unknown field 100", "ascii-hexbitmap", cat(a("0800"), a("8000000000000000"), a("0000000010000000")), 100},
		// length prefixes
		{"LL prefix truncated", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a("1")), 2},
		{"LL prefix not digits", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a("1A"), a("1234567890")), 2},
		{"LL prefix with plus", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a("+5"), a("12345")), 2},
		{"LL prefix with space", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a(" 5"), a("12345")), 2},
		{"LL above field max", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a("20"), a("12345678901234567890")), 2},
		{"LL 38 above track 2 max", "ascii", cat(a("0200"), h("00 00 00 00 20 00 00 00"), a("38"), a(strings.Repeat("1", 38))), 35},
		{"LLL above field 54 max", "ascii", cat(a("0210"), h("00 00 00 00 00 00 04 00"), a("121"), a(strings.Repeat("0", 121))), 54},
		{"LLL prefix truncated", "ascii", cat(a("0210"), h("00 00 00 00 00 00 04 00"), a("06")), 54},
		{"bcd LL not decimal", "bcd", cat(h("02 00"), h("40 00 00 00 00 00 00 00"), h("1A"), h("12 34 56 78 90")), 2},
		{"bcd LL above max", "bcd", cat(h("02 00"), h("00 00 00 00 20 00 00 00"), h("38"), h(strings.Repeat("11", 19))), 35},
		{"bcd LLL not decimal", "bcd", cat(h("02 10"), h("00 00 00 00 00 00 04 00"), h("0A 00")), 54},
		{"bcd LLL top nibble counts", "bcd", cat(h("02 10"), h("00 00 00 00 00 00 04 00"), h("10 00")), 54},
		{"bcd LLL above max", "bcd", cat(h("02 10"), h("00 00 00 00 00 00 04 00"), h("01 21"), a(strings.Repeat("0", 121))), 54},
		{"bcd LLL truncated", "bcd", cat(h("02 10"), h("00 00 00 00 00 00 04 00"), h("00")), 54},
		// fields overrunning the frame
		{"LLVAR overruns", "ascii", cat(a("0200"), h("40 00 00 00 00 00 00 00"), a("19"), a("12345")), 2},
		{"fixed overruns", "ascii", cat(a("0200"), h("10 00 00 00 00 00 00 00"), a("00000000125")), 4},
		{"bcd fixed overruns", "bcd", cat(h("02 00"), h("10 00 00 00 00 00 00 00"), h("00 00 00 00 12")), 4},
		{"bcd track 2 overruns", "bcd", cat(h("02 00"), h("00 00 00 00 20 00 00 00"), h("27"), h("62 10 00 12 34 56 78 90 12 3D 28 12 10")), 35},
		{"missing field", "ascii", cat(a("0200"), h("20 00 00 00 00 00 00 01"), a("000000")), 64},
		{"MAC short", "bcd", cat(h("02 00"), h("00 00 00 00 00 00 00 01"), h("01 02 03 04 05 06 07")), 64},
		// bytes left over
		{"trailing byte", "ascii", cat(a("0200"), h("20 00 00 00 00 00 00 00"), a("000000"), a("X")), wire.ElemMessage},
		{"trailing bytes bcd", "bcd", cat(h("02 00"), h("20 00 00 00 00 00 00 00"), h("00 00 00"), h("00 00")), wire.ElemMessage},
		{"trailing after empty bitmap", "ascii-hexbitmap", cat(a("0800"), a("0000000000000000"), a("0")), wire.ElemMessage},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustPackager(t, c.packager)
			m, err := p.Unpack(c.in)
			if err == nil {
				t.Fatalf("Unpack(% X) = %v, want an error", c.in, m)
			}
			if m != nil {
				t.Errorf("Unpack returned a message with its error")
			}
			if !errors.Is(err, wire.ErrMalformed) {
				t.Errorf("error %v does not match ErrMalformed", err)
			}
			if fe := fieldErr(t, err); fe.Field != c.field || fe.Op != "unpack" {
				t.Errorf("error %q names %s %d, want %d", err, fe.Op, fe.Field, c.field)
			}
			if !safeError.MatchString(err.Error()) {
				t.Errorf("error %q is outside the safe vocabulary", err)
			}
		})
	}
}

// TestUnpackTruncations cuts every vector at every length: each prefix is
// an error (never a panic, never a message), and so is each extension.
func TestUnpackTruncations(t *testing.T) {
	for _, v := range vectors {
		p := mustPackager(t, v.packager)
		for i := range len(v.want) {
			if m, err := p.Unpack(v.want[:i]); err == nil {
				// A cut may land exactly after a complete field only if the
				// bitmap then names nothing more; it never does here.
				t.Fatalf("%s/%s cut at %d: unpacked %v", v.packager, v.name, i, m)
			} else if !errors.Is(err, wire.ErrMalformed) || !safeError.MatchString(err.Error()) {
				t.Fatalf("%s/%s cut at %d: %v", v.packager, v.name, i, err)
			}
		}
		for _, extra := range []string{"\x00", "0", "\xFF\xFF"} {
			if _, err := p.Unpack(append(append([]byte(nil), v.want...), extra...)); err == nil {
				t.Fatalf("%s/%s with %q appended: no error", v.packager, v.name, extra)
			}
		}
	}
}

// TestEmptySecondaryBitmap: bit 1 with no field 65–128 set is accepted (the
// contract lists it among no structural faults); Pack then drops it.
func TestEmptySecondaryBitmap(t *testing.T) {
	p := mustPackager(t, "ascii")
	in := cat(a("0800"), h("A0 00 00 00 00 00 00 00"), h("00 00 00 00 00 00 00 00"), a("000000"))
	m, err := p.Unpack(in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Has(1) || len(m.Fields) != 1 || m.Fields[3] != "000000" {
		t.Fatalf("fields = %v", m.Fields)
	}
	out, err := p.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := cat(a("0800"), h("20 00 00 00 00 00 00 00"), a("000000")); string(out) != string(want) {
		t.Fatalf("Pack = % X, want % X", out, want)
	}
}

// TestPackErrors: a value the encoding cannot carry is an error naming the
// field, never the value.
func TestPackErrors(t *testing.T) {
	const secret = "6210009876543210" // must never appear in an error
	for _, c := range []struct {
		name     string
		packager string
		msg      *wire.Message
		field    int
	}{
		{"nil message", "ascii", nil, wire.ElemMessage},
		{"MTI short", "ascii", wire.NewMessage("200"), wire.ElemMTI},
		{"MTI long", "bcd", wire.NewMessage("02000"), wire.ElemMTI},
		{"MTI letter", "bcd", wire.NewMessage("02A0"), wire.ElemMTI},
		{"field 1 set by caller", "ascii", wire.NewMessage("0200").Set(1, secret), wire.ElemBitmap},
		{"field 0", "ascii", wire.NewMessage("0200").Set(0, secret), wire.ElemMessage},
		{"field 129", "ascii", wire.NewMessage("0200").Set(129, secret), wire.ElemMessage},
		{"field not in spec", "bcd", wire.NewMessage("0200").Set(5, secret), 5},
		{"field 65 not in spec", "ascii", wire.NewMessage("0200").Set(65, secret), 65},
		{"n fixed too long", "ascii", wire.NewMessage("0200").Set(4, "1"+secret), 4},
		{"bcd n fixed too long", "bcd", wire.NewMessage("0200").Set(11, secret), 11},
		{"n LLVAR too long", "ascii", wire.NewMessage("0200").Set(2, secret+"7890"), 2},
		{"bcd LLVAR too long", "bcd", wire.NewMessage("0200").Set(2, secret+"7890"), 2},
		{"track 2 too long", "bcd", wire.NewMessage("0200").Set(35, secret+"="+secret+"12345"), 35},
		{"LLL too long", "ascii", wire.NewMessage("0210").Set(54, strings.Repeat(secret, 8)), 54},
		{"an fixed too short", "ascii", wire.NewMessage("0210").Set(37, secret[:11]), 37},
		{"ans fixed too short", "bcd", wire.NewMessage("0210").Set(41, secret[:7]), 41},
		{"b fixed too short", "ascii", wire.NewMessage("0200").Set(64, secret[:7]), 64},
		{"b fixed too long", "bcd", wire.NewMessage("0200").Set(52, secret[:9]), 52},
		{"bcd n with a letter", "bcd", wire.NewMessage("0200").Set(4, "0000"+secret[:7]+"x"), 4},
		{"bcd n with '='", "bcd", wire.NewMessage("0200").Set(2, secret+"="), 2},
		{"bcd n with lower-case hex", "bcd", wire.NewMessage("0200").Set(2, secret+"a"), 2},
		{"bcd track 2 with '?'", "bcd", wire.NewMessage("0200").Set(35, secret+"=2812?"), 35},
		{"bcd field 22 with space", "bcd", wire.NewMessage("0200").Set(22, "05 "), 22},
		{"bcd odd right-aligned with letter", "bcd", wire.NewMessage("0200").Set(49, "x56"), 49},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustPackager(t, c.packager)
			b, err := p.Pack(c.msg)
			if err == nil {
				t.Fatalf("Pack = % X, want an error", b)
			}
			if !errors.Is(err, wire.ErrPack) || errors.Is(err, wire.ErrMalformed) {
				t.Errorf("error %v: wrong class", err)
			}
			if fe := fieldErr(t, err); fe.Field != c.field || fe.Op != "pack" {
				t.Errorf("error %q names %s %d, want %d", err, fe.Op, fe.Field, c.field)
			}
			for _, leak := range []string{secret[:6], secret[6:], "x56", "05 "} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q leaks the value", err)
				}
			}
			if !safeError.MatchString(err.Error()) {
				t.Errorf("error %q is outside the safe vocabulary", err)
			}
		})
	}
}

// TestPackPadding: n fixed fields shorter than their length are
// zero-padded; Unpack keeps the padding.
func TestPackPadding(t *testing.T) {
	for _, c := range []struct {
		packager string
		field    int
		value    string
		want     string // unpacked value
	}{
		{"ascii", 4, "1250", "000000001250"},
		{"ascii", 22, "51", "051"},
		{"ascii", 11, "", "000000"},
		{"ascii-hexbitmap", 90, "0200", "000000000000000000000000000000000000000200"},
		{"bcd", 4, "1250", "000000001250"},
		{"bcd", 49, "56", "056"},
		{"bcd", 22, "05", "050"}, // bcd field 22 is left-justified: pad on the right
		{"bcd", 70, "1", "001"},
	} {
		p := mustPackager(t, c.packager)
		b, err := p.Pack(wire.NewMessage("0200").Set(c.field, c.value))
		if err != nil {
			t.Fatalf("%s field %d %q: %v", c.packager, c.field, c.value, err)
		}
		m, err := p.Unpack(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Fields[c.field]; got != c.want {
			t.Errorf("%s field %d %q: unpacked %q, want %q", c.packager, c.field, c.value, got, c.want)
		}
	}
}
