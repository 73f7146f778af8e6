package ledger

// expiry.go: the daily expiry job. For a business date it expires the
// lots due by the end of that date (breakage, posted pt/<pan> →
// pbk/<prog>) and writes one expiry-notice event per lot due within the
// program's notice window to the outbox (outbox.go), card by card, a
// bounded chunk of cards per ledger change.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// expiryChunk is the cards of one ledger change: small enough that
// authorizations queued behind it wait little, large enough that a run
// over a million cards is a few thousand changes.
const expiryChunk = 256

// ExpiryProgress is what a run of the expiry job has done so far.
type ExpiryProgress struct {
	Date     uint32 // the business date, yyyymmdd
	Cards    int    // wallets visited
	Expired  int    // lots expired
	Breakage Points // points expired
	Notices  int    // outbox events written
	// Done: the marker job/expire/<date> is written (every card done);
	// AlreadyDone: it was there before this run, which did nothing.
	Done, AlreadyDone bool
}

// ParseBusinessDate reads a YYYY-MM-DD business date as yyyymmdd.
func ParseBusinessDate(s string) (uint32, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("business date %q: want YYYY-MM-DD", s)
	}
	return uint32(t.Year()*10000 + int(t.Month())*100 + t.Day()), nil
}

// FormatBusinessDate renders yyyymmdd as YYYY-MM-DD.
func FormatBusinessDate(d uint32) string {
	return fmt.Sprintf("%04d-%02d-%02d", d/10000, d/100%100, d%100)
}

// BusinessDayEnd is the instant business date d ends: the cut-off hour
// of the next calendar day, in the business zone. It is the first
// instant of the next business date, so that, as for a lot (Lot.Live),
// the boundary belongs to what comes after: a lot expiring exactly at
// BusinessDayEnd(d) is expired by the job for d.
func (s *Store) BusinessDayEnd(d uint32) time.Time {
	return time.Date(int(d/10000), time.Month(d/100%100), int(d%100)+1, s.opts.CutoffHour, 0, 0, 0, s.opts.Location)
}

// LastEndedBusinessDate is the latest business date that has ended at
// now: the one before now's.
func (s *Store) LastEndedBusinessDate(now time.Time) uint32 {
	return s.businessDate(s.BusinessDayEnd(s.businessDate(now)).AddDate(0, 0, -2))
}

// ErrDateNotEnded: the expiry job runs for a business date only once it
// has ended (points are never expired early).
var ErrDateNotEnded = errors.New("business date has not ended")

// ExpiryDone reports whether the job for business date d has finished.
func (s *Store) ExpiryDone(d uint32) (bool, error) {
	v, err := s.dbGet(keyExpiryDone(d))
	return v != nil, err
}

// prefixExpiryJob is the prefix of the job's markers (keyExpiryDone):
// job/expire/<yyyymmdd>, eight digits, so key order is date order.
const prefixExpiryJob = "job/expire/"

// LastExpiryDone is the latest business date whose expiry job has
// finished (its marker written), 0 when none has: where a catch-up
// after downtime starts from.
func (s *Store) LastExpiryDone() (uint32, error) {
	db, release, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer release()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixExpiryJob), UpperBound: prefixEnd(prefixExpiryJob)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	v, err := strconv.ParseUint(string(it.Key()[len(prefixExpiryJob):]), 10, 32)
	d := uint32(v)
	if err != nil || keyExpiryDone(d) != string(it.Key()) || !validDate(d) {
		return 0, fmt.Errorf("ledger: expiry marker %q: want %s<yyyymmdd>", it.Key(), prefixExpiryJob)
	}
	return d, nil
}

