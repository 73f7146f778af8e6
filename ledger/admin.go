package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

// Operator API: registry changes and adjustments go through the writer like
// every authorization, so they are ordered with them and durable when the
// call returns. Reads see committed state.

var (
	// ErrNotFound: the registry record or card does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change contradicts the registry (a missing parent).
	ErrConflict = errors.New("conflict")
)

const maxListLimit = 1000

// PutProgram creates or replaces a program. A record without an IMK keeps
// the stored one; a record without loyalty rules keeps the stored rules.
// Rules that differ from the stored ones (versionRules) get the next
// version, kept also under reg/rules/ for good; identical rules keep
// their version, so a re-import changes nothing. The version in p is
// ignored: the store assigns it.
func (s *Store) PutProgram(ctx context.Context, p Program) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		old, err := registryGet[Program](t, keyProgram(p.ID))
		if err != nil {
			return err
		}
		if p.IMK == nil && old != nil { // a record without a key keeps the stored one
			p.IMK, p.IMKKCV = old.IMK, old.IMKKCV
		}
		var prev *loyalty.Rules
		if old != nil {
			prev = old.Loyalty
		}
		if p.Loyalty, err = versionRules(t, p.ID, prev, p.Loyalty); err != nil {
			return err
		}
		return registryPut(t, keyProgram(p.ID), &p)
	})
}

// PutMerchant creates or replaces a merchant of an existing program.
func (s *Store) PutMerchant(ctx context.Context, m Merchant) error {
	if err := m.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		if p, err := registryGet[Program](t, keyProgram(m.ProgramID)); err != nil {
			return err
		} else if p == nil {
			return fmt.Errorf("merchant %s program_id %q: %w", m.MID, m.ProgramID, ErrConflict)
		}
		return registryPut(t, keyMerchant(m.MID), &m)
	})
}

// PutTerminal creates or replaces a terminal of an existing merchant; its
// runtime state (signed on, open batch) is kept.
func (s *Store) PutTerminal(ctx context.Context, term Terminal) error {
	if err := term.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		if m, err := registryGet[Merchant](t, keyMerchant(term.MID)); err != nil {
			return err
		} else if m == nil {
			return fmt.Errorf("terminal %s mid %q: %w", term.TID, term.MID, ErrConflict)
		}
		if term.TMK == nil { // a record without a key keeps the stored one
			old, err := registryGet[Terminal](t, keyTerminal(term.TID))
			if err != nil {
				return err
			}
			if old != nil {
				term.TMK, term.TMKKCV = old.TMK, old.TMKKCV
			}
		}
		return registryPut(t, keyTerminal(term.TID), &term)
	})
}

// PutCard creates or replaces a card; its accounts are kept.
func (s *Store) PutCard(ctx context.Context, c Card) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		p, err := registryGet[Program](t, keyProgram(c.ProgramID))
		if err != nil {
			return err
		} else if p == nil {
			return fmt.Errorf("card %s program_id %q: %w", cardnum.Mask(c.PAN), c.ProgramID, ErrConflict)
		}
		if _, ok := p.Product(c.Product); !ok {
			return fmt.Errorf("card %s product %q: not a product of program %s: %w", cardnum.Mask(c.PAN), c.Product, p.ID, ErrConflict)
		}
		m, err := registryGet[Merchant](t, keyMerchant(c.HomeMID))
		if err != nil {
			return err
		}
		if m == nil || !m.Home || m.ProgramID != c.ProgramID {
			return fmt.Errorf("card %s home_mid %q: not a home merchant of program %s: %w", cardnum.Mask(c.PAN), c.HomeMID, c.ProgramID, ErrConflict)
		}
		if c.PINData == nil { // a record without a PIN keeps the stored one
			old, err := registryGet[Card](t, keyCard(c.PAN))
			if err != nil {
				return err
			}
			if old != nil {
				c.PINData = old.PINData
			}
		}
		return registryPut(t, keyCard(c.PAN), &c)
	})
}

// Adjust credits (amount > 0) or debits (amount < 0) a card's stored value
// against its program's float account, as a journal entry; it returns the
// entry's RRN.
func (s *Store) Adjust(ctx context.Context, pan string, amount Amount, note string) (string, error) {
	return s.adjust(ctx, pan, int64(amount), UnitMoney, note)
}

