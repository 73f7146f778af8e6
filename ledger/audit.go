package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// Operators' security changes: card state, card and BIN blacklists, PIN
// unblock, terminal master keys. Each one writes its audit record in the
// same synced batch as the change it records, so there is never a change
// without its record or a record without its change.

// Operator says who made a change and why; both are required.
type Operator struct {
	Name   string `json:"operator"`
	Reason string `json:"reason"`
}

// Limits on what an operator's audit fields may hold.
const (
	maxOperatorLen = 64
	maxReasonLen   = 256
	// MaxBINRanges bounds the BIN blacklist (it is checked on every
	// authorization).
	MaxBINRanges = 1000
)

// ErrNoOperator is returned for a change without an operator or reason.
var ErrNoOperator = errors.New("operator and reason are required")

func (o Operator) validate() error {
	switch {
	case strings.TrimSpace(o.Name) == "" || len(o.Name) > maxOperatorLen || !printable(o.Name):
		return fmt.Errorf("operator %q: want 1 to %d printable characters: %w", o.Name, maxOperatorLen, ErrNoOperator)
	case strings.TrimSpace(o.Reason) == "" || len(o.Reason) > maxReasonLen || !printable(o.Reason):
		return fmt.Errorf("reason: want 1 to %d printable characters: %w", maxReasonLen, ErrNoOperator)
	}
	return nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// AuditRecord is one operator change. Target names a card by its masked
// PAN only.
type AuditRecord struct {
	Seq      uint64 `json:"seq"` // its key: the clock's nanoseconds, made unique
	At       int64  `json:"at_unix_nano"`
	Operator string `json:"operator"`
	Reason   string `json:"reason"`
	Action   string `json:"action"`
	Target   string `json:"target"`
	Detail   string `json:"detail,omitempty"`
}

// audit appends an audit record to the change t is making. Records are
// keyed by the host clock's nanoseconds, moved on past any record already
// there, so they list in the order they were made.
func (s *Store) audit(t *tx, op Operator, action, target, detail string) error {
	seq := uint64(s.opts.Now().UnixNano())
	for {
		v, err := t.get(keyAudit(seq))
		if err != nil {
			return err
		}
		if v == nil {
			break
		}
		seq++
	}
	rec := AuditRecord{
		Seq: seq, At: s.opts.Now().UnixNano(), Operator: op.Name, Reason: op.Reason,
		Action: action, Target: target, Detail: detail,
	}
	raw, err := json.Marshal(&rec)
	if err != nil {
		return err
	}
	t.set(keyAudit(seq), raw)
	return nil
}

// AuditLog lists audit records after seq, oldest first.
func (s *Store) AuditLog(after uint64, limit int) ([]AuditRecord, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	db, release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	it, err := db.NewIter(&pebble.IterOptions{
		LowerBound: []byte(keyAudit(after + 1)), UpperBound: prefixEnd(prefixAudit),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []AuditRecord
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		var r AuditRecord
		if err := json.Unmarshal(it.Value(), &r); err != nil {
			return nil, fmt.Errorf("ledger: decode audit record: %w", err)
		}
		out = append(out, r)
	}
	return out, it.Error()
}

// existingCard reads a card an operator names; ErrNotFound when there is
// none.
func existingCard(t *tx, pan string) (*Card, error) {
	c, err := registryGet[Card](t, keyCard(pan))
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("card %s: %w", cardnum.Mask(pan), ErrNotFound)
	}
	return c, nil
}

// changeCard applies fn to a card and records the change.
func (s *Store) changeCard(ctx context.Context, pan string, op Operator, action string, fn func(c *Card) (string, error)) error {
	if err := op.validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		c, err := existingCard(t, pan)
		if err != nil {
			return err
		}
		cp := *c
		detail, err := fn(&cp)
		if err != nil {
			return err
		}
		if err := registryPut(t, keyCard(pan), &cp); err != nil {
			return err
		}
		return s.audit(t, op, action, cardnum.Mask(pan), detail)
	})
}

