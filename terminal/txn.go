package terminal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// txn.go: the Terminal's vocabulary: operations, cards, recorded
// transactions, batch totals and results.

// Exchanger is what a Terminal needs from its connection to the host.
// *Client implements it; several Terminals may share one Client.
type Exchanger interface {
	Do(ctx context.Context, req *wire.Message) (*wire.Message, error)
	SetTAK(tid string, tak []byte)
}

// Op names a terminal operation; it is also the verb of a scenario line.
type Op string

// Operations.
const (
	OpSignOn    Op = "signon"    // 0800 / 001
	OpSignOff   Op = "signoff"   // 0800 / 002
	OpEcho      Op = "echo"      // 0800 / 301
	OpKeyChange Op = "keychange" // 0800 / 101
	OpBalance   Op = "balance"   // 0100 / 310000
	OpPreAuth   Op = "preauth"   // 0100 / 000000
	OpComplete  Op = "complete"  // 0220 / 000000
	OpPurchase  Op = "purchase"  // 0200 / 000000
	OpRefund    Op = "refund"    // 0200 / 200000
	OpLoad      Op = "load"      // 0200 / 210000
	OpVoid      Op = "void"      // 0200 / 020000
	OpAccrual   Op = "accrual"   // 0200 / 900000
	OpRedeem    Op = "redeem"    // 0200 / 910000
	OpReverse   Op = "reverse"   // 0400 / original's
	OpSettle    Op = "settle"    // 0500 / 920000
	OpUpload    Op = "upload"    // 0320 / original's
	OpClose     Op = "close"     // 0500 / 960000 after uploads
)

// Processing codes (field 3).
const (
	pcGoods    = "000000"
	pcVoid     = "020000"
	pcRefund   = "200000"
	pcLoad     = "210000"
	pcBalance  = "310000"
	pcAccrual  = "900000"
	pcRedeem   = "910000"
	pcSettle   = "920000"
	pcCloseUpl = "960000"
)

// opProcCode is field 3 of the requests that carry a card of their own.
var opProcCode = map[Op]string{
	OpBalance: pcBalance, OpPreAuth: pcGoods, OpPurchase: pcGoods, OpRefund: pcRefund,
	OpLoad: pcLoad, OpAccrual: pcAccrual, OpRedeem: pcRedeem,
}

// Limits of a Terminal.
const (
	maxSTAN  = 999_999
	maxBatch = 999_999
	// maxBatchTxns bounds the transactions a terminal remembers in one batch;
	// it also keeps the counts of field 48 within 3 digits.
	maxBatchTxns = 999
)

const (
	currencyCNY        = "156"
	defaultServiceCode = "101"
	field90Padding     = "0000000000000000000000" // 22 zeros
)

// Errors of a Terminal.
var (
	ErrBatchFull      = errors.New("batch full: settle first")
	ErrNoKeys         = errors.New("terminal has no working keys: sign on first")
	ErrBadResponse    = errors.New("malformed response")
	ErrBadCard        = errors.New("invalid card")
	ErrNotFound       = errors.New("no such transaction")
	ErrBatchExhausted = errors.New("batch numbers exhausted")
)

// Card is a card as presented at the terminal. PAN and Expiry are needed;
// the rest is optional. Its String and GoString mask the PAN and leave out
// the PIN and discretionary data.
type Card struct {
	PAN           string // 12-19 digits
	Expiry        string // YYMM
	ServiceCode   string // track 2 service code, default 101
	Discretionary string // track 2 discretionary data, default none
	Manual        bool   // key-entered: fields 2 + 14 and field 22 = 012 instead of track 2 (35) and 021
	PIN           string // entered PIN; sent as field 52 in 0100/0200 when set
	// Chip, when set, presents the card by chip: track 2 (35) with field 22
	// = 051, field 23 and field 55 (chip.go). Not with Manual.
	Chip *ChipCard
}

func (c Card) String() string   { return "card " + cardnum.Mask(c.PAN) }
func (c Card) GoString() string { return c.String() }

func (c Card) check() error {
	if len(c.PAN) == 0 || len(c.PAN) > 19 || !cardnum.Digits(c.PAN) {
		return fmt.Errorf("%w: PAN %s is not 1-19 digits", ErrBadCard, cardnum.Mask(c.PAN))
	}
	if len(c.Expiry) != 4 || !cardnum.Digits(c.Expiry) {
		return fmt.Errorf("%w: expiry %q of %s is not YYMM", ErrBadCard, c.Expiry, cardnum.Mask(c.PAN))
	}
	if c.Manual && c.Chip != nil {
		return fmt.Errorf("%w: %s is both key-entered and read by chip", ErrBadCard, cardnum.Mask(c.PAN))
	}
	if !c.Manual {
		svc := c.ServiceCode
		if svc == "" {
			svc = defaultServiceCode
		}
		if n := len(c.PAN) + 1 + 4 + len(svc) + len(c.Discretionary); n > 37 {
			return fmt.Errorf("%w: track 2 of %s is %d characters, more than 37", ErrBadCard, cardnum.Mask(c.PAN), n)
		}
	}
	return nil
}

