package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
)

// The binary records below are written on every authorization, so they use
// a small hand-rolled varint encoding instead of reflection. Each record
// starts with a version byte; decoders reject what they do not know.

var errCorrupt = errors.New("ledger: corrupt record")

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) uv(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) iv(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) { e.uv(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) raw(p []byte) { e.b = append(e.b, p...) }

// bytes writes a length-prefixed byte string; nil and empty both read
// back as nil.
func (e *encoder) bytes(p []byte) { e.uv(uint64(len(p))); e.b = append(e.b, p...) }
func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

type decoder struct {
	b   []byte
	err error
	// names, when set, shares the strings a scan of many records repeats
	// (istr): one allocation per distinct terminal, merchant, program or
	// account instead of one per record.
	names *names
}

// names is a bounded set of strings shared by the records one scan
// decodes (maxSharedNames; past it strings are allocated as usual).
type names map[string]string

const maxSharedNames = 1 << 16

// istr is str, shared through d.names when the scan keeps one.
func (d *decoder) istr() string {
	if d.names == nil {
		return d.str()
	}
	v := d.view()
	if s, ok := (*d.names)[string(v)]; ok { // no allocation for the lookup
		return s
	}
	s := string(v)
	if len(*d.names) < maxSharedNames {
		(*d.names)[s] = s
	}
	return s
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
}

func (d *decoder) u8() uint8 {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uv() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) iv() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.view()) }

// view is the next length-prefixed string as a slice of the record,
// not a copy: for a caller that copies it once with others.
func (d *decoder) view() []byte {
	n := d.uv()
	if d.err != nil || uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) raw(p []byte) {
	if len(d.b) < len(p) {
		d.fail()
		return
	}
	copy(p, d.b)
	d.b = d.b[len(p):]
}

func (d *decoder) boolean() bool { return d.u8() != 0 }

// maxRecordBytes bounds a length-prefixed byte string in a record.
const maxRecordBytes = 1 << 16

func (d *decoder) bytes() []byte {
	n := d.uv()
	if d.err != nil || n > maxRecordBytes || uint64(len(d.b)) < n {
		d.fail()
		return nil
	}
	if n == 0 {
		return nil
	}
	p := append([]byte(nil), d.b[:n]...)
	d.b = d.b[n:]
	return p
}

func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	return nil
}

// IdemRecord is the stored answer to a request, under its identity (TID,
// STAN, field 7). A retransmission with the same Fingerprint gets it back.
// Its RRN and approval code are those of its Seq (assignRRN), so record
// version 4 stores neither: the decoder derives them; a record whose
// strings are not its Seq's (none is written so) keeps version 3.
type IdemRecord struct {
	Fingerprint [16]byte
	MTI         string
	Kind        Kind
	Code        uint8
	RRN         string
	AuthCode    string
	Balances    *Balances
	Seq         uint64 // journal entry, 0 when nothing was applied
	Batch       uint32
	At          int64
	// Tombstone marks no answer but a reversal that came first: the
	// original of this identity (MTI) is to be declined 05 when it comes.
	Tombstone bool
	// Field62 is a sign-on's working keys under the TMK (ciphertext), so
	// that a retransmitted sign-on gets the keys it was first given.
	Field62 []byte
	// ChipAccepted: the answer carries tag 91.
	ChipAccepted bool
	// Tier is the member's tier the answer reported (nil: none), and
	// LoyaltyInfo the terminal's field 63 opt-in when it was decided, so
	// that a retransmission renders byte-equal.
	Tier        *TierInfo
	LoyaltyInfo bool
}

func (r *IdemRecord) encode(e *encoder) {
	v := uint8(4)
	if !r.derivedRRN() {
		v = 3
	}
	e.u8(v)
	e.raw(r.Fingerprint[:])
	e.str(r.MTI)
	e.u8(uint8(r.Kind))
	e.u8(r.Code)
	if v == 3 {
		e.str(r.RRN)
		e.str(r.AuthCode)
	}
	e.boolean(r.Balances != nil)
	if b := r.Balances; b != nil {
		e.iv(int64(b.Ledger))
		e.iv(int64(b.Available))
		e.iv(int64(b.Points))
		e.iv(int64(b.Earned))
		e.iv(int64(b.Debited))
	}
	e.uv(r.Seq)
	e.uv(uint64(r.Batch))
	e.iv(r.At)
	e.boolean(r.Tombstone)
	e.bytes(r.Field62)
	e.boolean(r.ChipAccepted)
	e.boolean(r.Tier != nil)
	if t := r.Tier; t != nil {
		e.uv(uint64(t.Index))
		e.str(t.Name)
		e.iv(int64(t.Discount))
	}
	e.boolean(r.LoyaltyInfo)
}

