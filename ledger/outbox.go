package ledger

// outbox.go: the outbox of expiry-notice events. The job writes an event
// (outbox/<seq>) in the same ledger change as the lot's marker
// (notice/<pan>/<lot>), so an event exists exactly once per lot; the
// drain copies the events after its cursor to JSON-lines files and only
// then moves the cursor, skipping what a file already holds, so a drain
// stopped anywhere and run again neither loses nor repeats a line. The
// change that moves the cursor deletes the events it passes: the store
// holds only undelivered events (the checker verifies it, check_outbox.go).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/privdir"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cockroachdb/pebble/v2"
)

// NoticeEvent is one outbox event: a lot about to expire. It is one
// line of DATA/outbox/notices-<date>.jsonl. The card is masked (the
// outbox leaves the host); Lot is the RRN sequence of the earning, so a
// consumer with admin access finds the card from it.
type NoticeEvent struct {
	Seq     uint64 `json:"seq"`   // outbox sequence, from 1, gapless
	Event   string `json:"event"` // "points.expiring"
	Date    string `json:"date"`  // the job's business date, YYYY-MM-DD
	Program string `json:"program"`
	Card    string `json:"card"` // masked PAN
	Lot     uint64 `json:"lot"`
	Points  Points `json:"points"`  // the lot's remaining points
	Expires string `json:"expires"` // RFC 3339, business zone
}

// EventPointsExpiring is NoticeEvent.Event.
const EventPointsExpiring = "points.expiring"

// notice writes lot's outbox event and its marker in t, unless the
// marker exists (the lot was noticed before); wrote says it did.
func (s *Store) notice(t *tx, c *Card, l loyalty.Lot, d uint32) (wrote bool, err error) {
	mk := keyNotice(c.PAN, l.Seq)
	if v, err := t.get(mk); err != nil || v != nil {
		return false, err
	}
	raw, err := t.get(keyMetaOutboxSeq)
	if err != nil {
		return false, err
	}
	seq := uint64(1)
	if len(raw) == 8 {
		seq = u64(raw)
	}
	ev, err := json.Marshal(NoticeEvent{Seq: seq, Event: EventPointsExpiring, Date: FormatBusinessDate(d), Program: c.ProgramID,
		Card: cardnum.Mask(c.PAN), Lot: l.Seq, Points: l.Remaining, Expires: l.Expires.In(s.opts.Location).Format(time.RFC3339)})
	if err != nil {
		return false, err
	}
	next := make([]byte, 8)
	putU64(next, seq+1)
	t.set(keyMetaOutboxSeq, next)
	t.set(keyOutbox(seq), ev)
	t.set(mk, []byte{1})
	return true, nil
}

// OutboxFile is the file the drain appends date's events to.
func OutboxFile(dir string, date string) string {
	return filepath.Join(dir, "notices-"+date+".jsonl")
}

// drainMu: one drain at a time in a process (the host's daily job and
// an admin call); another process cannot hold the store.
var drainMu sync.Mutex

// drainBatch bounds the events of one round of DrainOutbox, and so the
// deletes of one ledger change.
const drainBatch = 4096

// DrainOutbox appends the events not yet delivered to
// dir/notices-<date>.jsonl (one file per job date), fsyncs the files and
// the directory, then, in one ledger change, moves the delivered cursor
// (meta/outbox/sent) past them and deletes them from the store. Before
// appending it reads the file's last line: a partial line (a crash
// mid-write) is cut, and events whose seq the file already holds (a
// crash after the fsync, before the ledger change) are skipped. So every
// event is in exactly one file once, and the store keeps only the events
// above the cursor. Delivered events that a build before the pruning
// left in the store are deleted first. It returns the events written.
func (s *Store) DrainOutbox(ctx context.Context, dir string) (int, error) {
	drainMu.Lock()
	defer drainMu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	if err := s.pruneDelivered(ctx); err != nil {
		return 0, fmt.Errorf("outbox: delete delivered events: %w", err)
	}
	total := 0
	for {
		sent, err := s.outboxCursor()
		if err != nil {
			return total, err
		}
		events, err := s.undelivered(sent)
		if err != nil || len(events) == 0 {
			return total, err
		}
		byFile := map[string][][]byte{}
		var order []string
		for _, e := range events {
			f := OutboxFile(dir, e.date)
			if _, ok := byFile[f]; !ok {
				order = append(order, f)
			}
			byFile[f] = append(byFile[f], e.line)
		}
		for _, f := range order {
			n, err := appendEvents(f, byFile[f])
			if err != nil {
				return total, fmt.Errorf("outbox %s: %w", filepath.Base(f), err)
			}
			total += n
		}
		if err := privdir.SyncDir(dir); err != nil {
			return total, err
		}
		cur := make([]byte, 8)
		putU64(cur, events[len(events)-1].seq)
		err = s.update(ctx, func(t *tx) error {
			t.set(keyMetaOutboxSent, cur)
			for _, e := range events {
				t.del(keyOutbox(e.seq))
			}
			return nil
		})
		if err != nil {
			return total, err
		}
	}
}