// Txn is a transaction a terminal sent: its identity (MTI, STAN, field 7),
// what it was, and the host's references once approved. A Terminal keeps the
// approved ones of its open batch. It holds the full PAN (needed for voids,
// reversals and uploads); String and GoString mask it.
type Txn struct {
	Op       Op
	MTI      string // the original MTI, never a repeat: 0100, 0200, 0220, 0400
	ProcCode string
	STAN     string
	Field7   string
	Amount   Fen
	RRN      string
	AuthCode string
	Batch    int
	PAN      string
	Expiry   string
	Original string // for completions, voids and reversals: the original's ID
	Voided   bool
	Reversed bool
}

// ID is the transaction's identity as field 90 names it: MTI, STAN, field 7.
func (x Txn) ID() string { return x.MTI + x.STAN + x.Field7 }

// Field90 is field 90 naming x: MTI(4) STAN(6) field 7(10) and 22 zeros.
func (x Txn) Field90() string { return x.ID() + field90Padding }

func (x Txn) String() string {
	return fmt.Sprintf("%s %s/%s stan %s rrn %s %s %s", x.Op, x.MTI, x.ProcCode, x.STAN, x.RRN, cardnum.Mask(x.PAN), x.Amount)
}
func (x Txn) GoString() string { return x.String() }

func (x Txn) card() Card { return Card{PAN: x.PAN, Expiry: x.Expiry, Manual: true} }

// counts reports whether x counts in the batch totals, as a debit or credit
// (contract section 6).
func (x Txn) counts() (debit, credit bool) {
	if x.Voided || x.Reversed {
		return false, false
	}
	switch {
	case x.MTI == "0220", x.MTI == "0200" && x.ProcCode == pcGoods:
		return true, false
	case x.MTI == "0200" && (x.ProcCode == pcRefund || x.ProcCode == pcLoad):
		return false, true
	}
	return false, false
}

// Totals are the batch totals of field 48.
type Totals struct {
	DebitCount   int
	DebitAmount  Fen
	CreditCount  int
	CreditAmount Fen
}

// Field48 formats t as NNN AAAAAAAAAAAA NNN AAAAAAAAAAAA without spaces.
func (t Totals) Field48() string {
	return fmt.Sprintf("%03d%012d%03d%012d", t.DebitCount, int64(t.DebitAmount), t.CreditCount, int64(t.CreditAmount))
}

// ParseTotals parses field 48.
func ParseTotals(s string) (Totals, error) {
	if len(s) != 30 || !cardnum.Digits(s) {
		return Totals{}, fmt.Errorf("%w: field 48 %q is not 30 digits", ErrBadResponse, s)
	}
	var t Totals
	fmt.Sscanf(s[0:3], "%d", &t.DebitCount)
	fmt.Sscanf(s[3:15], "%d", (*int64)(&t.DebitAmount))
	fmt.Sscanf(s[15:18], "%d", &t.CreditCount)
	fmt.Sscanf(s[18:30], "%d", (*int64)(&t.CreditAmount))
	return t, nil
}

// batchTotals computes the totals of txns.
func batchTotals(txns []Txn) Totals {
	var t Totals
	for _, x := range txns {
		d, c := x.counts()
		if d {
			t.DebitCount++
			t.DebitAmount += x.Amount
		}
		if c {
			t.CreditCount++
			t.CreditAmount += x.Amount
		}
	}
	return t
}

// Result is the outcome of one request.
type Result struct {
	Op       Op
	TID      string
	Time     time.Time // the terminal clock when the request was built
	Txn      Txn       // the request's identity; RRN and auth code filled when approved
	RC       string    // field 39
	RRN      string    // field 37
	AuthCode string    // field 38
	// Balances is field 54 parsed, nil when the response has none;
	// BalancesErr is set instead when field 54 is malformed.
	Balances    *Balances
	BalancesErr error
	Response    *wire.Message
	Latency     time.Duration
	// Chip is set for a chip request that got a response: the ATC used and
	// whether tag 91 verified.
	Chip *ChipResult
	// MACVerified is set when the request went out MACed and the response
	// carried a MAC that verified under the terminal's TAK.
	MACVerified bool
	// PINEntered is set when the request carried a PIN block (field 52).
	PINEntered bool
	// KeysTaken is set when a sign-on or key change gave the terminal
	// new working keys whose check values matched.
	KeysTaken bool
}

// Approved reports whether the host answered 00.
func (r *Result) Approved() bool { return r != nil && r.RC == RCApproved }
