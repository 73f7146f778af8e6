package cardcrypto

import (
	"fmt"
	"strings"
)

// Field 55 is EMV ICC data in BER-TLV (EMV 4.3 Book 3 Annex B). ParseICC
// reads it strictly and EncodeICC writes it; the rules are in the package
// documentation under "Field 55".

// Limits of field 55.
const (
	MaxICCBytes = 255 // field 55 is b..255
	MaxICCTags  = 32  // the 13 mandatory tags and room for a terminal's extras
	maxTagBytes = 2   // EMV tags are one or two bytes
)

// Tag is a BER-TLV tag of one or two bytes: 0x95 is tag 95, 0x9F26 tag 9F26.
type Tag uint16

// Tags of contract section 7.
const (
	TagAC               Tag = 0x9F26 // application cryptogram (the ARQC), b8
	TagCID              Tag = 0x9F27 // cryptogram information data, b1
	TagIAD              Tag = 0x9F10 // issuer application data, b7..32; CVR = bytes 4 to 7
	TagATC              Tag = 0x9F36 // application transaction counter, b2
	TagUN               Tag = 0x9F37 // unpredictable number, b4
	TagTVR              Tag = 0x95   // terminal verification results, b5
	TagTxnDate          Tag = 0x9A   // transaction date YYMMDD, n6 (BCD)
	TagTxnType          Tag = 0x9C   // transaction type (field 3 digits 1-2), n2 (BCD)
	TagAmountAuthorized Tag = 0x9F02 // amount authorised in minor units, n12 (BCD)
	TagAmountOther      Tag = 0x9F03 // amount other, n12 (BCD)
	TagCurrencyCode     Tag = 0x5F2A // transaction currency code, n3 (BCD, "0156")
	TagAIP              Tag = 0x82   // application interchange profile, b2
	TagCountryCode      Tag = 0x9F1A // terminal country code, n3 (BCD)
	TagIssuerAuth       Tag = 0x91   // issuer authentication data: ARPC(8) ‖ ARC(2), response only
)

// Lengths of the values inside the tags above.
const (
	ACLen         = 8
	IssuerAuthLen = ACLen + 2
	minIADLen     = 7 // the CVR is bytes 4 to 7
	maxIADLen     = 32
)

func (t Tag) String() string {
	if t <= 0xFF {
		return fmt.Sprintf("%02X", uint16(t))
	}
	return fmt.Sprintf("%04X", uint16(t))
}

// tagSpec is what ParseICC knows of a tag's value.
type tagSpec struct {
	min, max int
	bcd      bool // format n: every nibble a decimal digit
}

var knownTags = map[Tag]tagSpec{
	TagAC: {8, 8, false}, TagCID: {1, 1, false}, TagIAD: {minIADLen, maxIADLen, false},
	TagATC: {2, 2, false}, TagUN: {4, 4, false}, TagTVR: {5, 5, false},
	TagTxnDate: {3, 3, true}, TagTxnType: {1, 1, true}, TagAmountAuthorized: {6, 6, true},
	TagAmountOther: {6, 6, true}, TagCurrencyCode: {2, 2, true}, TagAIP: {2, 2, false},
	TagCountryCode: {2, 2, true}, TagIssuerAuth: {IssuerAuthLen, IssuerAuthLen, false},
}

// RequestTags are the tags every chip request carries, in contract order.
var RequestTags = []Tag{
	TagAC, TagCID, TagIAD, TagATC, TagUN, TagTVR, TagTxnDate, TagTxnType,
	TagAmountAuthorized, TagAmountOther, TagCurrencyCode, TagAIP, TagCountryCode,
}

// arqcTags are the tags whose values, then the CVR, the ARQC covers.
var arqcTags = []Tag{
	TagAmountAuthorized, TagAmountOther, TagCountryCode, TagTVR, TagCurrencyCode,
	TagTxnDate, TagTxnType, TagUN, TagAIP, TagATC,
}

// TLV is one primitive data object.
type TLV struct {
	Tag   Tag
	Value []byte
}