// AdjustPoints credits or debits a card's points against the program's
// points issuance account.
func (s *Store) AdjustPoints(ctx context.Context, pan string, pts Points, note string) (string, error) {
	return s.adjust(ctx, pan, int64(pts), UnitPoints, note)
}

// maxNoteBytes bounds an adjustment's note.
const maxNoteBytes = 200

func (s *Store) adjust(ctx context.Context, pan string, delta int64, unit Unit, note string) (string, error) {
	if len(note) > maxNoteBytes {
		return "", fmt.Errorf("adjustment note: longer than %d bytes", maxNoteBytes)
	}
	field := "amount"
	if unit == UnitPoints {
		field = "points"
	}
	if delta == 0 {
		return "", fmt.Errorf("adjustment %s: must not be zero: %w", field, ErrBadAmount)
	}
	// Refused before anything is read: past MaxAmount no balance could
	// take it, and -delta of math.MinInt64 does not exist.
	if !InRange(delta) {
		return "", fmt.Errorf("adjustment %s %d: beyond ±%d: %w", field, delta, int64(MaxAmount), ErrOutOfRange)
	}
	var rrn string
	err := s.update(ctx, func(t *tx) error {
		c, err := registryGet[Card](t, keyCard(pan))
		if err != nil {
			return err
		}
		if c == nil {
			return fmt.Errorf("card %s: %w", cardnum.Mask(pan), ErrNotFound)
		}
		now := s.opts.Now()
		d := decision{s: s, t: t, r: &Request{Kind: KindAdjust, PAN: pan}, card: c, now: now}
		sv, pts, err := d.cardAccounts()
		if err != nil {
			return err
		}
		cardAcct, progAcct := sv, d.accountOf(accountFloat(c.ProgramID), UnitMoney)
		if unit == UnitPoints {
			cardAcct, progAcct = pts, d.accountOf(accountProgramPts(c.ProgramID), UnitPoints)
		}
		// Operators type yuan (or points), so the errors speak yuan.
		show := func(v int64) string {
			if unit == UnitPoints {
				return fmt.Sprintf("%d points", v)
			}
			return Amount(v).String() + " yuan"
		}
		if delta < 0 && cardAcct.Available() < -delta {
			return fmt.Errorf("card %s: debit %s above available %s: %w", cardnum.Mask(pan), show(-delta), show(cardAcct.Available()), ErrInsufficientFunds)
		}
		after, err := addInRange(cardAcct.Balance(), delta)
		if err != nil {
			return fmt.Errorf("card %s: adjustment %s %s: balance %s: %w", cardnum.Mask(pan), field, show(delta), show(cardAcct.Balance()), err)
		}
		if unit == UnitMoney && delta > 0 && Amount(after) > c.EffectiveMaxBalance() {
			return fmt.Errorf("card %s: credit %s would bring the balance %s above its maximum %s: %w", cardnum.Mask(pan),
				show(delta), show(cardAcct.Balance()), show(int64(c.EffectiveMaxBalance())), ErrOverLimit)
		}
		// A money adjustment's amount is its Amount; a points adjustment
		// shows as points earned or debited, as in field 54.
		if unit == UnitMoney {
			d.r.Amount = Amount(delta)
		}
		txn := d.newTxn()
		txn.MID, txn.Note = c.HomeMID, note
		if unit == UnitPoints && delta > 0 {
			txn.Earned = Points(delta)
		} else if unit == UnitPoints {
			txn.Debited = Points(-delta)
		}
		if delta > 0 {
			d.post(txn, progAcct, cardAcct, delta, 0)
		} else {
			d.post(txn, cardAcct, progAcct, -delta, 0)
		}
		if unit == UnitPoints {
			if err := d.adjustWallet(txn, delta); err != nil {
				return err
			}
		}
		if d.ioErr != nil {
			return d.ioErr
		}
		if d.refused != nil {
			return fmt.Errorf("card %s: adjustment %s %d: %w", cardnum.Mask(pan), field, delta, d.refused)
		}
		d.finish(txn, sv, pts)
		rrn = txn.RRN()
		return nil
	})
	return rrn, err
}

func readJSON[T any](s *Store, key string) (*T, error) {
	raw, err := s.dbGet(key)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, ErrNotFound
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("ledger: decode %s: %w", keyKind(key), err)
	}
	return out, nil
}