// derivedRRN: the record's RRN and approval code are its Seq's (both
// empty when it has none).
func (r *IdemRecord) derivedRRN() bool {
	if r.Seq == 0 {
		return r.RRN == "" && r.AuthCode == ""
	}
	var b [20]byte
	return r.Seq < 1e12 && r.RRN == string(appendPadded(b[:0], r.Seq, 12)) && r.AuthCode == string(appendAuthCode(b[:0], r.Seq))
}

func (r *IdemRecord) decode(b []byte) error {
	d := decoder{b: b}
	v := d.u8()
	if v < 1 || v > 4 {
		d.fail()
	}
	d.raw(r.Fingerprint[:])
	r.MTI = d.str()
	r.Kind = Kind(d.u8())
	r.Code = d.u8()
	r.RRN, r.AuthCode = "", ""
	if v <= 3 {
		r.RRN = d.str()
		r.AuthCode = d.str()
	}
	r.Balances = nil
	if d.boolean() {
		r.Balances = &Balances{
			Ledger: Amount(d.iv()), Available: Amount(d.iv()), Points: Points(d.iv()),
			Earned: Points(d.iv()), Debited: Points(d.iv()),
		}
	}
	r.Seq = d.uv()
	r.Batch = uint32(d.uv())
	r.At = d.iv()
	r.Tombstone = d.boolean()
	r.Field62, r.ChipAccepted, r.Tier, r.LoyaltyInfo = nil, false, nil, false
	if v >= 2 { // version 1 predates keys and chip
		r.Field62 = d.bytes()
		r.ChipAccepted = d.boolean()
	}
	if v >= 3 { // version 2 predates field 63
		if d.boolean() {
			idx := d.uv()
			if idx > loyalty.MaxTiers {
				d.fail()
			}
			r.Tier = &TierInfo{Index: int(idx), Name: d.str(), Discount: money.BP(d.iv())}
		}
		r.LoyaltyInfo = d.boolean()
	}
	if v == 4 && r.Seq != 0 && d.err == nil {
		if r.Seq >= 1e12 {
			d.fail() // RRNs have 12 digits: such a Seq's were stored (version 3)
		}
		r.RRN, r.AuthCode = FormatRRN(r.Seq), authCode(r.Seq)
	}
	return d.done("stored response")
}

// TerminalState is a terminal's runtime state: signed on, its open batch
// and its working keys. The keys are sealed under the host master key;
// KeyGen counts key issues, so that a MAC verified under one generation
// is not taken for another.
type TerminalState struct {
	SignedOn  bool
	OpenBatch uint32 // 0: none open
	KeyGen    uint32 // 0: never had working keys
	// TPK and TAK are sealed (nil: no keys, e.g. after a sign-off or for
	// a terminal without a TMK); the check values are hex.
	TPK, TAK       []byte
	TPKKCV, TAKKCV string
}

// HasKeys reports whether the terminal holds working keys, so that its
// requests and responses carry a MAC.
func (s *TerminalState) HasKeys() bool { return s.TAK != nil }

func (s *TerminalState) encode(e *encoder) {
	e.u8(2)
	e.boolean(s.SignedOn)
	e.uv(uint64(s.OpenBatch))
	e.uv(uint64(s.KeyGen))
	e.bytes(s.TPK)
	e.bytes(s.TAK)
	e.str(s.TPKKCV)
	e.str(s.TAKKCV)
}

func (s *TerminalState) decode(b []byte) error {
	d := decoder{b: b}
	v := d.u8()
	if v != 1 && v != 2 {
		d.fail()
	}
	s.SignedOn = d.boolean()
	s.OpenBatch = uint32(d.uv())
	*s = TerminalState{SignedOn: s.SignedOn, OpenBatch: s.OpenBatch}
	if v == 2 { // version 1 predates working keys
		s.KeyGen = uint32(d.uv())
		s.TPK = d.bytes()
		s.TAK = d.bytes()
		s.TPKKCV = d.str()
		s.TAKKCV = d.str()
	}
	return d.done("terminal state")
}

// CardSecurity is a card's PIN and chip state: the wrong-PIN count, the
// PIN block, and the highest ATC the host accepted for its PSN.
type CardSecurity struct {
	PINTries   uint8
	PINBlocked bool
	// ATC is the highest accepted ATC for PSN; HasATC is false until the
	// first chip request is accepted.
	PSN    string
	ATC    uint16
	HasATC bool
}

