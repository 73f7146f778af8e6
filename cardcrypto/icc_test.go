package cardcrypto

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

// sampleObjects is a complete chip request's field 55 (test values; the
// ARQC is a placeholder).
func sampleObjects(t testing.TB) []TLV {
	return []TLV{
		{TagAC, unhex(t, "0102030405060708")},
		{TagCID, unhex(t, "80")},
		{TagIAD, unhex(t, "06010A03A00000")},
		{TagATC, unhex(t, "0001")},
		{TagUN, unhex(t, "12345678")},
		{TagTVR, unhex(t, "0000000000")},
		{TagTxnDate, unhex(t, "251123")},
		{TagTxnType, unhex(t, "00")},
		{TagAmountAuthorized, unhex(t, "000000001250")},
		{TagAmountOther, unhex(t, "000000000000")},
		{TagCurrencyCode, unhex(t, "0156")},
		{TagAIP, unhex(t, "1800")},
		{TagCountryCode, unhex(t, "0156")},
	}
}

func sampleICC(t testing.TB) []byte {
	b, err := EncodeICC(sampleObjects(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseICCAccessors(t *testing.T) {
	raw := sampleICC(t)
	if !bytes.HasPrefix(raw, unhex(t, "9F2608 0102030405060708 9F2701 80 9F1007 06010A03A00000")) {
		t.Fatalf("encoding %X", raw)
	}
	c, err := ParseICC(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Missing(); len(m) != 0 {
		t.Fatalf("missing %v", m)
	}
	ac, _ := c.Cryptogram()
	cid, _ := c.CID()
	atc, _ := c.ATC()
	un, _ := c.UnpredictableNumber()
	tvr, _ := c.TVR()
	aip, _ := c.AIP()
	cvr, _ := c.CVR()
	date, _ := c.TxnDate()
	typ, _ := c.TxnType()
	cur, _ := c.CurrencyCode()
	country, _ := c.CountryCode()
	amt, _ := c.AmountAuthorized()
	other, ok := c.AmountOther()
	if ac != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} || cid != 0x80 || atc != [2]byte{0, 1} || un != [4]byte{0x12, 0x34, 0x56, 0x78} ||
		tvr != [5]byte{} || aip != [2]byte{0x18, 0} || !bytes.Equal(cvr, unhex(t, "03A00000")) ||
		date != "251123" || typ != "00" || cur != "156" || country != "156" || amt != 1250 || other != 0 || !ok {
		t.Fatalf("accessors: %X %X %X %X %X %X %X %s %s %s %s %d %d", ac, cid, atc, un, tvr, aip, cvr, date, typ, cur, country, amt, other)
	}
	if _, _, ok := c.IssuerAuth(); ok {
		t.Fatal("request has no 91")
	}
	if !bytes.Equal(c.Encode(), raw) {
		t.Fatal("Encode does not give back the input")
	}

	// Missing names absent mandatory tags in contract order; ARQCData refuses.
	objs := sampleObjects(t)
	objs = slices.DeleteFunc(objs, func(o TLV) bool { return o.Tag == TagUN || o.Tag == TagAC })
	part, err := EncodeICC(objs)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = ParseICC(part)
	if m := c.Missing(); !slices.Equal(m, []string{"9F26", "9F37"}) {
		t.Fatalf("missing %v", m)
	}
	if _, err := c.ARQCData(); !errors.Is(err, ErrBadICC) || !strings.Contains(err.Error(), "9F37") {
		t.Fatalf("ARQCData: %v", err)
	}
}

func TestIssuerAuth(t *testing.T) {
	v, err := IssuerAuthValue(unhex(t, "1122334455667788"), [2]byte{'0', '0'})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := EncodeICC([]TLV{{TagIssuerAuth, v}})
	if err != nil || !bytes.Equal(raw, unhex(t, "910A 1122334455667788 3030")) {
		t.Fatalf("%X %v", raw, err)
	}
	c, _ := ParseICC(raw)
	arpc, arc, ok := c.IssuerAuth()
	if !ok || arpc != [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88} || arc != [2]byte{'0', '0'} {
		t.Fatalf("%X %X %v", arpc, arc, ok)
	}
	if _, err := IssuerAuthValue(v[:7], arc); !errors.Is(err, ErrBadICC) {
		t.Fatal(err)
	}
}

func TestParseICCRejects(t *testing.T) {
	long := AppendTLV(nil, 0xDF01, make([]byte, 250)) // 254 bytes
	var many []byte
	for i := range MaxICCTags + 1 {
		many = AppendTLV(many, Tag(0xDF00|i), nil)
	}
	cases := []struct {
		name, hex string
		raw       []byte
		want      string
	}{
		{"empty", "", nil, "empty"},
		{"too long", "", append(append([]byte(nil), long...), 0x01, 0x00), "256 bytes"},
		{"too many", "", many, "more than 32"},
		{"overrun", "9F2608 01020304", nil, "9F26: length 8 overruns"},
		{"no length", "9F26", nil, "9F26 has no length"},
		{"cut tag", "9F", nil, "cut off"},
		{"long length cut", "9F2681", nil, "9F26: length cut off"},
		{"three-byte length", "9F2682 0008 0102030405060708", nil, "length field of 3 bytes"},
		{"indefinite", "9F2680", nil, "indefinite"},
		{"three-byte tag", "DF8101 00", nil, "longer than 2 bytes"},
		{"constructed", "70 03 9A0100", nil, "constructed tag starting 70"},
		{"padding", "9C0100 00 9A03251123", nil, "padding byte 00 at offset 3"},
		{"duplicate", "9C0100 9C0100", nil, "tag 9C appears twice"},
		{"wrong length", "9F3603 000102", nil, "tag 9F36 is 3 bytes, want 2"},
		{"short IAD", "9F1006 060100000000", nil, "tag 9F10 is 6 bytes, want 7 to 32"},
		{"long 91", "910B 0102030405060708303000", nil, "tag 91 is 11 bytes, want 10"},
		{"not BCD", "9F0206 00000000125A", nil, "tag 9F02 is not decimal digits"},
	}
	for _, c := range cases {
		raw := c.raw
		if c.hex != "" {
			raw = unhex(t, c.hex)
		}
		_, err := ParseICC(raw)
		if !errors.Is(err, ErrBadICC) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// Accepted: unknown primitive tags (kept), the 81 length form, zero-length unknown values.
	c, err := ParseICC(unhex(t, "9F3381 03 E0F8C8 DF01 00 9C0100"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get(0x9F33); !ok || !bytes.Equal(v, unhex(t, "E0F8C8")) || len(c.Objects()) != 3 {
		t.Fatalf("%v %X", ok, v)
	}
	if !bytes.Equal(c.Encode(), unhex(t, "9F3303E0F8C8 DF0100 9C0100")) {
		t.Fatalf("re-encoded %X", c.Encode())
	}
	// EncodeICC refuses what ParseICC refuses.
	if _, err := EncodeICC([]TLV{{TagATC, []byte{1}}}); !errors.Is(err, ErrBadICC) {
		t.Fatal(err)
	}
}

// TestICCErrorsCarryNoValues checks that rejections name tags, not values.
func TestICCErrorsCarryNoValues(t *testing.T) {
	for _, h := range []string{"9F2607 A1B2C3D4E5F6A7", "9F0206 A1B2C3D4E5F6", "9F2608 A1B2C3D4E5F6A7B8 9F2608 A1B2C3D4E5F6A7B8"} {
		_, err := ParseICC(unhex(t, h))
		if err == nil || strings.Contains(strings.ToUpper(err.Error()), "A1B2") {
			t.Errorf("%s: %v", h, err)
		}
	}
}

func TestBCD(t *testing.T) {
	b, err := BCD("000000001250")
	if err != nil || !bytes.Equal(b, unhex(t, "000000001250")) {
		t.Fatalf("%X %v", b, err)
	}
	for _, s := range []string{"", "1", "12a4"} {
		if _, err := BCD(s); !errors.Is(err, ErrBadICC) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