// ICC is parsed field 55: its data objects in the order received, each tag
// at most once. The zero ICC holds nothing.
type ICC struct {
	objs []TLV
}

func badICC(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadICC, fmt.Sprintf(format, a...))
}

// ParseICC parses field 55. It accepts only what EncodeICC can write back:
// 1 to MaxICCBytes bytes holding 1 to MaxICCTags primitive data objects,
// each tag one or two bytes and present once, each length one byte (00-7F)
// or 81 and one byte, every value inside the input, and every tag of this
// package with its EMV length (and decimal digits for the n-format tags).
// Tags it does not know are kept as they are. Constructed tags (templates)
// and 00 padding bytes are refused: the contract puts only primitive
// objects in field 55. Errors name the tag and offset, never a value.
func ParseICC(b []byte) (ICC, error) {
	if len(b) == 0 {
		return ICC{}, badICC("field 55 is empty")
	}
	if len(b) > MaxICCBytes {
		return ICC{}, badICC("field 55 is %d bytes, at most %d", len(b), MaxICCBytes)
	}
	var c ICC
	for off := 0; off < len(b); {
		if len(c.objs) == MaxICCTags {
			return ICC{}, badICC("more than %d data objects", MaxICCTags)
		}
		tag, n, err := readTag(b[off:], off)
		if err != nil {
			return ICC{}, err
		}
		off += n
		vlen, n, err := readLen(b[off:], tag)
		if err != nil {
			return ICC{}, err
		}
		off += n
		if vlen > len(b)-off {
			return ICC{}, badICC("tag %s: length %d overruns field 55 (%d bytes left)", tag, vlen, len(b)-off)
		}
		if _, dup := c.Get(tag); dup {
			return ICC{}, badICC("tag %s appears twice", tag)
		}
		val := append([]byte(nil), b[off:off+vlen]...)
		off += vlen
		if err := checkValue(tag, val); err != nil {
			return ICC{}, err
		}
		c.objs = append(c.objs, TLV{Tag: tag, Value: val})
	}
	return c, nil
}

// readTag reads one tag at the start of b; off is b's offset in field 55.
// Field 55 holds primitive objects only: a constructed tag is refused.
func readTag(b []byte, off int) (Tag, int, error) {
	if b[0] != 0x00 && b[0]&0x20 != 0 {
		return 0, 0, badICC("constructed tag starting %02X at offset %d: only primitive objects are allowed", b[0], off)
	}
	return readBERTag(b, off)
}

// readBERTag reads one tag of one or two bytes at the start of b, primitive
// or constructed (bit 6 of the first byte); off is b's offset in the input.
// The one tag reader of the package: field 55 (readTag) and card responses
// (ParseCardTLV) both use it.
func readBERTag(b []byte, off int) (Tag, int, error) {
	first := b[0]
	switch {
	case first == 0x00:
		return 0, 0, badICC("padding byte 00 at offset %d", off)
	case first&0x1F != 0x1F:
		return Tag(first), 1, nil
	case len(b) < 2:
		return 0, 0, badICC("tag starting %02X at offset %d is cut off", first, off)
	case b[1]&0x80 != 0:
		return 0, 0, badICC("tag %02X%02X… at offset %d is longer than %d bytes", first, b[1], off, maxTagBytes)
	}
	return Tag(first)<<8 | Tag(b[1]), 2, nil
}

// readLen reads the length of tag's value at the start of b.
func readLen(b []byte, tag Tag) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, badICC("tag %s has no length", tag)
	}
	switch l := b[0]; {
	case l < 0x80:
		return int(l), 1, nil
	case l == 0x81:
		if len(b) < 2 {
			return 0, 0, badICC("tag %s: length cut off", tag)
		}
		return int(b[1]), 2, nil
	case l == 0x80:
		return 0, 0, badICC("tag %s: indefinite length", tag)
	default:
		return 0, 0, badICC("tag %s: length field of %d bytes, at most 2", tag, int(l&0x7F)+1)
	}
}

