package wire_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// The vectors below are written by hand from the contract (shared
// terminal-protocol.md, sections 1 and 2), byte group by byte group; they
// are not output of the encoder. h() reads hex (spaces ignored), a() is text
// sent as ASCII characters.

func h(s string) string {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func a(s string) string { return s }

func cat(parts ...string) []byte { return []byte(strings.Join(parts, "")) }

// Shared field values.
const (
	tid      = "TERM0001"
	mid      = "MERCHANT0000001" // 15 characters
	track2   = "6210001234567890123=2812101"
	pan      = "6210001234567890123"
	balances = "0001156C000000010000" + "0002156C000000010000" + "9002999C000000000125" // 3 × 20
)

var (
	mac64  = h("01 23 45 67 89 AB CD EF")
	mac128 = h("FE DC BA 98 76 54 32 10")
	pin    = h("11 22 33 44 55 66 77 88")
	icc    = h("9F 26 08 01 02 03 04 05 06 07 08") // 11 bytes of BER-TLV
	// field 90: original MTI 0200, STAN 000123, field 7 1123143015, 22 zeros
	orig90 = "0200" + "000123" + "1123143015" + "0000000000" + "0000000000" + "00"
)

// purchase: 0200 stored-value purchase with track 2, entry mode 051.
func purchase() *wire.Message {
	return wire.NewMessage("0200").
		Set(3, "000000").Set(4, "000000001250").Set(7, "1123143015").Set(11, "000123").
		Set(22, "051").Set(25, "00").Set(35, track2).Set(41, tid).Set(42, mid).
		Set(49, "156").Set(60, "000001").Set(64, mac64)
}

func signOn() *wire.Message {
	return wire.NewMessage("0800").
		Set(7, "1123143015").Set(11, "000124").Set(41, tid).Set(42, mid).Set(70, "001")
}

func approval() *wire.Message {
	return wire.NewMessage("0210").
		Set(37, "123456789012").Set(38, "A1B2C3").Set(39, "00").Set(54, balances)
}

// tierApproval is an approval to a terminal that opted in to field 63
// (docs/protocol.md "Field 63", not in the contract): LT, tier index 01,
// discount 00200 bp, tier name Ruby; MACed, so 63 sits before 64.
func tierApproval() *wire.Message {
	return approval().Set(63, "LT0100200Ruby").Set(64, mac64)
}

// void carries field 90, so a secondary bitmap, and its MAC in 128.
func void() *wire.Message {
	return wire.NewMessage("0200").
		Set(3, "020000").Set(4, "000000001250").Set(7, "1123143515").Set(11, "000125").
		Set(41, tid).Set(42, mid).Set(90, orig90).Set(128, mac128)
}

// chip: PAN + expiry instead of track 2, fields 23, 52, 55.
func chip() *wire.Message {
	return wire.NewMessage("0200").
		Set(2, pan).Set(3, "000000").Set(4, "000000009999").Set(14, "2812").
		Set(22, "071").Set(23, "001").Set(52, pin).Set(55, icc)
}

type vector struct {
	name     string
	packager string
	msg      func() *wire.Message
	want     []byte
}

var vectors = []vector{
	// ---- ascii ----
	{"purchase", "ascii", purchase, cat(
		h("30 32 30 30"),             // MTI "0200" in ASCII
		h("32 20 04 80 20 C0 80 11"), // bitmap: 3 4 7 | 11 | 22 | 25 | 35 | 41 42 | 49 | 60 64
		a("000000"),                  // 3  n6
		a("000000001250"),            // 4  n12
		a("1123143015"),              // 7  n10
		a("000123"),                  // 11 n6
		a("051"),                     // 22 n3
		a("00"),                      // 25 n2
		a("27"), a(track2),           // 35 LL = 27 characters, '=' as is
		a(tid), a(mid), // 41 ans8, 42 ans15
		a("156"),              // 49 n3
		a("006"), a("000001"), // 60 LLL = 6
		h("01 23 45 67 89 AB CD EF"), // 64 b8, raw
	)},
	{"sign-on", "ascii", signOn, cat(
		a("0800"),
		h("82 20 00 00 00 C0 00 00"), // bit 1 (secondary present), 7 | 11 | - | - | - | 41 42 | - | -
		h("04 00 00 00 00 00 00 00"), // secondary: 70 (byte 65-72: 0x04)
		a("1123143015"),              // 7
		a("000124"),                  // 11
		a(tid), a(mid),               // 41, 42
		a("001"), // 70 n3
	)},
	{"approval", "ascii", approval, cat(
		a("0210"),
		h("00 00 00 00 0E 00 04 00"), // 37 38 39 (byte 33-40: 0x08|0x04|0x02) | 54 (byte 49-56: 0x04)
		a("123456789012"),            // 37 an12
		a("A1B2C3"),                  // 38 an6
		a("00"),                      // 39 an2
		a("060"), a(balances),        // 54 LLL = 60
	)},
	{"tier-approval", "ascii", tierApproval, cat(
		a("0210"),
		h("00 00 00 00 0E 00 04 03"), // as approval, and 63 64 (byte 57-64: 0x02|0x01)
		a("123456789012"), a("A1B2C3"), a("00"), a("060"), a(balances),
		a("013"), a("LT0100200Ruby"), // 63 LLL = 13 characters
		h("01 23 45 67 89 AB CD EF"), // 64
	)},
	{"void", "ascii", void, cat(
		a("0200"),
		h("B2 20 00 00 00 C0 00 00"),                                 // 1 3 4 7 (0x80|0x20|0x10|0x02) | 11 | ... | 41 42
		h("00 00 00 40 00 00 00 01"),                                 // secondary: 90 (byte 89-96: 0x40) | 128 (last bit)
		a("020000"), a("000000001250"), a("1123143515"), a("000125"), // 3 4 7 11
		a(tid), a(mid),
		a("0200"+"000123"+"1123143015"+"0000000000000000000000"), // 90 n42
		h("FE DC BA 98 76 54 32 10"),                             // 128 b8
	)},
	{"chip", "ascii", chip, cat(
		a("0200"),
		h("70 04 06 00 00 00 12 00"), // 2 3 4 | 14 (0x04) | 22 23 (0x04|0x02) | - | - | - | 52 55 (0x10|0x02) | -
		a("19"), a(pan),              // 2 LL = 19
		a("000000"), a("000000009999"), // 3 4
		a("2812"),          // 14
		a("071"), a("001"), // 22 23
		h("11 22 33 44 55 66 77 88"), // 52 b8
		a("011"),                     // 55 LLL = 11 bytes
		h("9F 26 08 01 02 03 04 05 06 07 08"),
	)},

	// ---- ascii-hexbitmap: as ascii, bitmaps as 16 hex characters ----
	{"purchase", "ascii-hexbitmap", purchase, cat(
		a("0200"), a("3220048020C08011"),
		a("000000"), a("000000001250"), a("1123143015"), a("000123"), a("051"), a("00"),
		a("27"), a(track2), a(tid), a(mid), a("156"), a("006"), a("000001"),
		h("01 23 45 67 89 AB CD EF"),
	)},
	{"sign-on", "ascii-hexbitmap", signOn, cat(
		a("0800"), a("8220000000C00000"), a("0400000000000000"),
		a("1123143015"), a("000124"), a(tid), a(mid), a("001"),
	)},
	{"approval", "ascii-hexbitmap", approval, cat(
		a("0210"), a("000000000E000400"),
		a("123456789012"), a("A1B2C3"), a("00"), a("060"), a(balances),
	)},
	{"tier-approval", "ascii-hexbitmap", tierApproval, cat(
		a("0210"), a("000000000E000403"),
		a("123456789012"), a("A1B2C3"), a("00"), a("060"), a(balances),
		a("013"), a("LT0100200Ruby"), h("01 23 45 67 89 AB CD EF"),
	)},
	{"void", "ascii-hexbitmap", void, cat(
		a("0200"), a("B220000000C00000"), a("0000004000000001"),
		a("020000"), a("000000001250"), a("1123143515"), a("000125"), a(tid), a(mid),
		a(orig90), h("FE DC BA 98 76 54 32 10"),
	)},

	// ---- bcd ----
	{"purchase", "bcd", purchase, cat(
		h("02 00"),                   // MTI, packed BCD
		h("32 20 04 80 20 C0 80 11"), // bitmap, raw
		h("00 00 00"),                // 3  n6
		h("00 00 00 00 12 50"),       // 4  n12, right-aligned
		h("11 23 14 30 15"),          // 7  n10
		h("00 01 23"),                // 11 n6
		h("05 10"),                   // 22 n3 "051": LEFT-aligned, 0 pad nibble on the right
		h("00"),                      // 25 n2
		h("27"),                      // 35 LL: 27 digits (the '=' counts), BCD
		h("62 10 00 12 34 56 78 90 12 3D 28 12 10 1F"), // '=' as 0xD, F pad nibble
		a(tid), a(mid), // 41, 42 ASCII
		h("01 56"),              // 49 n3 "156": right-aligned, 0 pad nibble on the left
		h("00 06"), a("000001"), // 60 LLL: 2-byte BCD, counts BYTES (6), text ASCII
		h("01 23 45 67 89 AB CD EF"), // 64
	)},
	{"sign-on", "bcd", signOn, cat(
		h("08 00"),
		h("82 20 00 00 00 C0 00 00"), h("04 00 00 00 00 00 00 00"),
		h("11 23 14 30 15"), // 7
		h("00 01 24"),       // 11
		a(tid), a(mid),
		h("00 01"), // 70 n3 "001", right-aligned
	)},
	{"approval", "bcd", approval, cat(
		h("02 10"),
		h("00 00 00 00 0E 00 04 00"),
		a("123456789012"), a("A1B2C3"), a("00"), // 37 38 39 ASCII
		h("00 60"), a(balances), // 54 LLL = 60 bytes
	)},
	{"tier-approval", "bcd", tierApproval, cat(
		h("02 10"),
		h("00 00 00 00 0E 00 04 03"),
		a("123456789012"), a("A1B2C3"), a("00"), h("00 60"), a(balances),
		h("00 13"), a("LT0100200Ruby"), // 63 LLL: 2-byte BCD, 13 bytes, text ASCII
		h("01 23 45 67 89 AB CD EF"),
	)},
	{"void", "bcd", void, cat(
		h("02 00"),
		h("B2 20 00 00 00 C0 00 00"), h("00 00 00 40 00 00 00 01"),
		h("02 00 00"), h("00 00 00 00 12 50"), h("11 23 14 35 15"), h("00 01 25"),
		a(tid), a(mid),
		// 90 n42 = 21 bytes: 0200 | 000123 | 1123143015 | 22 zeros
		h("02 00"), h("00 01 23"), h("11 23 14 30 15"), h("00 00 00 00 00 00 00 00 00 00 00"),
		h("FE DC BA 98 76 54 32 10"),
	)},
	{"chip", "bcd", chip, cat(
		h("02 00"),
		h("70 04 06 00 00 00 12 00"),
		h("19"),                               // 2 LL: 19 digits
		h("62 10 00 12 34 56 78 90 12 30"),    // 2 left-aligned, 0 pad nibble on the right
		h("00 00 00"), h("00 00 00 00 99 99"), // 3 4
		h("28 12"),                   // 14 n4
		h("07 10"),                   // 22 "071" left-aligned
		h("00 01"),                   // 23 "001" right-aligned
		h("11 22 33 44 55 66 77 88"), // 52
		h("00 11"),                   // 55 LLL: 11 BYTES
		h("9F 26 08 01 02 03 04 05 06 07 08"),
	)},
}

func mustPackager(t testing.TB, name string) wire.Packager {
	t.Helper()
	p, err := wire.NewPackager(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func equalMessages(a, b *wire.Message) bool {
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

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.packager+"/"+v.name, func(t *testing.T) {
			p := mustPackager(t, v.packager)
			got, err := p.Pack(v.msg())
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if string(got) != string(v.want) {
				t.Fatalf("Pack:\n got %X\nwant %X", got, v.want)
			}
			m, err := p.Unpack(v.want)
			if err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if !equalMessages(m, v.msg()) {
				t.Fatalf("Unpack: got %q %v, want %v", m.MTI, m.Fields, v.msg().Fields)
			}
		})
	}
}

// TestVectorsCoverPackagers makes sure every packager has the four messages
// the contract's examples need.
func TestVectorsCoverPackagers(t *testing.T) {
	for _, name := range wire.Packagers {
		seen := map[string]bool{}
		for _, v := range vectors {
			if v.packager == name {
				seen[v.name] = true
			}
		}
		for _, want := range []string{"purchase", "sign-on", "approval", "tier-approval", "void"} {
			if !seen[want] {
				t.Errorf("%s: no %s vector", name, want)
			}
		}
	}
}

// TestBCDDetails spells out the bcd rules the contract singles out.
func TestBCDDetails(t *testing.T) {
	p := mustPackager(t, "bcd")
	for _, c := range []struct {
		name  string
		field int
		value string
		want  string // hex of the field as packed, prefix included
	}{
		{"track 2: '=' is 0xD, F pad, LL counts digits", 35, track2, "27 62 10 00 12 34 56 78 90 12 3D 28 12 10 1F"},
		{"track 2 odd length", 35, "4761739001010010=2212", "21 47 61 73 90 01 01 00 10 D2 21 2F"},
		{"track 2 even length: no pad", 35, "4761739001010010=22120", "22 47 61 73 90 01 01 00 10 D2 21 20"},
		{"track 2 'D' separator packs as 0xD", 35, "123D45", "06 12 3D 45"},
		{"field 22 left-aligned", 22, "051", "05 10"},
		{"field 22 short value: right-padded", 22, "05", "05 00"},
		{"field 4 right-aligned", 4, "000000001250", "00 00 00 00 12 50"},
		{"field 4 short value: left-padded", 4, "1250", "00 00 00 00 12 50"},
		{"field 49 odd fixed: pad nibble on the left", 49, "156", "01 56"},
		{"field 2 odd: left-aligned, 0 pad on the right", 2, "123456789012345", "15 12 34 56 78 90 12 34 50"},
		{"field 2 empty", 2, "", "00"},
		{"field 48 LLL counts bytes", 48, "123", "00 03 31 32 33"},
		{"field 62 LLL counts bytes", 62, h("00 FF"), "00 02 00 FF"},
		{"hex letters pass through an n field", 4, "00000000125A", "00 00 00 00 12 5A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := p.Pack(wire.NewMessage("0200").Set(c.field, c.value))
			if err != nil {
				t.Fatal(err)
			}
			// MTI (2) and one bitmap (8) precede the field.
			if got, want := b[10:], []byte(h(c.want)); string(got) != string(want) {
				t.Fatalf("got % X, want % X", got, want)
			}
		})
	}
}

