package terminal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

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

// TerminalConfig configures a Terminal.
type TerminalConfig struct {
	TID  string    // 8 characters
	MID  string    // 15 characters
	Conn Exchanger // required; usually a *Client
	Now  func() time.Time
	// StatePath, when set, is the JSON file that keeps the next STAN, the
	// batch number, the open batch's transactions and the working keys (as
	// received, encrypted under the TMK) across processes. It holds full PANs
	// and is written with mode 0600.
	StatePath string
	// TMK is the terminal master key (16 bytes). Without it the terminal
	// ignores the keys of a sign-on and sends no MACs and no PIN blocks.
	TMK    []byte
	Logger zerolog.Logger
}

// Terminal is the POS terminal state machine for one TID/MID. Its operations
// are safe to call from several goroutines; they run one at a time.
type Terminal struct {
	cfg  TerminalConfig
	mu   sync.Mutex
	st   state
	keys workingKeys
}

// state is what a Terminal persists.
type state struct {
	NextSTAN    int
	Batch       int
	WorkingKeys []byte // field 62 as received
	Txns        []Txn
	// ATCs is the last application transaction counter of each chip card
	// used here, by PAN "/" PSN (chip.go).
	ATCs map[string]uint16
}

// NewTerminal returns a Terminal, loading its state file if one is configured
// and exists.
func NewTerminal(cfg TerminalConfig) (*Terminal, error) {
	if len(cfg.TID) != 8 {
		return nil, fmt.Errorf("terminal: TID %q is not 8 characters", cfg.TID)
	}
	if len(cfg.MID) != 15 {
		return nil, fmt.Errorf("terminal %s: MID %q is not 15 characters", cfg.TID, cfg.MID)
	}
	if cfg.Conn == nil {
		return nil, fmt.Errorf("terminal %s: Conn is required", cfg.TID)
	}
	if cfg.TMK != nil && len(cfg.TMK) != keyLen {
		return nil, fmt.Errorf("terminal %s: %w: TMK is %d bytes, want %d", cfg.TID, ErrBadKey, len(cfg.TMK), keyLen)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Terminal{cfg: cfg, st: state{NextSTAN: 1, Batch: 1}}
	if cfg.StatePath != "" {
		st, err := loadState(cfg.StatePath, cfg.TID, cfg.MID)
		if err != nil {
			return nil, err
		}
		if st != nil {
			t.st = *st
		}
	}
	if len(t.st.WorkingKeys) > 0 && cfg.TMK != nil {
		k, err := decryptField62(cfg.TMK, t.st.WorkingKeys)
		if err != nil {
			return nil, fmt.Errorf("terminal %s: working keys in %s: %w", cfg.TID, cfg.StatePath, err)
		}
		t.keys = k
		cfg.Conn.SetTAK(cfg.TID, k.TAK)
	}
	return t, nil
}

// TID returns the terminal id.
func (t *Terminal) TID() string { return t.cfg.TID }

// MID returns the merchant id.
func (t *Terminal) MID() string { return t.cfg.MID }

// Batch returns the current batch number.
func (t *Terminal) Batch() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.Batch
}

// NextSTAN returns the STAN the next request will carry.
func (t *Terminal) NextSTAN() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.NextSTAN
}

// Txns returns a copy of the approved transactions of the open batch, oldest first.
func (t *Terminal) Txns() []Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Txn(nil), t.st.Txns...)
}

// Totals returns the open batch's totals.
func (t *Terminal) Totals() Totals {
	t.mu.Lock()
	defer t.mu.Unlock()
	return batchTotals(t.st.Txns)
}

// HasKeys reports whether the terminal holds working keys.
func (t *Terminal) HasKeys() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys.TAK != nil
}

// LastApproved returns the most recent approved transaction of the open batch.
func (t *Terminal) LastApproved() (Txn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.st.Txns) == 0 {
		return Txn{}, false
	}
	return t.st.Txns[len(t.st.Txns)-1], true
}