func checkValue(tag Tag, v []byte) error {
	spec, known := knownTags[tag]
	if !known {
		return nil
	}
	if len(v) < spec.min || len(v) > spec.max {
		if spec.min == spec.max {
			return badICC("tag %s is %d bytes, want %d", tag, len(v), spec.min)
		}
		return badICC("tag %s is %d bytes, want %d to %d", tag, len(v), spec.min, spec.max)
	}
	if spec.bcd {
		for _, c := range v {
			if c>>4 > 9 || c&0xF > 9 {
				return badICC("tag %s is not decimal digits", tag)
			}
		}
	}
	return nil
}

// AppendTLV appends one data object to dst: tag, minimal BER length, value.
func AppendTLV(dst []byte, tag Tag, value []byte) []byte {
	if tag > 0xFF {
		dst = append(dst, byte(tag>>8))
	}
	dst = append(dst, byte(tag))
	switch n := len(value); {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xFF:
		dst = append(dst, 0x81, byte(n))
	default: // never valid in field 55; written in full so ParseICC names the problem
		var lb []byte
		for ; n > 0; n >>= 8 {
			lb = append([]byte{byte(n)}, lb...)
		}
		dst = append(append(dst, 0x80|byte(len(lb))), lb...)
	}
	return append(dst, value...)
}