// TestUnpackDoesNotValidateContent: letters in n fields, non-ASCII text and
// BCD nibbles A–F unpack (the validator rejects them later, answering 30)
// and pack back to the same bytes, so an echo is exact.
func TestUnpackDoesNotValidateContent(t *testing.T) {
	for _, c := range []struct {
		packager string
		in       []byte
		field    int
		want     string
	}{
		{"ascii", cat(a("0200"), h("00 20 00 00 00 00 00 00"), a("00012A")), 11, "00012A"},
		{"ascii", cat(a("0200"), h("00 00 00 00 00 80 00 00"), h("54 C3 A9 52 4D FF 00 31")), 41, h("54 C3 A9 52 4D FF 00 31")},
		{"ascii", cat(a("0200"), h("00 00 00 00 20 00 00 00"), a("05"), a("12D45")), 35, "12D45"},
		{"ascii-hexbitmap", cat(a("0200"), a("0020000000000000"), a("0X0123")), 11, "0X0123"},
		{"ascii-hexbitmap", cat(a("0200"), a("0000000000c00000"), a(tid), a(mid)), 41, tid}, // lower-case hex bitmap
		{"bcd", cat(h("02 00"), h("00 20 00 00 00 00 00 00"), h("00 0A BC")), 11, "000ABC"},
		{"bcd", cat(h("02 00"), h("00 00 00 00 00 00 80 00"), h("0F 56")), 49, "F56"}, // first digit nibble F
		{"bcd", cat(h("02 00"), h("00 00 00 00 00 00 80 00"), h("F1 56")), 49, "156"}, // pad nibble is not checked
		{"bcd", cat(h("02 00"), h("40 00 00 00 00 00 00 00"), h("03"), h("1D 3F")), 2, "1D3"},
		{"bcd", cat(h("02 00"), h("00 00 00 00 20 00 00 00"), h("05"), h("12 DE 4F")), 35, "12=E4"},
	} {
		p := mustPackager(t, c.packager)
		m, err := p.Unpack(c.in)
		if err != nil {
			t.Errorf("%s % X: %v", c.packager, c.in, err)
			continue
		}
		if got := m.Fields[c.field]; got != c.want {
			t.Errorf("%s % X: field %d = %q, want %q", c.packager, c.in, c.field, got, c.want)
		}
		again, err := p.Pack(m)
		if err != nil {
			t.Errorf("%s % X: repack: %v", c.packager, c.in, err)
			continue
		}
		m2, err := p.Unpack(again)
		if err != nil || !equalMessages(m, m2) {
			t.Errorf("%s % X: repack % X does not unpack the same (%v)", c.packager, c.in, again, err)
		}
	}
}

