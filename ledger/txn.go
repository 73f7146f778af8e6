package ledger

// txn.go: the journal entry (Txn) and its binary record.

import "github.com/cardcenter/cardcenter/loyalty"

// TxnStatus is the life of a journal entry after it was applied.
type TxnStatus uint8

const (
	TxnApplied TxnStatus = iota + 1
	TxnVoided
	TxnReversed
)

func (s TxnStatus) String() string {
	switch s {
	case TxnApplied:
		return "applied"
	case TxnVoided:
		return "voided"
	case TxnReversed:
		return "reversed"
	}
	return "unknown"
}

// Hold states of a pre-authorization.
const (
	HoldOpen uint8 = iota + 1
	HoldCompleted
	HoldReleased
)

// Txn is one journal entry: an applied financial request. Its RRN is its
// sequence number in 12 digits.
type Txn struct {
	Seq       uint64
	Kind      Kind
	MTI       string
	ProcCode  string
	TID       string
	MID       string
	HomeMID   string
	ProgramID string
	PAN       string
	STAN      string
	Time      string // field 7
	AuthCode  string
	Batch     uint32
	BizDate   uint32 // yyyymmdd
	At        int64  // unix nanoseconds, host clock
	Amount    Amount
	Status    TxnStatus
	// Refunded is the sum of applied refunds of this purchase/completion.
	Refunded Amount
	// OrigSeq is the original of a refund, void, completion or reversal.
	OrigSeq uint64
	// UndoneBy is the void or reversal that undid this entry.
	UndoneBy    uint64
	HoldAmount  Amount
	HoldExpires int64
	HoldState   uint8
	Earned      Points
	Debited     Points
	// Transfers are the postings this entry made, in order.
	Transfers []Transfer
	// Note is an operator's reason for an adjustment.
	Note string

	// Loyalty (record version 2, written only when one is set):
	// RulesVersion and Campaigns say how an earning was computed;
	// TakenBack is what refunds took back of this earning; PointUses
	// and DebtAdded are where a debit of points came from (lots, and
	// the debt a refund's take-back ran into), so that its undo gives
	// them back exactly.
	RulesVersion int
	Campaigns    []string
	TakenBack    Points
	PointUses    []LotUse
	DebtAdded    Points

	// Settlement (record version 3, written only when one is set):
	// LateFrom is the business date the host clock gave a decision made
	// after that date was closed for settlement (CloseBusinessDate); the
	// entry was booked on the next unsettled date (BizDate) instead and
	// settlement reports it as late. Rates are the fee rates in force
	// when the entry was decided, so that its settlement, and the exact
	// negation an undo on a later date contributes, never depend on when
	// settlement runs (nil: an entry from before version 3, or of a kind
	// that settlement does not count).
	LateFrom uint32
	Rates    *TxnRates

	// CardPrev (record version 4, written only when set) is the seq of
	// the previous journal entry on the same card: a card's history is
	// the chain from its newest entry (Account.LastEntry of its stored
	// value) through CardPrev. 0: the card's first entry, or its first
	// since the store was format 1, whose older entries jc/ indexes;
	// always 0 for an entry of no card (settlement).
	CardPrev uint64
}

// TxnRates are the section 8 rates of a counted journal entry as they
// were when it was decided: the merchant's MDR and load commission, the
// program's interchange and point cost.
type TxnRates struct {
	MDRBP            int64
	LoadCommissionBP int64
	InterchangeBP    int64
	PointCost        Amount
}

// maxRateBP bounds a recorded rate, as Merchant.Validate and
// Program.Validate do.
const maxRateBP = 10000

func (t *Txn) hasLoyalty() bool {
	return t.RulesVersion != 0 || len(t.Campaigns) != 0 || t.TakenBack != 0 || len(t.PointUses) != 0 || t.DebtAdded != 0
}

// RRN is the retrieval reference number the host gave this entry.
func (t *Txn) RRN() string { return FormatRRN(t.Seq) }

// FormatRRN renders a journal sequence number as a 12-digit RRN.
// It is on the path of every settlement line, so it is built by hand:
// fmt costs more than the rest of a line.
func FormatRRN(seq uint64) string {
	var b [20]byte
	return string(appendPadded(b[:0], seq, 12))
}