// EncodeICC writes objs as field 55 and checks the result by the rules of
// ParseICC, so it never produces a field 55 the host would refuse for form.
func EncodeICC(objs []TLV) ([]byte, error) {
	var b []byte
	for _, o := range objs {
		b = AppendTLV(b, o.Tag, o.Value)
	}
	if _, err := ParseICC(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Encode writes c back as field 55 (minimal lengths, order kept).
func (c ICC) Encode() []byte {
	var b []byte
	for _, o := range c.objs {
		b = AppendTLV(b, o.Tag, o.Value)
	}
	return b
}

// Objects returns a copy of c's data objects in order.
func (c ICC) Objects() []TLV {
	out := make([]TLV, len(c.objs))
	for i, o := range c.objs {
		out[i] = TLV{Tag: o.Tag, Value: append([]byte(nil), o.Value...)}
	}
	return out
}

// Get returns a copy of the value of tag.
func (c ICC) Get(tag Tag) ([]byte, bool) {
	for _, o := range c.objs {
		if o.Tag == tag {
			return append([]byte(nil), o.Value...), true
		}
	}
	return nil, false
}

// Missing returns the mandatory request tags (RequestTags) that c lacks, in
// contract order, as hex names ("9F26").
func (c ICC) Missing() []string {
	var out []string
	for _, t := range RequestTags {
		if _, ok := c.Get(t); !ok {
			out = append(out, t.String())
		}
	}
	return out
}

// ARQCData is the input of the ARQC (contract section 7 step 3): the values
// of 9F02 ‖ 9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36 ‖ the CVR
// (bytes 4 to 7 of 9F10).
func (c ICC) ARQCData() ([]byte, error) {
	var out []byte
	var missing []string
	for _, t := range append(append([]Tag(nil), arqcTags...), TagIAD) {
		v, ok := c.Get(t)
		if !ok {
			missing = append(missing, t.String())
			continue
		}
		if t == TagIAD {
			v = v[3:7]
		}
		out = append(out, v...)
	}
	if len(missing) > 0 {
		return nil, badICC("ARQC data lacks tags %s", strings.Join(missing, " "))
	}
	return out, nil
}

// fixed copies the value of tag into dst when present with exactly len(dst) bytes.
func (c ICC) fixed(tag Tag, dst []byte) bool {
	v, ok := c.Get(tag)
	if !ok || len(v) != len(dst) {
		return false
	}
	copy(dst, v)
	return true
}

// bcdDigits returns the value of an n-format tag as decimal digits.
func (c ICC) bcdDigits(tag Tag) (string, bool) {
	v, ok := c.Get(tag)
	if !ok {
		return "", false
	}
	var sb strings.Builder
	for _, b := range v {
		sb.WriteByte('0' + b>>4)
		sb.WriteByte('0' + b&0xF)
	}
	return sb.String(), true
}

// Cryptogram returns 9F26, the application cryptogram (ARQC).
func (c ICC) Cryptogram() (ac [ACLen]byte, ok bool) { ok = c.fixed(TagAC, ac[:]); return }

// CID returns 9F27, the cryptogram information data.
func (c ICC) CID() (cid byte, ok bool) {
	var b [1]byte
	ok = c.fixed(TagCID, b[:])
	return b[0], ok
}

// IAD returns 9F10, the issuer application data.
func (c ICC) IAD() ([]byte, bool) { return c.Get(TagIAD) }

// CVR returns the card verification results: bytes 4 to 7 of 9F10.
func (c ICC) CVR() ([]byte, bool) {
	v, ok := c.Get(TagIAD)
	if !ok || len(v) < minIADLen {
		return nil, false
	}
	return v[3:7], true
}

// ATC returns 9F36, the application transaction counter.
func (c ICC) ATC() (atc [2]byte, ok bool) { ok = c.fixed(TagATC, atc[:]); return }

// UnpredictableNumber returns 9F37.
func (c ICC) UnpredictableNumber() (un [4]byte, ok bool) { ok = c.fixed(TagUN, un[:]); return }

// TVR returns 95, the terminal verification results.
func (c ICC) TVR() (tvr [5]byte, ok bool) { ok = c.fixed(TagTVR, tvr[:]); return }

// AIP returns 82, the application interchange profile.
func (c ICC) AIP() (aip [2]byte, ok bool) { ok = c.fixed(TagAIP, aip[:]); return }

// TxnDate returns 9A as YYMMDD.
func (c ICC) TxnDate() (string, bool) { return c.bcdDigits(TagTxnDate) }

// TxnType returns 9C as two digits (the first two of field 3).
func (c ICC) TxnType() (string, bool) { return c.bcdDigits(TagTxnType) }

// CurrencyCode returns 5F2A as three digits ("156").
func (c ICC) CurrencyCode() (string, bool) {
	s, ok := c.bcdDigits(TagCurrencyCode)
	return strings.TrimPrefix(s, "0"), ok
}

// CountryCode returns 9F1A as three digits ("156").
func (c ICC) CountryCode() (string, bool) {
	s, ok := c.bcdDigits(TagCountryCode)
	return strings.TrimPrefix(s, "0"), ok
}

// AmountAuthorized returns 9F02 in minor units.
func (c ICC) AmountAuthorized() (int64, bool) { return c.amount(TagAmountAuthorized) }

// AmountOther returns 9F03 in minor units.
func (c ICC) AmountOther() (int64, bool) { return c.amount(TagAmountOther) }

func (c ICC) amount(tag Tag) (int64, bool) {
	s, ok := c.bcdDigits(tag)
	if !ok {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// IssuerAuth returns 91 split into the ARPC and the ARC.
func (c ICC) IssuerAuth() (arpc [ACLen]byte, arc [2]byte, ok bool) {
	var v [IssuerAuthLen]byte
	if !c.fixed(TagIssuerAuth, v[:]) {
		return arpc, arc, false
	}
	copy(arpc[:], v[:ACLen])
	copy(arc[:], v[ACLen:])
	return arpc, arc, true
}

// IssuerAuthValue builds the value of tag 91: ARPC(8) ‖ ARC(2).
func IssuerAuthValue(arpc []byte, arc [2]byte) ([]byte, error) {
	if len(arpc) != ACLen {
		return nil, badICC("ARPC is %d bytes, want %d", len(arpc), ACLen)
	}
	return append(append(make([]byte, 0, IssuerAuthLen), arpc...), arc[:]...), nil
}

// BCD packs a string of decimal digits (even length) into n-format bytes,
// for building 9F02, 9A and the like.
func BCD(digits string) ([]byte, error) {
	if len(digits)%2 != 0 || !isDigits(digits) {
		return nil, badICC("%d characters are not an even number of digits", len(digits))
	}
	out := make([]byte, len(digits)/2)
	for i := range out {
		out[i] = (digits[2*i]-'0')<<4 | (digits[2*i+1] - '0')
	}
	return out, nil
}
