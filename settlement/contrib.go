package settlement

// contrib.go: what one journal entry contributes to its merchants'
// positions (contract section 8). This is the one computation of a
// transaction's money: positions, files and the reports built on them
// all sum Contributions.

import (
	"fmt"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/money"
)

// Status says how a journal entry takes part in a date's settlement.
type Status uint8

const (
	// Counted: an approved entry of a counted kind; its figures count.
	Counted Status = iota + 1
	// Excluded: an original and its undo (void, reversal) on the same
	// date, or a pre-authorization (its completion counts): listed, with
	// figures zero.
	Excluded
	// Adjustment: an undo whose original was booked on an earlier date
	// (already settled): the exact negation of the original's figures.
	Adjustment
)

var statusNames = [...]string{"", "counted", "excluded", "adjustment"}

func (s Status) String() string {
	if int(s) < len(statusNames) && s != 0 {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Figures are a transaction's section 8 figures from the point of view
// of the merchant where it happened (M), signed: an undo negates every
// one. Sales are purchases and completions, Refunds refunds, Loads
// loads, RedeemedValue the money value paid with points (910000);
// PointsEarned are points earned (a refund's take-back negative),
// PointsRedeemed points spent by redemptions. MDRFee, Interchange (paid
// by M to the card's home merchant H when M ≠ H), LoadCommission and
// PointCost are the fees, each rounded half-up to a whole fen once per
// transaction (PointCost is exact: points × point cost).
type Figures struct {
	Sales          ledger.Amount `json:"sales_fen"`
	Refunds        ledger.Amount `json:"refunds_fen"`
	Loads          ledger.Amount `json:"loads_fen"`
	RedeemedValue  ledger.Amount `json:"redeemed_value_fen"`
	PointsEarned   ledger.Points `json:"points_earned"`
	PointsRedeemed ledger.Points `json:"points_redeemed"`
	MDRFee         ledger.Amount `json:"mdr_fee_fen"`
	Interchange    ledger.Amount `json:"interchange_paid_fen"`
	LoadCommission ledger.Amount `json:"load_commission_fen"`
	PointCost      ledger.Amount `json:"point_cost_fen"`
}

// Net is M's position change: sales − refunds − loads + redeemed value −
// MDR − interchange + load commission − point cost.
func (f Figures) Net() (ledger.Amount, error) {
	var n int64
	var err error
	for _, term := range []struct {
		v    int64
		sign int64
	}{
		{int64(f.Sales), 1}, {int64(f.Refunds), -1}, {int64(f.Loads), -1}, {int64(f.RedeemedValue), 1},
		{int64(f.MDRFee), -1}, {int64(f.Interchange), -1}, {int64(f.LoadCommission), 1}, {int64(f.PointCost), -1},
	} {
		var v int64
		if v, err = money.Signed(term.sign, term.v); err == nil {
			n, err = money.AddInt64(n, v)
		}
		if err != nil {
			return 0, err
		}
	}
	return ledger.Amount(n), nil
}

// negate is the figures of an undo.
func (f Figures) negate() Figures {
	return Figures{-f.Sales, -f.Refunds, -f.Loads, -f.RedeemedValue, -f.PointsEarned, -f.PointsRedeemed,
		-f.MDRFee, -f.Interchange, -f.LoadCommission, -f.PointCost}
}

// Contribution is one journal entry of a date in its settlement: which
// merchants it concerns, how it counts, and its figures. MerchantNet is
// what it adds to MID's position, HomeNet (the interchange, when the
// card's home merchant differs) what it adds to HomeMID's. Card is the
// masked PAN; a Contribution never holds the clear one.
type Contribution struct {
	Seq      uint64
	Kind     ledger.Kind
	Status   Status
	Program  string
	MID      string
	HomeMID  string
	TID      string
	Card     string // masked PAN
	Amount   ledger.Amount
	LateFrom uint32 // the business date the clock gave a late entry; 0 if not late
	// OrigSeq and OrigDate are an undo's original and its business
	// date; ExcludedWith is the entry an Excluded one cancels with.
	OrigSeq      uint64
	OrigDate     uint32
	ExcludedWith uint64
	Figures      Figures
	MerchantNet  ledger.Amount
	HomeNet      ledger.Amount
}

// RRN is the entry's retrieval reference number.
func (c *Contribution) RRN() string { return ledger.FormatRRN(c.Seq) }

// Late reports whether the entry was decided after its clock date was
// closed, and so booked on this date.
func (c *Contribution) Late() bool { return c.LateFrom != 0 }

// Rates are the section 8 rates of one transaction.
type Rates = ledger.TxnRates

// RateBook gives the rates of entries that do not record their own
// (journal entries from before record version 3): the merchant's and
// program's rates as they are when settlement runs. Every entry decided
// since records its rates (ledger.Txn.Rates), and those are used.
type RateBook struct {
	Merchants map[string]ledger.Merchant
	Programs  map[string]ledger.Program
}

// NewRateBook indexes the registry's merchants and programs.
func NewRateBook(progs []ledger.Program, merchants []ledger.Merchant) RateBook {
	rb := RateBook{Merchants: map[string]ledger.Merchant{}, Programs: map[string]ledger.Program{}}
	for _, p := range progs {
		rb.Programs[p.ID] = p
	}
	for _, m := range merchants {
		rb.Merchants[m.MID] = m
	}
	return rb
}

// ratesOf returns t's recorded rates, or the book's.
func (rb RateBook) ratesOf(t *ledger.Txn) (Rates, error) {
	if t.Rates != nil {
		return *t.Rates, nil
	}
	m, ok := rb.Merchants[t.MID]
	if !ok {
		return Rates{}, fmt.Errorf("rrn %s: merchant %q: not in the registry and the entry records no rates", t.RRN(), t.MID)
	}
	p, ok := rb.Programs[t.ProgramID]
	if !ok {
		return Rates{}, fmt.Errorf("rrn %s: program %q: not in the registry and the entry records no rates", t.RRN(), t.ProgramID)
	}
	return Rates{MDRBP: m.MDRBP, LoadCommissionBP: m.LoadCommissionBP, InterchangeBP: p.InterchangeBP, PointCost: p.PointCost}, nil
}

// fee is round(a × bp / 10000), half up, once: money.Scale is the one
// rounding helper.
func fee(a ledger.Amount, bp int64) (ledger.Amount, error) {
	v, err := money.Scale(int64(a), []int64{bp}, money.BPScale, money.HalfUp)
	return ledger.Amount(v), err
}

// pointCost is p × cost, exact, for p of either sign.
func pointCost(p ledger.Points, cost ledger.Amount) (ledger.Amount, error) {
	sign, abs := int64(1), int64(p)
	if abs < 0 {
		sign, abs = -1, -abs
	}
	v, err := money.Scale(abs, []int64{int64(cost)}, 1, money.Floor)
	if err == nil {
		v, err = money.Signed(sign, v)
	}
	return ledger.Amount(v), err
}

// Counts reports whether settlement counts entries of kind k itself
// (undos count through their originals; pre-authorizations count
// through their completions).
func Counts(k ledger.Kind) bool {
	switch k {
	case ledger.KindPurchase, ledger.KindCompletion, ledger.KindRefund, ledger.KindLoad,
		ledger.KindAccrual, ledger.KindRedeem:
		return true
	}
	return false
}

// Merchant reports whether an entry of kind k takes part in merchant
// settlement at all: the counted kinds, pre-authorizations and undos.
// Operator adjustments, mall orders, expiry breakage and settlement
// postings are program-internal.
func Merchant(k ledger.Kind) bool {
	return Counts(k) || k == ledger.KindPreAuth || k == ledger.KindVoid || k == ledger.KindReversal
}

// OwnFigures are the figures of an entry of a counted kind (zero for a
// pre-authorization), from its amount, points and rates.
func OwnFigures(t *ledger.Txn, rb RateBook) (Figures, error) {
	var f Figures
	if !Counts(t.Kind) {
		return f, nil
	}
	r, err := rb.ratesOf(t)
	if err != nil {
		return f, err
	}
	wrap := func(what string, err error) error {
		return fmt.Errorf("rrn %s %s of %d: %w", t.RRN(), what, t.Amount, err)
	}
	cross := t.MID != t.HomeMID
	switch t.Kind {
	case ledger.KindPurchase, ledger.KindCompletion, ledger.KindRefund:
		mdr, err := fee(t.Amount, r.MDRBP)
		if err != nil {
			return f, wrap("mdr", err)
		}
		var ic ledger.Amount
		if cross {
			if ic, err = fee(t.Amount, r.InterchangeBP); err != nil {
				return f, wrap("interchange", err)
			}
		}
		if t.Kind == ledger.KindRefund {
			f.Refunds, f.MDRFee, f.Interchange = t.Amount, -mdr, -ic
			f.PointsEarned = -t.Debited // the take-back
		} else {
			f.Sales, f.MDRFee, f.Interchange = t.Amount, mdr, ic
			f.PointsEarned = t.Earned
		}
	case ledger.KindLoad:
		lc, err := fee(t.Amount, r.LoadCommissionBP)
		if err != nil {
			return f, wrap("load commission", err)
		}
		f.Loads, f.LoadCommission = t.Amount, lc
	case ledger.KindAccrual:
		f.PointsEarned = t.Earned
	case ledger.KindRedeem:
		f.RedeemedValue, f.PointsRedeemed = t.Amount, t.Debited
	}
	if f.PointCost, err = pointCost(f.PointsEarned, r.PointCost); err != nil {
		return f, wrap("point cost", err)
	}
	return f, nil
}

// maxUndoDepth bounds a chain of undos (a reversal of a void of a
// purchase is two; a reversal of a reversal is refused by the ledger).
const maxUndoDepth = 4

// Lookup reads a journal entry by seq (nil when there is none).
type Lookup func(seq uint64) (*ledger.Txn, error)

// IntrinsicFigures are what an entry adds to its merchant on its own:
// a counted entry its OwnFigures, an undo the negation of its original's
// intrinsic figures (a reversal of a void re-applies the voided entry).
func IntrinsicFigures(t *ledger.Txn, rb RateBook, lookup Lookup) (Figures, error) {
	sign := false
	for depth := 0; ; depth++ {
		if t.Kind != ledger.KindVoid && t.Kind != ledger.KindReversal {
			f, err := OwnFigures(t, rb)
			if sign {
				f = f.negate()
			}
			return f, err
		}
		if depth == maxUndoDepth {
			return Figures{}, fmt.Errorf("rrn %s: undo chain longer than %d", t.RRN(), maxUndoDepth)
		}
		o, err := lookup(t.OrigSeq)
		if err != nil {
			return Figures{}, err
		}
		if o == nil {
			return Figures{}, fmt.Errorf("rrn %s: its original %s is not in the journal", t.RRN(), ledger.FormatRRN(t.OrigSeq))
		}
		t, sign = o, !sign
	}
}