// FindRRN returns the approved transaction of the open batch with that RRN.
func (t *Terminal) FindRRN(rrn string) (Txn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.st.Txns) - 1; i >= 0; i-- {
		if t.st.Txns[i].RRN == rrn {
			return t.st.Txns[i], true
		}
	}
	return Txn{}, false
}

// nextSTAN allocates a STAN: 000001..999999, then 000001 again.
func (st *state) nextSTAN() string {
	n := st.NextSTAN
	if n < 1 || n > maxSTAN {
		n = 1
	}
	st.NextSTAN = n%maxSTAN + 1
	return fmt.Sprintf("%06d", n)
}

// field7 formats the transmission date and time, UTC MMDDhhmmss.
func field7(now time.Time) string { return now.UTC().Format("0102150405") }

func (t *Terminal) save() error {
	if t.cfg.StatePath == "" {
		return nil
	}
	return saveState(t.cfg.StatePath, t.cfg.TID, t.cfg.MID, &t.st)
}

func (t *Terminal) batchField() string { return fmt.Sprintf("%06d", t.st.Batch) }

// newRequest starts a request with the fields every one carries.
func (t *Terminal) newRequest(mti string) *wire.Message {
	m := wire.NewMessage(mti)
	m.Set(41, t.cfg.TID)
	m.Set(42, t.cfg.MID)
	return m
}

// setCard sets the card fields, 22, 25 and, when allowed and entered, 52.
func (t *Terminal) setCard(m *wire.Message, c Card, pinAllowed bool) error {
	if err := c.check(); err != nil {
		return err
	}
	if c.Manual {
		m.Set(2, c.PAN)
		m.Set(14, c.Expiry)
		m.Set(22, "012")
	} else {
		svc := c.ServiceCode
		if svc == "" {
			svc = defaultServiceCode
		}
		m.Set(35, c.PAN+"="+c.Expiry+svc+c.Discretionary)
		m.Set(22, "021")
	}
	m.Set(25, "00")
	if pinAllowed && c.PIN != "" {
		if t.keys.TPK == nil {
			return fmt.Errorf("PIN for %s: %w", cardnum.Mask(c.PAN), ErrNoKeys)
		}
		blk, err := cardcrypto.EncryptPINBlock(t.keys.TPK, c.PIN, c.PAN)
		if err != nil {
			return err
		}
		m.Set(52, string(blk))
	}
	return nil
}

// exchange numbers req (11, 7), persists the STAN, sends req and parses the
// response. The caller holds t.mu. txn carries what the caller knows of the
// transaction; the result's Txn adds STAN, field 7 and the host's references.
func (t *Terminal) exchange(ctx context.Context, op Op, req *wire.Message, txn Txn) (*Result, error) {
	now := t.cfg.Now()
	stan := t.st.nextSTAN()
	f7 := field7(now)
	req.Set(11, stan)
	req.Set(7, f7)
	txn.Op, txn.MTI, txn.STAN, txn.Field7, txn.Batch = op, req.MTI, stan, f7, t.st.Batch
	if pc, ok := req.Get(3); ok {
		txn.ProcCode = pc
	}
	res := &Result{Op: op, TID: t.cfg.TID, Time: now, Txn: txn}
	if err := t.save(); err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := t.cfg.Conn.Do(ctx, req)
	res.Latency = time.Since(start)
	if resp == nil {
		if err == nil {
			err = fmt.Errorf("%w: nil response", ErrBadResponse)
		}
		return res, fmt.Errorf("terminal %s %s stan %s: %w", t.cfg.TID, op, stan, err)
	}
	res.Response = resp
	// The client MACed the request (field 64 or 128 set) and, returning
	// no error, found the response's MAC right.
	res.MACVerified = err == nil && (req.Has(64) || req.Has(128)) && (resp.Has(64) || resp.Has(128))
	res.PINEntered = req.Has(52)
	res.RC, _ = resp.Get(39)
	res.RRN, _ = resp.Get(37)
	res.AuthCode, _ = resp.Get(38)
	if f54, ok := resp.Get(54); ok {
		b, perr := ParseBalances(f54)
		if perr != nil {
			res.BalancesErr = perr
		} else {
			res.Balances = &b
		}
	}
	res.Txn.RRN, res.Txn.AuthCode = res.RRN, res.AuthCode
	t.logResult(res, err)
	if err != nil {
		return res, fmt.Errorf("terminal %s %s stan %s: %w", t.cfg.TID, op, stan, err)
	}
	if want := respClass(req.MTI); resp.MTI != want {
		return res, fmt.Errorf("terminal %s %s stan %s: %w: MTI %s, want %s", t.cfg.TID, op, stan, ErrBadResponse, resp.MTI, want)
	}
	if len(res.RC) != 2 {
		return res, fmt.Errorf("terminal %s %s stan %s: %w: field 39 %q", t.cfg.TID, op, stan, ErrBadResponse, res.RC)
	}
	return res, nil
}

