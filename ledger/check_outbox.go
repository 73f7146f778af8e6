package ledger

// check_outbox.go: the checker's outbox part.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// checkOutbox verifies the outbox against its two counters, the next
// seq (meta/outbox) and the delivered cursor (meta/outbox/sent): the
// cursor is below the next seq; every stored event is undelivered
// (cursor < seq < next: the drain deletes what it delivers in the
// change that moves the cursor), is a points.expiring event and names
// its own seq; and none between the cursor and the next seq is missing
// (an undelivered event lost is a notice never sent, since its lot's
// marker says it was).
func checkOutbox(ctx context.Context, snap *pebble.Snapshot, problem func(string, ...any)) error {
	next, sent := uint64(1), uint64(0)
	for _, c := range []struct {
		key string
		v   *uint64
	}{{keyMetaOutboxSeq, &next}, {keyMetaOutboxSent, &sent}} {
		raw, err := readKey(snap, c.key)
		switch {
		case err != nil:
			return err
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
	var delivered int
	var firstDelivered, lastDelivered uint64
	expect := sent + 1 // the next undelivered seq the scan should meet
	err := scan(snap, prefixOutbox, func(k, v []byte) error {
		seq, ok := parseHex16(string(k[len(prefixOutbox):]))
		if !ok {
			problem("outbox key %q: want outbox/<seq 16 hex>", k)
			return ctx.Err()
		}
		if seq <= sent {
			if delivered == 0 {
				firstDelivered = seq
			}
			delivered++
			lastDelivered = seq
			return ctx.Err()
		}
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
		return err
	}
	if expect < next {
		problem("outbox: undelivered events %s missing", seqSpan(expect, next-1))
	}
	if delivered > 0 {
		problem("outbox: %d delivered events (seq %d..%d, cursor %d) still stored, as a build before the outbox was pruned left them: "+
			"the next drain (serve's daily expiry job, or cardcenter loyalty expire) deletes them", delivered, firstDelivered, lastDelivered, sent)
	}
	return nil
}

// seqSpan renders lo..hi, or lo alone.
func seqSpan(lo, hi uint64) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}