// Program reads a program.
func (s *Store) Program(id string) (*Program, error) { return readJSON[Program](s, keyProgram(id)) }

// Merchant reads a merchant.
func (s *Store) Merchant(mid string) (*Merchant, error) {
	return readJSON[Merchant](s, keyMerchant(mid))
}

// Card reads a card.
func (s *Store) Card(pan string) (*Card, error) { return readJSON[Card](s, keyCard(pan)) }

// CardsGeneration moves whenever a change to any card record (its
// registration, state, blacklist flag, PIN data) has been committed,
// before the change is acknowledged. A reader that keeps card records
// (the gateway's PIN and chip checks) keeps them with the generation it
// read before reading them, and reads again once it has moved.
func (s *Store) CardsGeneration() uint64 { return s.cardsGen.Load() }

// Terminal reads a terminal and its runtime state.
func (s *Store) Terminal(tid string) (*Terminal, TerminalState, error) {
	var st TerminalState
	t, err := readJSON[Terminal](s, keyTerminal(tid))
	if err != nil {
		return nil, st, err
	}
	raw, err := s.dbGet(keyTermState(tid))
	if err == nil && raw != nil {
		err = st.decode(raw)
	}
	return t, st, err
}

func listJSON[T any](s *Store, prefix, after string, limit int) ([]T, error) {
	lower := []byte(prefix + after)
	if after != "" {
		lower = append(lower, 0)
	}
	db, release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []T
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		var v T
		if err := json.Unmarshal(it.Value(), &v); err != nil {
			return nil, fmt.Errorf("ledger: decode %s: %w", prefix, err)
		}
		out = append(out, v)
	}
	return out, it.Error()
}

// Programs lists the programs.
func (s *Store) Programs() ([]Program, error) {
	return listJSON[Program](s, prefixProgram, "", maxListLimit)
}

// Merchants lists the merchants.
func (s *Store) Merchants() ([]Merchant, error) {
	return listJSON[Merchant](s, prefixMerchant, "", maxListLimit)
}

// Terminals lists the terminals.
func (s *Store) Terminals() ([]Terminal, error) {
	return listJSON[Terminal](s, prefixTerminal, "", maxListLimit)
}

// Cards lists cards in PAN order after the given PAN.
func (s *Store) Cards(after string, limit int) ([]Card, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	return listJSON[Card](s, prefixCard, after, limit)
}

// CardBalances reads a card's committed balances.
func (s *Store) CardBalances(pan string) (Balances, error) {
	if _, err := s.Card(pan); err != nil {
		return Balances{}, err
	}
	var b Balances
	for _, a := range []struct {
		id   string
		unit Unit
	}{{accountSV(pan), UnitMoney}, {accountPoints(pan), UnitPoints}} {
		acct := Account{ID: a.id, Unit: a.unit}
		raw, err := s.dbGet(keyAccount(a.id))
		if err != nil {
			return b, err
		}
		if raw != nil {
			if err := acct.decode(raw); err != nil {
				return b, err
			}
		}
		if a.unit == UnitMoney {
			b.Ledger, b.Available = Amount(acct.Balance()), Amount(acct.Available())
			// Holds past their period are released when the card is next
			// used; show the balance a terminal would see now.
			expired, err := s.expiredHolds(pan)
			if err != nil {
				return b, err
			}
			if b.Available, err = b.Available.Add(expired); err != nil {
				return b, fmt.Errorf("card %s available: %w", cardnum.Mask(pan), err)
			}
		} else {
			b.Points = Points(acct.Balance())
		}
	}
	return b, nil
}

// expiredHolds sums the card's holds whose period has passed.
func (s *Store) expiredHolds(pan string) (Amount, error) {
	raw, err := s.dbGet(keyHolds(pan))
	if err != nil || raw == nil {
		return 0, err
	}
	var hs Holds
	if err := hs.decode(raw); err != nil {
		return 0, err
	}
	now := s.opts.Now().UnixNano()
	var sum Amount
	for _, h := range hs {
		if h.Expires <= now {
			if sum, err = sum.Add(h.Amount); err != nil {
				return 0, fmt.Errorf("card %s holds: %w", cardnum.Mask(pan), err)
			}
		}
	}
	return sum, nil
}