func (t *Terminal) logResult(r *Result, err error) {
	ev := t.cfg.Logger.Info()
	if err != nil {
		ev = t.cfg.Logger.Warn().Str("error", err.Error())
	}
	ev.Str("tid", t.cfg.TID).Str("mid", t.cfg.MID).Str("op", string(r.Op)).
		Str("mti", r.Txn.MTI).Str("stan", r.Txn.STAN).Str("rrn", r.RRN).Str("rc", r.RC).
		Int64("latency_us", r.Latency.Microseconds()).Str("pan", cardnum.Mask(r.Txn.PAN)).
		Int64("amount_fen", int64(r.Txn.Amount)).Msg("terminal transaction")
}

// record keeps an approved transaction of the open batch and persists.
func (t *Terminal) record(x Txn) error {
	t.st.Txns = append(t.st.Txns, x)
	return t.save()
}

func (t *Terminal) checkRoom() error {
	if len(t.st.Txns) >= maxBatchTxns {
		return fmt.Errorf("terminal %s batch %06d: %w (%d transactions)", t.cfg.TID, t.st.Batch, ErrBatchFull, len(t.st.Txns))
	}
	return nil
}

// network sends an 0800 with field 70 = code.
func (t *Terminal) network(ctx context.Context, op Op, code string) (*Result, error) {
	m := t.newRequest("0800")
	m.Set(70, code)
	return t.exchange(ctx, op, m, Txn{})
}

// SignOn sends 0800/001. When approved and the terminal has a TMK, it takes
// the working keys of field 62 (checking their check values) and from then
// on MACs its requests and can send PIN blocks.
func (t *Terminal) SignOn(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeKeys(t.network(ctx, OpSignOn, "001"))
}

// KeyChange sends 0800/101 and takes the new working keys like SignOn.
func (t *Terminal) KeyChange(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.takeKeys(t.network(ctx, OpKeyChange, "101"))
}

func (t *Terminal) takeKeys(res *Result, err error) (*Result, error) {
	if err != nil || !res.Approved() || t.cfg.TMK == nil {
		return res, err
	}
	f62, ok := res.Response.Get(62)
	if !ok {
		return res, fmt.Errorf("terminal %s %s: %w: approved without field 62", t.cfg.TID, res.Op, ErrBadResponse)
	}
	k, err := decryptField62(t.cfg.TMK, []byte(f62))
	if err != nil {
		return res, fmt.Errorf("terminal %s %s: %w", t.cfg.TID, res.Op, err)
	}
	t.keys = k
	t.st.WorkingKeys = []byte(f62)
	t.cfg.Conn.SetTAK(t.cfg.TID, k.TAK)
	res.KeysTaken = true
	return res, t.save()
}

// SignOff sends 0800/002; when approved the terminal drops its working keys.
func (t *Terminal) SignOff(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	res, err := t.network(ctx, OpSignOff, "002")
	if err != nil || !res.Approved() {
		return res, err
	}
	t.keys = workingKeys{}
	t.st.WorkingKeys = nil
	t.cfg.Conn.SetTAK(t.cfg.TID, nil)
	return res, t.save()
}

