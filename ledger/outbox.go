package ledger

// outbox.go: the outbox of expiry-notice events. The job writes an event
// (outbox/<seq>) in the same ledger change as the lot's marker
// (notice/<pan>/<lot>), so an event exists exactly once per lot; the
// drain copies the events after its cursor to JSON-lines files and only
// then moves the cursor, skipping what a file already holds, so a drain
// stopped anywhere and run again neither loses nor repeats a line.

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

// drainBatch bounds the events of one round of DrainOutbox.
const drainBatch = 4096

// DrainOutbox appends the events not yet delivered to
// dir/notices-<date>.jsonl (one file per job date), fsyncs the files and
// the directory, then moves the delivered cursor (meta/outbox/sent) past
// them. Before appending it reads the file's last line: a partial line
// (a crash mid-write) is cut, and events whose seq the file already
// holds (a crash after the fsync, before the cursor moved) are skipped.
// So every event is in exactly one file once. It returns the events
// written.
func (s *Store) DrainOutbox(ctx context.Context, dir string) (int, error) {
	drainMu.Lock()
	defer drainMu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	total := 0
	for {
		raw, err := s.dbGet(keyMetaOutboxSent)
		if err != nil {
			return total, err
		}
		var sent uint64
		if len(raw) == 8 {
			sent = u64(raw)
		}
		events, last, err := s.outboxAfter(sent)
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
		putU64(cur, last)
		if err := s.update(ctx, func(t *tx) error { t.set(keyMetaOutboxSent, cur); return nil }); err != nil {
			return total, err
		}
	}
}

type outboxLine struct {
	date string
	line []byte
}

// outboxAfter reads up to drainBatch committed events after seq sent.
func (s *Store) outboxAfter(sent uint64) ([]outboxLine, uint64, error) {
	db, release, err := s.acquire()
	if err != nil {
		return nil, 0, err
	}
	defer release()
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(keyOutbox(sent + 1)), UpperBound: prefixEnd(prefixOutbox)})
	if err != nil {
		return nil, 0, err
	}
	defer it.Close()
	var out []outboxLine
	last := sent
	for it.First(); it.Valid() && len(out) < drainBatch; it.Next() {
		var e NoticeEvent
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return nil, 0, fmt.Errorf("outbox %s: %w", it.Key(), err)
		}
		out = append(out, outboxLine{date: e.Date, line: bytes.Clone(it.Value())})
		last = e.Seq
	}
	return out, last, it.Error()
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
