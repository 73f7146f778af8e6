package terminal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// terminal.go: the Terminal: its configuration and persistent state, and
// how it builds, sends and records a request. Each flow is in its own file.

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
	if want := wire.ResponseMTI(req.MTI); resp.MTI != want {
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