// Echo sends 0800/301.
func (t *Terminal) Echo(ctx context.Context) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.network(ctx, OpEcho, "301")
}

// cardRequest builds and sends a request that carries a card. It records the
// transaction when approved and record is set.
func (t *Terminal) cardRequest(ctx context.Context, op Op, mti, pc string, c Card, amount Fen, hasAmount, record bool, extra func(m *wire.Message)) (*Result, error) {
	if record {
		if err := t.checkRoom(); err != nil {
			return nil, err
		}
	}
	m := t.newRequest(mti)
	m.Set(3, pc)
	if hasAmount {
		f4, err := amount.field4()
		if err != nil {
			return nil, err
		}
		m.Set(4, f4)
	}
	// PINs only travel in 0100 and original 0200s; voids never need one.
	if err := t.setCard(m, c, (mti == "0100" || mti == "0200") && pc != pcVoid); err != nil {
		return nil, err
	}
	var chip *chipTxn
	if c.Chip != nil {
		var err error
		if chip, err = t.setChip(m, c, pc, amount); err != nil {
			return nil, err
		}
	}
	if mti != "0100" && mti != "0320" {
		m.Set(49, currencyCNY)
	}
	m.Set(60, t.batchField())
	if extra != nil {
		extra(m)
	}
	res, err := t.exchange(ctx, op, m, Txn{Amount: amount, PAN: c.PAN, Expiry: c.Expiry})
	if err == nil && chip != nil {
		// A card that rejects the issuer's answer ends the transaction
		// there: it is not recorded, and the caller sees why.
		if verr := chip.verify(res); verr != nil {
			return res, fmt.Errorf("terminal %s %s stan %s: %w", t.cfg.TID, op, res.Txn.STAN, verr)
		}
	}
	if err != nil || !res.Approved() || !record {
		return res, err
	}
	return res, t.record(res.Txn)
}

// Balance sends a balance inquiry, 0100/310000.
func (t *Terminal) Balance(ctx context.Context, c Card) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpBalance, "0100", pcBalance, c, 0, false, false, nil)
}

// PreAuth sends a pre-authorization, 0100/000000, placing a hold of amount.
func (t *Terminal) PreAuth(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpPreAuth, "0100", pcGoods, c, amount, true, true, nil)
}

// Complete sends a completion advice, 0220/000000 with field 90 naming the
// pre-authorization, capturing amount.
func (t *Terminal) Complete(ctx context.Context, preauth Txn, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpComplete, "0220", pcGoods, preauth.card(), amount, true, true, func(m *wire.Message) {
		m.Set(90, preauth.Field90())
	})
}

// Purchase sends a purchase paid with stored value, 0200/000000.
func (t *Terminal) Purchase(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpPurchase, "0200", pcGoods, c, amount, true, true, nil)
}

// Refund sends a refund of the purchase with RRN originalRRN, 0200/200000.
func (t *Terminal) Refund(ctx context.Context, c Card, originalRRN string, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(originalRRN) != 12 {
		return nil, fmt.Errorf("terminal %s refund: RRN %q is not 12 characters", t.cfg.TID, originalRRN)
	}
	return t.cardRequest(ctx, OpRefund, "0200", pcRefund, c, amount, true, true, func(m *wire.Message) {
		m.Set(37, originalRRN)
	})
}

// Load sends a cash load (top-up), 0200/210000.
func (t *Terminal) Load(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpLoad, "0200", pcLoad, c, amount, true, true, nil)
}

// Accrual sends a points accrual for a purchase of amount paid otherwise, 0200/900000.
func (t *Terminal) Accrual(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpAccrual, "0200", pcAccrual, c, amount, true, true, nil)
}

// Redeem sends a points redemption worth amount, 0200/910000.
func (t *Terminal) Redeem(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpRedeem, "0200", pcRedeem, c, amount, true, true, nil)
}