func (c *CardSecurity) encode(e *encoder) {
	e.u8(1)
	e.u8(c.PINTries)
	e.boolean(c.PINBlocked)
	e.str(c.PSN)
	e.uv(uint64(c.ATC))
	e.boolean(c.HasATC)
}

func (c *CardSecurity) decode(b []byte) error {
	d := decoder{b: b}
	if d.u8() != 1 {
		d.fail()
	}
	c.PINTries = d.u8()
	c.PINBlocked = d.boolean()
	c.PSN = d.str()
	atc := d.uv()
	if atc > 0xffff {
		d.fail()
	}
	c.ATC = uint16(atc)
	c.HasATC = d.boolean()
	return d.done("card security")
}

// Batch states.
const (
	BatchOpen uint8 = iota + 1
	// BatchMismatch: a 0500 was answered 95; uploads may follow.
	BatchMismatch
	BatchClosed
)

// Batch is one terminal batch with the host's own totals.
type Batch struct {
	Number uint32
	State  uint8
	Totals BatchTotals
	// Reported are the terminal's totals from its last 0500.
	Reported BatchTotals
	Opened   int64
	Closed   int64
	// ClosedHow: 1 by a matching 0500, 2 by 0500/960000 after upload,
	// 3 by the host when the terminal opened a newer batch.
	ClosedHow uint8
	BizDate   uint32
}

func encodeTotals(e *encoder, t BatchTotals) {
	e.iv(t.DebitCount)
	e.iv(int64(t.DebitAmount))
	e.iv(t.CreditCount)
	e.iv(int64(t.CreditAmount))
}

func decodeTotals(d *decoder) BatchTotals {
	return BatchTotals{DebitCount: d.iv(), DebitAmount: Amount(d.iv()), CreditCount: d.iv(), CreditAmount: Amount(d.iv())}
}

func (b *Batch) encode(e *encoder) {
	e.u8(1)
	e.uv(uint64(b.Number))
	e.u8(b.State)
	encodeTotals(e, b.Totals)
	encodeTotals(e, b.Reported)
	e.iv(b.Opened)
	e.iv(b.Closed)
	e.u8(b.ClosedHow)
	e.uv(uint64(b.BizDate))
}

func (b *Batch) decode(p []byte) error {
	d := decoder{b: p}
	if d.u8() != 1 {
		d.fail()
	}
	b.Number = uint32(d.uv())
	b.State = d.u8()
	b.Totals = decodeTotals(&d)
	b.Reported = decodeTotals(&d)
	b.Opened = d.iv()
	b.Closed = d.iv()
	b.ClosedHow = d.u8()
	b.BizDate = uint32(d.uv())
	return d.done("batch")
}

// CardDay counts a card's limit-relevant activity on one business date.
type CardDay struct {
	// Date is the business date counted (yyyymmdd). Version 1, format
	// 3's, had none: the date was in the key, and the migration to
	// format 4 sets it.
	Date   uint32
	Count  int64
	Amount Amount
}

func (c *CardDay) encode(e *encoder) {
	e.u8(2)
	e.uv(uint64(c.Date))
	e.iv(c.Count)
	e.iv(int64(c.Amount))
}

func (c *CardDay) decode(b []byte) error {
	d := decoder{b: b}
	c.Date = 0
	switch d.u8() {
	case 1:
	case 2:
		date := d.uv()
		if date > 0xffffffff {
			d.fail()
		}
		c.Date = uint32(date)
	default:
		d.fail()
	}
	c.Count = d.iv()
	c.Amount = Amount(d.iv())
	return d.done("card day")
}

// Hold is one open pre-authorization on a card.
type Hold struct {
	Seq     uint64
	Amount  Amount
	Expires int64
}

// Holds are a card's open holds, oldest first.
type Holds []Hold

func (h Holds) encode(e *encoder) {
	e.u8(1)
	e.uv(uint64(len(h)))
	for _, x := range h {
		e.uv(x.Seq)
		e.iv(int64(x.Amount))
		e.iv(x.Expires)
	}
}

func (h *Holds) decode(b []byte) error {
	d := decoder{b: b}
	if d.u8() != 1 {
		d.fail()
	}
	n := d.uv()
	if n > maxHoldsPerCard {
		d.fail()
	}
	*h = (*h)[:0]
	for i := uint64(0); i < n && d.err == nil; i++ {
		*h = append(*h, Hold{Seq: d.uv(), Amount: Amount(d.iv()), Expires: d.iv()})
	}
	return d.done("holds")
}
