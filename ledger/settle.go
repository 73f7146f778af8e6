package ledger

// settle.go: what the settlement job (package settlement) needs of the
// ledger: the close of a business date (the fence that freezes its
// journal), the postings that move each merchant's position, and the
// per-date job record. Reading a date's journal is journal_scan.go's.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Keys of settlement (keys.go lists them with the others).
const (
	keyMetaClosed      = "meta/closed"
	prefixSettleJob    = "job/settle/"
	prefixSettleMarker = "settle/"
)

func keySettleJob(d uint32) string { return prefixSettleJob + strconv.Itoa(int(d)) }
func keySettleMarker(d uint32, prog, mid string) string {
	return prefixSettleMarker + strconv.Itoa(int(d)) + "/" + prog + "/" + mid
}
func accountProgramSettlement(prog string) string { return "pst/" + prog }
func accountMerchantPayable(mid string) string    { return "mpr/" + mid }

// AccountProgramSettlement and AccountMerchantPayable name the accounts a
// settlement posting moves a position between: the program's settlement
// account and the merchant's payable/receivable account. A merchant's
// mpr/ balance (credits − debits) is what the program owes it.
func AccountProgramSettlement(prog string) string { return accountProgramSettlement(prog) }
func AccountMerchantPayable(mid string) string    { return accountMerchantPayable(mid) }

// ErrDateNotClosed: a settlement posting for a date the ledger has not
// closed.
var ErrDateNotClosed = errors.New("business date is not closed")

// NextBusinessDate is the calendar day after yyyymmdd d.
func NextBusinessDate(d uint32) uint32 {
	t := time.Date(int(d/10000), time.Month(d/100%100), int(d%100)+1, 0, 0, 0, 0, time.UTC)
	return uint32(t.Year()*10000 + int(t.Month())*100 + t.Day())
}

// validDate reports whether d is a real yyyymmdd date.
func validDate(d uint32) bool {
	_, err := ParseBusinessDate(FormatBusinessDate(d))
	return err == nil && d >= 10000101
}

// bookingDate is the business date a decision made at now is booked on,
// and, when that date is already closed for settlement, the date the
// clock gave (late): the entry goes to the next unsettled date instead,
// so a closed date's journal never changes.
func (s *Store) bookingDate(now time.Time) (date, lateFrom uint32) {
	d := s.businessDate(now)
	if c := s.closedThrough.Load(); c != 0 && d <= c {
		return NextBusinessDate(c), d
	}
	return d, 0
}

// ClosedThrough is the latest business date closed for settlement (0:
// none).
func (s *Store) ClosedThrough() uint32 { return s.closedThrough.Load() }

// loadClosed reads the fence from db (at Open, and after a reopen).
func loadClosed(db *pebble.DB) (uint32, error) {
	v, err := readKey(db, keyMetaClosed)
	if err != nil || len(v) != 8 {
		return 0, err
	}
	return uint32(u64(v)), nil
}

// SettlementRecord is the settlement job's record of a business date
// (job/settle/<yyyymmdd>, JSON). ClosedAt is written once, by the close;
// it is the one timestamp the settlement files carry, so that a rerun
// writes the same bytes. Summary is the settlement package's totals,
// written once when the date is settled.
type SettlementRecord struct {
	Date     string          `json:"date"`      // YYYY-MM-DD
	ClosedAt string          `json:"closed_at"` // RFC 3339, business zone
	Settled  bool            `json:"settled"`
	Summary  json.RawMessage `json:"summary,omitempty"`
}