// ExpireLots runs the expiry job for business date d (yyyymmdd): every
// lot expiring at or before BusinessDayEnd(d) is removed from its
// wallet and posted as breakage (pt/<pan> → pbk/<prog>, one journal
// entry of kind expiry per card, in no terminal batch), and every lot
// still live then that expires within the program's notice_days after
// it gets one outbox event, once per lot for good (notice/<pan>/<lot>).
//
// Cards are taken from a snapshot of wal/ keys, expiryChunk per ledger
// change through the writer, so authorizations interleave and each
// change sees the wallets as they are. A run stopped anywhere (even by
// SIGKILL) is resumed by running it again: an expired lot is gone from
// its wallet and a noticed lot has its marker, so nothing is done twice.
// When every card is done it writes job/expire/<yyyymmdd>; a run for a
// date with that marker returns at once (AlreadyDone). progress, if not
// nil, is called after each change.
func (s *Store) ExpireLots(ctx context.Context, d uint32, progress func(ExpiryProgress)) (ExpiryProgress, error) {
	pr := ExpiryProgress{Date: d}
	if _, err := ParseBusinessDate(FormatBusinessDate(d)); err != nil {
		return pr, fmt.Errorf("expiry date %d: not a yyyymmdd date", d)
	}
	end := s.BusinessDayEnd(d)
	if now := s.opts.Now(); now.Before(end) {
		return pr, fmt.Errorf("expiry date %s: ends at %s, now %s: %w", FormatBusinessDate(d),
			end.Format(time.RFC3339), now.In(s.opts.Location).Format(time.RFC3339), ErrDateNotEnded)
	}
	if done, err := s.ExpiryDone(d); err != nil || done {
		pr.Done, pr.AlreadyDone = done, done
		return pr, err
	}
	snap, done, err := s.snapshot()
	if err != nil {
		return pr, err
	}
	defer done()
	chunk := make([]string, 0, expiryChunk)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		var step ExpiryProgress
		err := s.update(ctx, func(t *tx) error {
			step = ExpiryProgress{}
			for _, pan := range chunk {
				if err := s.expireCard(t, pan, d, end, &step); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		pr.Cards += len(chunk)
		pr.Expired += step.Expired
		pr.Breakage += step.Breakage
		pr.Notices += step.Notices
		chunk = chunk[:0]
		if progress != nil {
			progress(pr)
		}
		return nil
	}
	err = scanCardParts(snap, partWallet, func(pan string, _ []byte) error {
		chunk = append(chunk, pan)
		if len(chunk) == expiryChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return pr, err
	}
	if err := flush(); err != nil {
		return pr, err
	}
	if err := s.update(ctx, func(t *tx) error { t.set(keyExpiryDone(d), []byte{1}); return nil }); err != nil {
		return pr, err
	}
	pr.Done = true
	if progress != nil {
		progress(pr)
	}
	return pr, nil
}

// expireCard is one card's part of the job, inside the writer.
func (s *Store) expireCard(t *tx, pan string, d uint32, end time.Time, step *ExpiryProgress) error {
	c, err := registryGet[Card](t, keyCard(pan))
	if err != nil || c == nil {
		return err // a wallet without its card: the checker reports it
	}
	p, err := registryGet[Program](t, keyProgram(c.ProgramID))
	if err != nil || p == nil || p.Loyalty == nil {
		return err
	}
	cl, err := readCardLoyalty(t.get, pan)
	if err != nil || !cl.Stored {
		return err
	}
	w := &cl.Wallet
	lots := lotsBySeq(w)
	changed := false
	if uses := w.Expire(end); len(uses) > 0 {
		changed = true
		dec := decision{s: s, t: t, r: &Request{Kind: KindExpiry, PAN: pan}, card: c, now: s.opts.Now()}
		var total Points
		for _, u := range uses {
			total += u.Points // each ≤ MaxAmount, at most MaxLots of them
			t.del(keyNotice(pan, u.Seq))
		}
		sv, pts := dec.cardAccountOf(pan, slotSV), dec.cardAccountOf(pan, slotPoints)
		txn := dec.newTxn()
		txn.MID, txn.Note = c.HomeMID, "expiry "+FormatBusinessDate(d)
		dec.post(txn, pts, dec.accountOf(accountBreakage(c.ProgramID), UnitPoints), int64(total), 0)
		txn.Debited, txn.PointUses = total, lotUses(uses, lots)
		if dec.ioErr != nil {
			return dec.ioErr
		}
		if dec.refused != nil {
			return fmt.Errorf("card %s: breakage %d points: %w", cardnum.Mask(pan), total, dec.refused)
		}
		dec.finish(txn, sv, pts)
		step.Expired += len(uses)
		step.Breakage += total
	}
	if n := p.Loyalty.NoticeDays; n > 0 {
		by := end.In(s.opts.Location).AddDate(0, 0, n)
		for _, l := range w.Expiring(end, by) {
			wrote, err := s.notice(t, c, l, d)
			if err != nil {
				return err
			}
			if wrote {
				step.Notices++
			}
		}
	}
	if changed {
		cl.write(t, pan)
	}
	return nil
}

// Notice is one line of the expiry-notice report: a lot that expires
// within its program's notice window after a business date.
type Notice struct {
	Card    string    `json:"card"` // masked PAN
	Program string    `json:"program"`
	Lot     uint64    `json:"lot"` // the lot's seq: the RRN of its earning
	Points  Points    `json:"points"`
	Expires time.Time `json:"expires"`
	Noticed bool      `json:"noticed"` // its outbox event is written
}

// ExpiryNotices is the expiry-notice report for business date d: every
// lot live at BusinessDayEnd(d) that expires within its program's
// notice_days after it, in wallet key order, read from a snapshot. It
// changes nothing; the job writes the outbox events.
func (s *Store) ExpiryNotices(ctx context.Context, d uint32) ([]Notice, error) {
	end := s.BusinessDayEnd(d)
	snap, done, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []Notice
	err = scanCardParts(snap, partWallet, func(pan string, v []byte) error {
		c, err := readJSON[Card](s, keyCard(pan))
		if err != nil || c == nil {
			return err
		}
		p, err := readJSON[Program](s, keyProgram(c.ProgramID))
		if err != nil || p == nil || p.Loyalty == nil || p.Loyalty.NoticeDays <= 0 {
			return err
		}
		w, err := walletOf(getterOf(snap), pan, v)
		if err != nil {
			return fmt.Errorf("wallet of %s: %w", cardnum.Mask(pan), err)
		}
		by := end.In(s.opts.Location).AddDate(0, 0, p.Loyalty.NoticeDays)
		for _, l := range w.Expiring(end, by) {
			_, closer, err := snap.Get([]byte(keyNotice(pan, l.Seq)))
			noticed := err == nil
			if noticed {
				closer.Close()
			} else if !errors.Is(err, pebble.ErrNotFound) {
				return err
			}
			out = append(out, Notice{Card: cardnum.Mask(pan), Program: c.ProgramID, Lot: l.Seq, Points: l.Remaining,
				Expires: l.Expires.In(s.opts.Location), Noticed: noticed})
		}
		return ctx.Err()
	})
	return out, err
}