func TestUnpackDoesNotAlias(t *testing.T) {
	for _, v := range vectors {
		p := mustPackager(t, v.packager)
		in := append([]byte(nil), v.want...)
		m, err := p.Unpack(in)
		if err != nil {
			t.Fatal(err)
		}
		before := m.Clone()
		for i := range in {
			in[i] = 'X'
		}
		if !equalMessages(m, before) {
			t.Fatalf("%s/%s: Message changed with its input", v.packager, v.name)
		}
	}
}

func TestNewPackager(t *testing.T) {
	if len(wire.Packagers) != 3 || wire.Packagers[0] != "ascii" {
		t.Fatalf("Packagers = %q", wire.Packagers)
	}
	for _, name := range wire.Packagers {
		p, err := wire.NewPackager(name)
		if err != nil || p.Name() != name {
			t.Fatalf("NewPackager(%q) = %v, %v", name, p, err)
		}
	}
	for _, bad := range []string{"", "ASCII", "bcd ", "hex"} {
		if _, err := wire.NewPackager(bad); err == nil {
			t.Errorf("NewPackager(%q): no error", bad)
		}
	}
}

func TestMessage(t *testing.T) {
	m := wire.NewMessage("0800").Set(70, "001").Set(11, "000001")
	if v, ok := m.Get(70); !ok || v != "001" {
		t.Fatalf("Get(70) = %q, %v", v, ok)
	}
	if _, ok := m.Get(2); ok || m.Has(2) || !m.Has(11) {
		t.Fatal("Has/Get disagree with Set")
	}
	c := m.Clone()
	c.Set(70, "002").MTI = "0810"
	if v, _ := m.Get(70); v != "001" || m.MTI != "0800" {
		t.Fatal("Clone shares state with the original")
	}
	var z wire.Message // zero value: Set allocates the map
	z.Set(3, "000000")
	if !z.Has(3) || z.Clone().Fields == nil {
		t.Fatal("zero Message unusable")
	}
}

func fieldErr(t *testing.T, err error) *wire.FieldError {
	t.Helper()
	var fe *wire.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *wire.FieldError", err)
	}
	return fe
}

// TestConcurrentUse: packagers are shared by every connection (run with
// -race).
func TestConcurrentUse(t *testing.T) {
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				v := vectors[(g+i)%len(vectors)]
				p, _ := wire.NewPackager(v.packager)
				var b []byte
				if b, err = p.Pack(v.msg()); err != nil {
					break
				}
				var m *wire.Message
				if m, err = p.Unpack(b); err != nil {
					break
				}
				if string(b) != string(v.want) || !equalMessages(m, v.msg()) {
					err = errors.New(v.packager + "/" + v.name + ": wrong result under concurrency")
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