// SettlementRecord reads the job record of business date d (nil: the
// date was never closed for settlement).
func (s *Store) SettlementRecord(d uint32) (*SettlementRecord, error) {
	rec, err := readJSON[SettlementRecord](s, keySettleJob(d))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

// CloseBusinessDate closes business date d for settlement, through the
// writer: every decision made before it is in d's journal, and every
// decision after it whose business date is d or earlier is booked on the
// date after the latest closed one and marked late (Txn.LateFrom). The
// fence is monotonic (meta/closed): closing a date at or before the
// current one leaves it. The date's job record is written with ClosedAt
// the first time; later closes return it unchanged.
//
// A date that has not ended is refused (ErrDateNotEnded) unless early is
// set: an operator may close today's date before its cut-off, and the
// rest of today's transactions then belong to tomorrow. A date after
// today's is always refused.
func (s *Store) CloseBusinessDate(ctx context.Context, d uint32, early bool) (SettlementRecord, error) {
	var out SettlementRecord
	if !validDate(d) {
		return out, fmt.Errorf("settlement date %d: not a yyyymmdd date", d)
	}
	err := s.update(ctx, func(t *tx) error {
		now := s.opts.Now()
		today := s.businessDate(now)
		if d > today || (d == today && !early) {
			return fmt.Errorf("settlement date %s: ends at %s, now %s: %w", FormatBusinessDate(d),
				s.BusinessDayEnd(d).Format(time.RFC3339), now.In(s.opts.Location).Format(time.RFC3339), ErrDateNotEnded)
		}
		raw, err := t.get(keySettleJob(d))
		if err != nil {
			return err
		}
		if raw != nil {
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("ledger: decode settlement record %s: %w", FormatBusinessDate(d), err)
			}
		} else {
			out = SettlementRecord{Date: FormatBusinessDate(d), ClosedAt: now.In(s.opts.Location).Format(time.RFC3339Nano)}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			t.set(keySettleJob(d), b)
		}
		if d > s.closedThrough.Load() {
			v := make([]byte, 8)
			putU64(v, uint64(d))
			t.set(keyMetaClosed, v)
			// Last, once nothing can fail: the writer books every later
			// decision against it.
			s.closedThrough.Store(d)
		}
		return nil
	})
	return out, err
}

// MarkSettled records that business date d is settled, with the
// settlement package's summary. A date already marked keeps its first
// summary (a rerun computes the same one).
func (s *Store) MarkSettled(ctx context.Context, d uint32, summary json.RawMessage) error {
	return s.update(ctx, func(t *tx) error {
		raw, err := t.get(keySettleJob(d))
		if err != nil {
			return err
		}
		if raw == nil {
			return fmt.Errorf("settlement date %s: %w", FormatBusinessDate(d), ErrDateNotClosed)
		}
		var rec SettlementRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("ledger: decode settlement record %s: %w", FormatBusinessDate(d), err)
		}
		if rec.Settled {
			return nil
		}
		rec.Settled, rec.Summary = true, summary
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		t.set(keySettleJob(d), b)
		return nil
	})
}

// JournalEntry reads one journal entry by sequence number (nil, nil when
// there is none).
func (s *Store) JournalEntry(seq uint64) (*Txn, error) {
	db, release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	return readTxn(db, seq)
}

// SettlementPosting is one merchant's net position for a date: positive
// is owed by the program to the merchant, negative by the merchant.
// Net is the position of the date's transactions; Billing, on a month's
// last business date, the merchant's invoice for the month (the
// program's monthly fees, >= 0), which the merchant owes on top.
type SettlementPosting struct {
	Program string
	MID     string
	Net     Amount
	Billing Amount
}

// settleChunk bounds the postings of one ledger change.
const settleChunk = 256