// Void sends a void of original, 0200/020000 with field 90 naming it and
// field 4 its amount. When approved, original stops counting in the totals.
func (t *Terminal) Void(ctx context.Context, original Txn) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkRoom(); err != nil {
		return nil, err
	}
	res, err := t.cardRequest(ctx, OpVoid, "0200", pcVoid, original.card(), original.Amount, true, false, func(m *wire.Message) {
		m.Set(90, original.Field90())
	})
	if err != nil || !res.Approved() {
		return res, err
	}
	res.Txn.Original = original.ID()
	t.mark(original.ID(), func(x *Txn) { x.Voided = true })
	return res, t.record(res.Txn)
}

// Reverse sends a reversal of original, 0400 with original's processing code
// and amount and field 90 naming it. When approved the original stops
// counting; a reversed void puts its own original back.
func (t *Terminal) Reverse(ctx context.Context, original Txn) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if original.MTI == "" || original.ProcCode == "" {
		return nil, fmt.Errorf("terminal %s reverse: %w: original has no MTI or processing code", t.cfg.TID, ErrNotFound)
	}
	res, err := t.cardRequest(ctx, OpReverse, "0400", original.ProcCode, original.card(), original.Amount, true, false, func(m *wire.Message) {
		m.Set(90, original.Field90())
	})
	if err != nil || !res.Approved() {
		return res, err
	}
	res.Txn.Original = original.ID()
	t.mark(original.ID(), func(x *Txn) { x.Reversed = true })
	if original.Original != "" && original.ProcCode == pcVoid {
		t.mark(original.Original, func(x *Txn) { x.Voided = false })
	}
	return res, t.save()
}

// mark applies f to the recorded transaction with that ID, if any.
func (t *Terminal) mark(id string, f func(*Txn)) {
	for i := range t.st.Txns {
		if t.st.Txns[i].ID() == id {
			f(&t.st.Txns[i])
			return
		}
	}
}

// SettleResult is the outcome of a batch close.
type SettleResult struct {
	Batch   int       // the batch that was settled
	Totals  Totals    // the terminal's totals sent in field 48
	Settle  *Result   // 0500/920000
	Uploads []*Result // 0320s after a 95
	Close   *Result   // 0500/960000 after the uploads, nil without a 95
	Closed  bool      // the host answered 00 and the terminal moved to the next batch
}

// Settle closes the batch: 0500/920000 with the terminal's totals. On 95 it
// uploads every transaction its totals count with 0320 and closes with
// 0500/960000. After a 00 it moves to the next batch number and forgets the
// batch's transactions.
func (t *Terminal) Settle(ctx context.Context) (*SettleResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sr := &SettleResult{Batch: t.st.Batch, Totals: batchTotals(t.st.Txns)}
	settle := func(op Op, pc string) (*Result, error) {
		m := t.newRequest("0500")
		m.Set(3, pc)
		m.Set(48, sr.Totals.Field48())
		m.Set(60, t.batchField())
		return t.exchange(ctx, op, m, Txn{})
	}
	var err error
	if sr.Settle, err = settle(OpSettle, pcSettle); err != nil {
		return sr, err
	}
	final := sr.Settle
	if sr.Settle.RC == RCTotalsMismatch {
		for _, x := range t.st.Txns {
			if d, c := x.counts(); !d && !c {
				continue
			}
			res, err := t.cardRequest(ctx, OpUpload, "0320", x.ProcCode, x.card(), x.Amount, true, false, func(m *wire.Message) {
				m.Set(37, x.RRN)
				m.Set(90, x.Field90())
			})
			if res != nil {
				sr.Uploads = append(sr.Uploads, res)
			}
			if err != nil {
				return sr, err
			}
		}
		if sr.Close, err = settle(OpClose, pcCloseUpl); err != nil {
			return sr, err
		}
		final = sr.Close
	}
	if !final.Approved() {
		return sr, nil
	}
	if t.st.Batch >= maxBatch {
		return sr, fmt.Errorf("terminal %s: %w", t.cfg.TID, ErrBatchExhausted)
	}
	t.st.Batch++
	t.st.Txns = nil
	sr.Closed = true
	return sr, t.save()
}