// cardEntriesNewestFirst visits a card's journal entries, newest first,
// until visit says stop or fails: the chain from the card's newest entry
// (Account.LastEntry of its stored value) through each entry's CardPrev,
// then the entries older than the chain that the store indexed under
// jc/<pan>/ while it was format 1 (none in a store made by this build).
func cardEntriesNewestFirst(r pebble.Reader, pan string, visit func(t *Txn) (more bool, err error)) error {
	raw, err := readKey(r, keyAccount(accountSV(pan)))
	if err != nil {
		return err
	}
	sv := Account{ID: accountSV(pan)}
	if raw != nil {
		if err := sv.decode(raw); err != nil {
			return err
		}
	}
	older := uint64(math.MaxUint64) // the legacy index holds the entries below it
	for seq := sv.LastEntry; seq != 0; {
		t, err := readTxn(r, seq)
		if err != nil {
			return err
		}
		if t == nil || t.PAN != pan {
			return fmt.Errorf("ledger: journal entry %d in the history of card %s is missing or another card's: %w", seq, cardnum.Mask(pan), errCorrupt)
		}
		if more, err := visit(t); err != nil || !more {
			return err
		}
		older, seq = seq, t.CardPrev // CardPrev < seq (Txn.decode): the walk ends
	}
	prefix := prefixByCard + pan + "/"
	upper := []byte(prefix + hex16(older))
	if older == math.MaxUint64 {
		upper = prefixEnd(prefix)
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	for valid := it.Last(); valid; valid = it.Prev() {
		seq, ok := parseHex16(string(it.Key()[len(prefix):]))
		if !ok {
			return fmt.Errorf("ledger: bad card index key: %w", errCorrupt)
		}
		t, err := readTxn(r, seq)
		if err != nil {
			return err
		}
		if t == nil {
			return fmt.Errorf("ledger: journal entry %d indexed but missing: %w", seq, errCorrupt)
		}
		if more, err := visit(t); err != nil || !more {
			return err
		}
	}
	return it.Error()
}

// readTxn reads journal entry seq from r (nil, nil when there is none).
func readTxn(r pebble.Reader, seq uint64) (*Txn, error) {
	raw, err := readKey(r, keyTxn(seq))
	if err != nil || raw == nil {
		return nil, err
	}
	t := new(Txn)
	if err := t.decode(raw); err != nil {
		return nil, fmt.Errorf("journal entry %d: %w", seq, err)
	}
	return t, nil
}

// CardHistory lists a card's journal entries, newest first.
func (s *Store) CardHistory(pan string, limit int) ([]Txn, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	snap, done, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []Txn
	err = cardEntriesNewestFirst(snap, pan, func(t *Txn) (bool, error) {
		out = append(out, *t)
		return len(out) < limit, nil
	})
	return out, err
}

// TxnByRRN reads a journal entry by its RRN.
func (s *Store) TxnByRRN(rrn string) (*Txn, error) {
	seq, ok := parseRRN(rrn)
	if !ok {
		return nil, fmt.Errorf("rrn %q: want 12 digits: %w", rrn, ErrNotFound)
	}
	raw, err := s.dbGet(keyTxn(seq))
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, ErrNotFound
	}
	var t Txn
	return &t, t.decode(raw)
}

// sortedKeys is a helper for deterministic reports.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ScanJournal calls fn for every journal entry in sequence order, on a
// consistent snapshot.
func (s *Store) ScanJournal(ctx context.Context, fn func(*Txn) error) error {
	snap, done, err := s.snapshot()
	if err != nil {
		return err
	}
	defer done()
	return scan(snap, prefixTxn, func(_, v []byte) error {
		var t Txn
		if err := t.decode(v); err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		return ctx.Err()
	})
}

// Checkpoint writes a consistent copy of the live store into dir, which
// must not exist (Pebble hard-links the immutable tables and copies the
// rest). The copy opens like any store: verify it with Check.
//
// It does not ask Pebble to flush the WAL first (WithFlushedWAL): that
// is a commit from this goroutine, which on a failing disk ends in
// Pebble's Fatalf, and it is not needed: every change this store
// acknowledges was synced to the WAL files the checkpoint copies.
func (s *Store) Checkpoint(dir string) error {
	db, release, err := s.acquire()
	if err != nil {
		return err
	}
	defer release()
	if err := db.Checkpoint(dir); err != nil {
		return fmt.Errorf("ledger: checkpoint to %s: %w", dir, err)
	}
	return nil
}