// pruneDelivered deletes the events at or below the cursor, drainBatch
// per ledger change: a store drained by a build that kept its delivered
// events has them; one drained by this build has none.
func (s *Store) pruneDelivered(ctx context.Context) error {
	for {
		sent, err := s.outboxCursor()
		if err != nil || sent == 0 {
			return err
		}
		var stale []uint64
		err = s.outboxRange(0, sent+1, func(seq uint64, _ []byte) error { stale = append(stale, seq); return nil })
		if err != nil || len(stale) == 0 {
			return err
		}
		err = s.update(ctx, func(t *tx) error {
			for _, seq := range stale {
				t.del(keyOutbox(seq))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}

// outboxCursor is the last seq delivered (meta/outbox/sent; 0: none).
func (s *Store) outboxCursor() (uint64, error) {
	raw, err := s.dbGet(keyMetaOutboxSent)
	if err != nil || len(raw) != 8 {
		return 0, err
	}
	return u64(raw), nil
}

type outboxEvent struct {
	seq  uint64
	date string
	line []byte
}

// undelivered reads up to drainBatch committed events after the cursor
// sent, in seq order.
func (s *Store) undelivered(sent uint64) ([]outboxEvent, error) {
	var out []outboxEvent
	err := s.outboxRange(sent+1, 0, func(seq uint64, v []byte) error {
		var ev NoticeEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("outbox event %d: %w", seq, err)
		}
		if ev.Seq != seq {
			return fmt.Errorf("outbox event %d: its body says seq %d", seq, ev.Seq)
		}
		out = append(out, outboxEvent{seq: seq, date: ev.Date, line: bytes.Clone(v)})
		return nil
	})
	return out, err
}

// outboxRange calls fn with up to drainBatch committed events whose seq
// (the one their key names) is in lo..hi-1 (hi 0: no bound), in seq
// order.
func (s *Store) outboxRange(lo, hi uint64, fn func(seq uint64, v []byte) error) error {
	db, release, err := s.acquire()
	if err != nil {
		return err
	}
	defer release()
	upper := prefixEnd(prefixOutbox)
	if hi > 0 {
		upper = []byte(keyOutbox(hi))
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(keyOutbox(lo)), UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid() && n < drainBatch; it.Next() {
		seq, ok := parseHex16(string(it.Key()[len(prefixOutbox):]))
		if !ok {
			return fmt.Errorf("outbox key %q: want outbox/<seq 16 hex>", it.Key())
		}
		if err := fn(seq, it.Value()); err != nil {
			return err
		}
		n++
	}
	return it.Error()
}

// appendEvents appends the lines whose seq is above the file's last
// complete line's, after cutting a partial last line, and fsyncs.
func appendEvents(path string, lines [][]byte) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, lastSeq, err := lastCompleteLine(f)
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(size); err != nil {
		return 0, err
	}
	w := bufio.NewWriter(io.NewOffsetWriter(f, size))
	n := 0
	for _, l := range lines {
		var e struct {
			Seq uint64 `json:"seq"`
		}
		if err := json.Unmarshal(l, &e); err != nil {
			return 0, err
		}
		if e.Seq <= lastSeq {
			continue
		}
		w.Write(l)
		w.WriteByte('\n')
		n++
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	return n, f.Sync()
}

// lastCompleteLine is the length of f up to its last newline and the
// seq of the line before it (0 for an empty file). Lines are short:
// the last 64 KiB hold it.
func lastCompleteLine(f *os.File) (int64, uint64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	from := max(st.Size()-64<<10, 0)
	buf := make([]byte, st.Size()-from)
	if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	end := bytes.LastIndexByte(buf, '\n')
	if end < 0 {
		if from > 0 {
			return 0, 0, errors.New("no line end in the last 64 KiB")
		}
		return 0, 0, nil
	}
	start := bytes.LastIndexByte(buf[:end], '\n') + 1
	var e struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(buf[start:end], &e); err != nil {
		return 0, 0, fmt.Errorf("last line: %w", err)
	}
	return from + int64(end) + 1, e.Seq, nil
}
