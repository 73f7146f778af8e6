package ledger

// check_outbox.go: the checker's outbox part.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// OutboxReport counts the expiry-notice events stored (outbox/<seq>).
type OutboxReport struct {
	// Undelivered: above the cursor, waiting for the drain.
	Undelivered int `json:"undelivered"`
	// DeliveredLeft: at or below the cursor, which a build before the
	// drain deleted what it delivered left in the store; the next drain
	// deletes them. This build leaves none.
	DeliveredLeft int `json:"delivered_left"`
}

// String is the report's line in `cardcenter check`.
func (r OutboxReport) String() string {
	s := fmt.Sprintf("%d events waiting for the drain", r.Undelivered)
	if r.DeliveredLeft > 0 {
		s += fmt.Sprintf("; %d delivered events left by an older build, which the next drain deletes", r.DeliveredLeft)
	}
	return s
}

// checkOutbox verifies the outbox against its two counters, the next
// seq (meta/outbox) and the delivered cursor (meta/outbox/sent): the
// cursor is below the next seq; every event above the cursor is a
// points.expiring event that names its own seq, below the next seq; and
// none of them is missing (an undelivered event lost is a notice never
// sent, since its lot's marker says it was). The drain deletes the
// events it delivers in the change that moves the cursor, so the events
// at or below it are only those a build before that left: they are
// counted (DeliveredLeft), not a problem, since such a store is
// consistent and its next drain deletes them.
func checkOutbox(ctx context.Context, snap *pebble.Snapshot, problem func(string, ...any)) (OutboxReport, error) {
	var rep OutboxReport
	next, sent := uint64(1), uint64(0)
	for _, c := range []struct {
		key string
		v   *uint64
	}{{keyMetaOutboxSeq, &next}, {keyMetaOutboxSent, &sent}} {
		raw, err := readKey(snap, c.key)
		switch {
		case err != nil:
			return rep, err
		case raw == nil:
		case len(raw) != 8:
			problem("%s: %d bytes, want 8", c.key, len(raw))
		default:
			*c.v = u64(raw)
		}
	}
	if sent >= next {
		problem("outbox: delivered cursor %d, next seq %d: the cursor is past every event written", sent, next)
	}
	expect := sent + 1 // the next undelivered seq the scan should meet
	err := scan(snap, prefixOutbox, func(k, v []byte) error {
		seq, ok := parseHex16(string(k[len(prefixOutbox):]))
		if !ok {
			problem("outbox key %q: want outbox/<seq 16 hex>", k)
			return ctx.Err()
		}
		if seq <= sent {
			rep.DeliveredLeft++
			return ctx.Err()
		}
		rep.Undelivered++
		if seq >= next {
			problem("outbox event %d: at or beyond the next seq %d", seq, next)
		}
		var ev NoticeEvent
		if err := json.Unmarshal(v, &ev); err != nil {
			problem("outbox event %d: %v", seq, err)
		} else if ev.Seq != seq || ev.Event != EventPointsExpiring {
			problem("outbox event %d: body says seq %d, event %q", seq, ev.Seq, ev.Event)
		}
		if seq > expect {
			problem("outbox: undelivered events %s missing", seqSpan(expect, seq-1))
		}
		expect = seq + 1
		return ctx.Err()
	})
	if err != nil {
		return rep, err
	}
	if expect < next {
		problem("outbox: undelivered events %s missing", seqSpan(expect, next-1))
	}
	return rep, nil
}

// seqSpan renders lo..hi, or lo alone.
func seqSpan(lo, hi uint64) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}