// PostSettlement moves each position of business date d into its
// merchant's payable account: one journal entry of kind settlement per
// (program, date, merchant) with a non-zero position, pst/<prog> →
// mpr/<mid> for a positive one and back for a negative one, and a marker
// settle/<d>/<prog>/<mid> in the same change (for zero positions too),
// so a rerun posts nothing twice. A posting with a Billing invoice also
// gets, in the same change, one entry mpr/<mid> → pst/<prog> of the
// invoice and the marker bill/<yyyymm>/<prog>/<mid> (settle_billing.go).
// d must be closed. Entries are in no terminal batch and no card's
// history, and booked on no date (JournalByDate skips them): the closed
// journal stays what was settled. It returns the entries made; progress, if not nil, sees the
// positions done after each change.
func (s *Store) PostSettlement(ctx context.Context, d uint32, ps []SettlementPosting, progress func(done int)) (int, error) {
	if c := s.closedThrough.Load(); d > c {
		return 0, fmt.Errorf("settlement postings for %s, closed through %d: %w", FormatBusinessDate(d), c, ErrDateNotClosed)
	}
	for _, p := range ps {
		if !InRange(int64(p.Net)) || p.Program == "" || p.MID == "" || p.Billing < 0 || !InRange(int64(p.Billing)) {
			return 0, fmt.Errorf("settlement posting of mid %q program %q: net %d billing %d: %w", p.MID, p.Program, p.Net, p.Billing, ErrOutOfRange)
		}
	}
	posted := 0
	for start := 0; start < len(ps); start += settleChunk {
		chunk := ps[start:min(start+settleChunk, len(ps))]
		n := 0
		err := s.update(ctx, func(t *tx) error {
			n = 0
			now := s.opts.Now()
			for _, p := range chunk {
				made, err := s.postMarked(t, now, keySettleMarker(d, p.Program, p.MID), &Txn{Kind: KindSettlement, MID: p.MID,
					ProgramID: p.Program, BizDate: d, Amount: p.Net, Note: "settlement " + FormatBusinessDate(d)})
				if err != nil {
					return err
				}
				n += made
				if p.Billing == 0 {
					continue
				}
				made, err = s.postMarked(t, now, keyBillingMarker(d/100, p.Program, p.MID), &Txn{Kind: KindSettlement, MID: p.MID,
					ProgramID: p.Program, BizDate: d, Amount: -p.Billing, Note: "billing " + formatMonth(d/100)})
				if err != nil {
					return err
				}
				n += made
			}
			return nil
		})
		if err != nil {
			return posted, err
		}
		posted += n
		if progress != nil {
			progress(start + len(chunk))
		}
	}
	return posted, nil
}

// postMarked posts txn (a settlement or billing entry: Amount is the
// merchant's position change, moved between pst/<prog> and mpr/<mid>)
// unless marker mk exists, and writes mk with the entry's seq (0 for a
// zero amount, which posts nothing). It returns the entries made.
func (s *Store) postMarked(t *tx, now time.Time, mk string, txn *Txn) (int, error) {
	if v, err := t.get(mk); err != nil || v != nil {
		return 0, err
	}
	var seq uint64
	if txn.Amount != 0 {
		dec := decision{s: s, t: t, now: now}
		txn.Seq, txn.At, txn.Status = t.allocSeq(), now.UnixNano(), TxnApplied
		prog := dec.accountOf(accountProgramSettlement(txn.ProgramID), UnitMoney)
		merch := dec.accountOf(accountMerchantPayable(txn.MID), UnitMoney)
		if txn.Amount > 0 {
			dec.post(txn, prog, merch, int64(txn.Amount), 0)
		} else {
			dec.post(txn, merch, prog, -int64(txn.Amount), 0)
		}
		if dec.ioErr != nil {
			return 0, dec.ioErr
		}
		if dec.refused != nil {
			return 0, fmt.Errorf("%s of mid %s: %w", txn.Note, txn.MID, dec.refused)
		}
		t.put(keyTxn(txn.Seq), txn)
		seq = txn.Seq
	}
	v := make([]byte, 8)
	putU64(v, seq)
	t.set(mk, v)
	if seq == 0 {
		return 0, nil
	}
	return 1, nil
}

// SettlementEntry is the journal seq of the settlement posting of
// (d, prog, mid): posted reports whether its marker exists; seq is 0 for
// a zero position.
func (s *Store) SettlementEntry(d uint32, prog, mid string) (seq uint64, posted bool, err error) {
	v, err := s.dbGet(keySettleMarker(d, prog, mid))
	if err != nil || v == nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, true, fmt.Errorf("ledger: settlement marker of %s: %w", FormatBusinessDate(d), errCorrupt)
	}
	return u64(v), true, nil
}

// AccountBalance reads a committed account's balance (credits − debits
// posted; 0 for an account never posted to).
func (s *Store) AccountBalance(id string) (int64, error) {
	// A snapshot: the aggregate log and the key it lays over are read as
	// of one instant (aggregatelog.go).
	snap, done, err := s.snapshot()
	if err != nil {
		return 0, err
	}
	defer done()
	raw, err := readKey(snap, keyAccount(id))
	if err != nil || raw == nil {
		return 0, err
	}
	a := Account{ID: id}
	if err := a.decode(raw); err != nil {
		return 0, err
	}
	return a.Balance(), nil
}