// SetCardState moves a card to another lifecycle state.
func (s *Store) SetCardState(ctx context.Context, pan string, st CardState, op Operator) error {
	if cardStateNames[st] == "" {
		return fmt.Errorf("card state %d: unknown", st)
	}
	return s.changeCard(ctx, pan, op, "card_state", func(c *Card) (string, error) {
		detail := c.State.String() + " -> " + st.String()
		c.State = st
		return detail, nil
	})
}

// SetCardBlacklisted puts a card on the blacklist or takes it off.
func (s *Store) SetCardBlacklisted(ctx context.Context, pan string, on bool, op Operator) error {
	return s.changeCard(ctx, pan, op, "card_blacklist", func(c *Card) (string, error) {
		detail := fmt.Sprintf("%t -> %t", c.Blacklisted, on)
		c.Blacklisted = on
		return detail, nil
	})
}

// SetCardPIN replaces a card's PIN verification data (made by PINData).
func (s *Store) SetCardPIN(ctx context.Context, pan string, pinData []byte, op Operator) error {
	if len(pinData) != PINDataLen {
		return fmt.Errorf("card %s pin data: want %d bytes", cardnum.Mask(pan), PINDataLen)
	}
	return s.changeCard(ctx, pan, op, "card_pin_set", func(c *Card) (string, error) {
		c.PINData = pinData
		return "", nil
	})
}

// PINState is a card's PIN block state, for operators.
type PINState struct {
	HasPIN  bool `json:"has_pin"`
	Tries   int  `json:"wrong_tries"`
	Blocked bool `json:"blocked"`
}

// CardPINState reads a card's PIN state.
func (s *Store) CardPINState(pan string) (PINState, error) {
	c, err := s.Card(pan)
	if err != nil {
		return PINState{}, err
	}
	var cs CardSecurity
	v, err := s.dbGet(keyCardSec(pan))
	if err != nil {
		return PINState{}, err
	}
	if v != nil {
		if err := cs.decode(v); err != nil {
			return PINState{}, err
		}
	}
	return PINState{HasPIN: c.PINData != nil, Tries: int(cs.PINTries), Blocked: cs.PINBlocked}, nil
}

// UnblockPIN lifts a card's PIN block and resets its wrong-PIN count.
func (s *Store) UnblockPIN(ctx context.Context, pan string, op Operator) error {
	if err := op.validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		if _, err := existingCard(t, pan); err != nil {
			return err
		}
		cs, err := getRecord[CardSecurity](t, keyCardSec(pan))
		if err != nil {
			return err
		}
		if cs == nil {
			cs = &CardSecurity{}
		}
		detail := fmt.Sprintf("blocked %t, wrong tries %d -> 0", cs.PINBlocked, cs.PINTries)
		cs.PINBlocked, cs.PINTries = false, 0
		t.put(keyCardSec(pan), cs)
		return s.audit(t, op, "pin_unblock", cardnum.Mask(pan), detail)
	})
}

// SetTerminalTMK loads a terminal's master key (clear, as combined from
// its custodians' components); the store keeps it sealed. The terminal's
// working keys stay until its next sign-on.
func (s *Store) SetTerminalTMK(ctx context.Context, tid string, tmk []byte, kcv string, op Operator) error {
	if err := op.validate(); err != nil {
		return err
	}
	sealed, err := s.SealTMK(tid, tmk)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		term, err := registryGet[Terminal](t, keyTerminal(tid))
		if err != nil {
			return err
		}
		if term == nil {
			return fmt.Errorf("terminal %s: %w", tid, ErrNotFound)
		}
		cp := *term
		old := cp.TMKKCV
		cp.TMK, cp.TMKKCV = sealed, kcv
		if err := registryPut(t, keyTerminal(tid), &cp); err != nil {
			return err
		}
		return s.audit(t, op, "terminal_tmk", tid, fmt.Sprintf("kcv %q -> %q", old, kcv))
	})
}