func (t *Txn) encode(e *encoder) {
	v := uint8(1)
	switch {
	case t.CardPrev != 0:
		v = 4 // carries the loyalty and settlement blocks too
	case t.LateFrom != 0 || t.Rates != nil:
		v = 3 // carries the loyalty block too
	case t.hasLoyalty():
		v = 2
	}
	e.u8(v)
	e.uv(t.Seq)
	e.u8(uint8(t.Kind))
	for _, s := range []string{t.MTI, t.ProcCode, t.TID, t.MID, t.HomeMID, t.ProgramID, t.PAN, t.STAN, t.Time, t.AuthCode} {
		e.str(s)
	}
	e.uv(uint64(t.Batch))
	e.uv(uint64(t.BizDate))
	e.iv(t.At)
	e.iv(int64(t.Amount))
	e.u8(uint8(t.Status))
	e.iv(int64(t.Refunded))
	e.uv(t.OrigSeq)
	e.uv(t.UndoneBy)
	e.iv(int64(t.HoldAmount))
	e.iv(t.HoldExpires)
	e.u8(t.HoldState)
	e.iv(int64(t.Earned))
	e.iv(int64(t.Debited))
	e.uv(uint64(len(t.Transfers)))
	for i := range t.Transfers {
		t.Transfers[i].encode(e)
	}
	e.str(t.Note)
	if v >= 2 {
		e.uv(uint64(t.RulesVersion))
		e.uv(uint64(len(t.Campaigns)))
		for _, c := range t.Campaigns {
			e.str(c)
		}
		e.iv(int64(t.TakenBack))
		encodeUses(e, t.PointUses)
		e.iv(int64(t.DebtAdded))
	}
	if v >= 3 {
		e.uv(uint64(t.LateFrom))
		e.boolean(t.Rates != nil)
		if r := t.Rates; r != nil {
			e.iv(r.MDRBP)
			e.iv(r.LoadCommissionBP)
			e.iv(r.InterchangeBP)
			e.iv(int64(r.PointCost))
		}
	}
	if v >= 4 {
		e.uv(t.CardPrev)
	}
}

func (t *Txn) decode(b []byte) error { return t.decodeShared(b, nil) }

// decodeShared is decode sharing, through ns (nil: none), the strings a
// journal scan repeats: message types, processing codes, terminals,
// merchants, programs, cards, account names.
func (t *Txn) decodeShared(b []byte, ns *names) error {
	d := decoder{b: b, names: ns}
	v := d.u8()
	if v < 1 || v > 4 {
		d.fail()
	}
	t.Seq = d.uv()
	t.Kind = Kind(d.u8())
	for _, s := range []*string{&t.MTI, &t.ProcCode, &t.TID, &t.MID, &t.HomeMID, &t.ProgramID, &t.PAN} {
		*s = d.istr()
	}
	for _, s := range []*string{&t.STAN, &t.Time, &t.AuthCode} {
		*s = d.str()
	}
	t.Batch = uint32(d.uv())
	t.BizDate = uint32(d.uv())
	t.At = d.iv()
	t.Amount = Amount(d.iv())
	t.Status = TxnStatus(d.u8())
	t.Refunded = Amount(d.iv())
	t.OrigSeq = d.uv()
	t.UndoneBy = d.uv()
	t.HoldAmount = Amount(d.iv())
	t.HoldExpires = d.iv()
	t.HoldState = d.u8()
	t.Earned = Points(d.iv())
	t.Debited = Points(d.iv())
	n := d.uv()
	if n > maxTransfersPerTxn || d.err != nil {
		d.fail()
		n = 0 // never size a slice from a count the record may have lied about
	}
	t.Transfers = make([]Transfer, n)
	for i := range t.Transfers {
		t.Transfers[i].decode(&d, t.Seq)
	}
	t.Note = d.str()
	t.RulesVersion, t.Campaigns, t.TakenBack, t.PointUses, t.DebtAdded = 0, nil, 0, nil, 0
	t.LateFrom, t.Rates, t.CardPrev = 0, nil, 0
	if v >= 2 { // version 1 predates loyalty
		t.RulesVersion = int(d.uv())
		n := d.uv()
		if n > loyalty.MaxCampaigns {
			d.fail()
			n = 0
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			t.Campaigns = append(t.Campaigns, d.str())
		}
		t.TakenBack = Points(d.iv())
		t.PointUses = decodeUses(&d)
		t.DebtAdded = Points(d.iv())
	}
	if v >= 3 { // version 2 predates settlement
		t.LateFrom = uint32(d.uv())
		if d.boolean() {
			r := &TxnRates{MDRBP: d.iv(), LoadCommissionBP: d.iv(), InterchangeBP: d.iv(), PointCost: Amount(d.iv())}
			if r.MDRBP < 0 || r.MDRBP > maxRateBP || r.LoadCommissionBP < 0 || r.LoadCommissionBP > maxRateBP ||
				r.InterchangeBP < 0 || r.InterchangeBP > maxRateBP || r.PointCost < 0 || r.PointCost > MaxAmount {
				d.fail()
			}
			t.Rates = r
		}
	}
	if v >= 4 { // version 3 predates the card's history chain
		t.CardPrev = d.uv()
		if t.CardPrev >= t.Seq && d.err == nil {
			d.fail() // a chain runs back in sequence: no loop
		}
	}
	return d.done("txn")
}