// SetProgramIMK loads a program's issuer master key (clear, as combined
// from its custodians' components); the store keeps it sealed. Chip
// cryptograms are checked under it from the next request on.
func (s *Store) SetProgramIMK(ctx context.Context, id string, imk []byte, kcv string, op Operator) error {
	if err := op.validate(); err != nil {
		return err
	}
	sealed, err := s.SealIMK(id, imk)
	if err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		p, err := registryGet[Program](t, keyProgram(id))
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("program %s: %w", id, ErrNotFound)
		}
		cp := *p
		old := cp.IMKKCV
		cp.IMK, cp.IMKKCV = sealed, kcv
		if err := registryPut(t, keyProgram(id), &cp); err != nil {
			return err
		}
		return s.audit(t, op, "program_imk", id, fmt.Sprintf("kcv %q -> %q", old, kcv))
	})
}

// BINRange blacklists every PAN whose leading digits, as many as Low
// has, lie between Low and High inclusive.
type BINRange struct {
	Low  string `json:"low"`
	High string `json:"high"`
}

func (b BINRange) String() string { return b.Low + "-" + b.High }

// Validate checks a range: 6 to 12 digits, Low and High of one length,
// Low not above High.
func (b BINRange) Validate() error {
	if len(b.Low) < 6 || len(b.Low) > 12 || !cardnum.Digits(b.Low) {
		return fmt.Errorf("bin range low %q: want 6 to 12 digits", b.Low)
	}
	if len(b.High) != len(b.Low) || !cardnum.Digits(b.High) {
		return fmt.Errorf("bin range high %q: want %d digits, as many as low", b.High, len(b.Low))
	}
	if b.High < b.Low {
		return fmt.Errorf("bin range %s: high is below low", b)
	}
	return nil
}

// Contains reports whether pan falls in the range.
func (b BINRange) Contains(pan string) bool {
	if len(pan) < len(b.Low) {
		return false
	}
	head := pan[:len(b.Low)]
	return head >= b.Low && head <= b.High
}

// binBlacklist is the stored list of ranges.
type binBlacklist struct {
	Ranges []BINRange `json:"ranges"`
}

// BINBlacklist lists the blacklisted BIN ranges.
func (s *Store) BINBlacklist() ([]BINRange, error) {
	bl, err := readJSON[binBlacklist](s, keyBINBlacklist)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return bl.Ranges, nil
}

// SetBINRange adds a range to the BIN blacklist (on) or removes it.
func (s *Store) SetBINRange(ctx context.Context, r BINRange, on bool, op Operator) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := op.validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		bl, err := registryGet[binBlacklist](t, keyBINBlacklist)
		if err != nil {
			return err
		}
		next := binBlacklist{}
		found := false
		if bl != nil {
			for _, x := range bl.Ranges {
				if x == r {
					found = true
					if !on {
						continue
					}
				}
				next.Ranges = append(next.Ranges, x)
			}
		}
		switch {
		case on && found, !on && !found:
			return nil // nothing to change, nothing to audit
		case on && len(next.Ranges) >= MaxBINRanges:
			return fmt.Errorf("bin blacklist: at most %d ranges: %w", MaxBINRanges, ErrConflict)
		case on:
			next.Ranges = append(next.Ranges, r)
		}
		if err := registryPut(t, keyBINBlacklist, &next); err != nil {
			return err
		}
		action := "bin_blacklist_add"
		if !on {
			action = "bin_blacklist_remove"
		}
		return s.audit(t, op, action, r.String(), "")
	})
}

// binBlacklisted reports whether a PAN falls in a blacklisted BIN range.
func (d *decision) binBlacklisted(pan string) (bool, error) {
	bl, err := registryGet[binBlacklist](d.t, keyBINBlacklist)
	if err != nil || bl == nil {
		return false, err
	}
	for _, r := range bl.Ranges {
		if r.Contains(pan) {
			return true, nil
		}
	}
	return false, nil
}
