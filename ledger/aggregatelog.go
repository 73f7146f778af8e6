package ledger

// aggregatelog.go: the aggregates — terminal batches, merchant and
// program accounts (isAggregateKey) — written at their keys once a
// checkpoint, not once a group.
//
// At one request in flight per terminal a group holds a few dozen
// purchases from as many terminals, so "once a group" is still about
// once a purchase for a terminal's batch record and often for its
// merchant's account, and every key costs Pebble a memtable insert (a
// search through a 64 MiB skiplist). So a group writes its aggregates'
// after-images as one key, alog/<16 hex>, the pairs of key and value;
// the committer keeps the latest value of each since the last
// checkpoint and, every Options.AggregateCheckpointEvery (a second; or when
// maxPendingAggregates are pending), writes them at their own keys and
// deletes the alog/ keys, in the same synced batch as the group that
// carries the checkpoint. A clean Close is a checkpoint too.
//
// After-images make recovery a copy, never a recomputation: Open, and
// the writer's reopen after a failed commit, apply alog/ in key order
// to the keys it names and delete it, in one synced batch, before
// anything is decided (replayAggregateLog); a crash inside that batch
// leaves alog/ whole for the next Open. Until a checkpoint an
// aggregate's own key lags: readers outside the writer read aggregates
// through scanAggregates and readAggregate, which lay the alog/ of the
// same snapshot over them, and the writer does not evict an aggregate
// it has not checkpointed.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

const (
	prefixAggregateLog = "alog/"
	// DefaultAggregateCheckpointEvery bounds how long an aggregate's own
	// key lags (Options.AggregateCheckpointEvery).
	DefaultAggregateCheckpointEvery = time.Second
	// maxPendingAggregates bounds the aggregates the committer holds
	// between checkpoints (and what a reader's overlay decodes).
	maxPendingAggregates = 16384
)

// aggregateLog is the committer's side: what it logged since the last
// checkpoint. Only the committer goroutine touches it.
type aggregateLog struct {
	every   time.Duration     // Options.AggregateCheckpointEvery
	next    uint64            // the next alog/ key's number
	logged  []string          // alog/ keys written since the checkpoint
	pending map[string][]byte // aggregate key → latest committed value
	last    time.Time         // the last checkpoint
	// staged is the group in hand's aggregates (key, value), added to
	// pending once the group is committed.
	staged []kv
	// checkpointing: the group in hand carries a checkpoint.
	checkpointing bool
}

// write adds g's aggregates to its batch: one alog/ key, or, when a
// checkpoint is due, every pending aggregate at its key and the deletes of
// the alog/ keys.
func (l *aggregateLog) write(g *group, now time.Time) {
	l.staged = l.staged[:0]
	for k, v := range g.aggregates {
		l.staged = append(l.staged, kv{key: k, val: v})
	}
	if l.pending == nil {
		l.pending = make(map[string][]byte)
		l.last = now
	}
	l.checkpointing = len(l.logged) > 0 &&
		(now.Sub(l.last) >= l.every || len(l.pending)+len(l.staged) >= maxPendingAggregates)
	if l.checkpointing {
		for _, w := range l.staged {
			g.batch.Set([]byte(w.key), w.val, nil)
		}
		l.writeCheckpoint(g.batch, g.aggregates)
		return
	}
	if len(l.staged) == 0 {
		return
	}
	// In the map's order: a key appears once in a group, so the pairs'
	// order within it changes nothing.
	key := prefixAggregateLog + hex16(l.next)
	l.next++
	g.batch.Set([]byte(key), encodeAggregateLog(l.staged), nil)
	l.logged = append(l.logged, key)
}

// committed records the outcome of the group write was given: a
// committed checkpoint empties the log, a committed group's aggregates
// become pending. A failed group changes nothing (its alog/ key, if
// Pebble kept it, is undone by the recovery; listing it in logged is
// harmless: its delete at the checkpoint deletes nothing).
func (l *aggregateLog) committed(ok bool, now time.Time) {
	if !ok {
		return
	}
	if l.checkpointing {
		l.checkpointed(now)
		return
	}
	for _, w := range l.staged {
		// A copy, not the writer's cache entry (which would keep its
		// arena chunk alive until the checkpoint), into the key's
		// previous pending value: only this log holds it, and a batch
		// it was Set in copied it.
		l.pending[w.key] = append(l.pending[w.key][:0], w.val...)
	}
}

// writeCheckpoint adds a checkpoint to b: every pending aggregate at its
// key (but those in newer, which b writes itself) and the deletes of the
// alog/ keys logged since the last one.
func (l *aggregateLog) writeCheckpoint(b *pebble.Batch, newer map[string][]byte) {
	for k, v := range l.pending {
		if _, ok := newer[k]; !ok {
			b.Set([]byte(k), v, nil)
		}
	}
	for _, k := range l.logged {
		b.Delete([]byte(k), nil)
	}
}

// checkpointed records a committed checkpoint: nothing is pending.
func (l *aggregateLog) checkpointed(now time.Time) {
	clear(l.pending)
	l.logged = l.logged[:0]
	l.last = now
}

// checkpointAtClose writes a checkpoint in a synced batch of its own:
// the last thing the committer does.
func (l *aggregateLog) checkpointAtClose(db *pebble.DB) error {
	if len(l.logged) == 0 || db == nil {
		return nil
	}
	b := db.NewBatch()
	defer b.Close()
	l.writeCheckpoint(b, nil)
	if err := commitSync(b); err != nil {
		return err
	}
	l.checkpointed(time.Now())
	return nil
}

// encodeAggregateLog packs pairs as the store's records do (codec.go):
// each key and value a length and its bytes, one pair after another.
func encodeAggregateLog(pairs []kv) []byte {
	e := encoder{}
	for _, p := range pairs {
		e.str(p.key)
		e.bytes(p.val)
	}
	return e.b
}

// decodeAggregateLog calls fn with each pair of an alog/ value; val
// aliases b.
func decodeAggregateLog(b []byte, fn func(key string, val []byte) error) error {
	d := decoder{b: b}
	for d.err == nil && len(d.b) > 0 {
		key, val := d.str(), d.view()
		if d.err != nil {
			break
		}
		if !isAggregateKey(key) {
			return fmt.Errorf("aggregate log: key %q is not a logged aggregate: %w", key, errCorrupt)
		}
		if err := fn(key, val); err != nil {
			return err
		}
	}
	return d.done("aggregate log")
}

// replayAggregateLog writes every alog/ pair at its key, in log order,
// and deletes the log, in one synced batch: the store's aggregate keys
// then hold everything committed. Run by Open and by the reopen after a
// failed commit, before the writer decides anything.
func replayAggregateLog(db *pebble.DB) error {
	b := db.NewBatch()
	defer b.Close()
	err := scan(db, prefixAggregateLog, func(k, v []byte) error {
		if err := decodeAggregateLog(v, func(key string, val []byte) error {
			return b.Set([]byte(key), val, nil)
		}); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		return b.Delete(k, nil)
	})
	if err != nil {
		return fmt.Errorf("ledger: replay the aggregate log: %w", err)
	}
	if b.Empty() {
		return nil
	}
	if err := commitSync(b); err != nil {
		return fmt.Errorf("ledger: replay the aggregate log: %w", err)
	}
	return nil
}

// scanAggregates is scan over aggregate keys under prefix as they stand
// with r's aggregate log applied: a reader's view of what the writer has
// not checkpointed yet. v is valid during the call only.
func scanAggregates(r reader, prefix string, fn func(k, v []byte) error) error {
	logged := make(map[string][]byte)
	err := scan(r, prefixAggregateLog, func(k, v []byte) error {
		return decodeAggregateLog(v, func(key string, val []byte) error {
			if !strings.HasPrefix(key, prefix) {
				return nil
			}
			if logged[key] = slices.Clone(val); len(logged) > maxPendingAggregates {
				return fmt.Errorf("ledger: aggregate log holds more than %d aggregates", maxPendingAggregates)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	// A merge of two sorted sequences: the stored aggregates, and the
	// logged ones (a logged value replaces the stored one; one new since
	// the checkpoint is only logged).
	order := sortedKeys(logged)
	next := 0
	err = scan(r, prefix, func(k, v []byte) error {
		for ; next < len(order) && order[next] < string(k); next++ {
			if err := fn([]byte(order[next]), logged[order[next]]); err != nil {
				return err
			}
		}
		if next < len(order) && order[next] == string(k) {
			v = logged[order[next]]
			next++
		}
		return fn(k, v)
	})
	for ; err == nil && next < len(order); next++ {
		err = fn([]byte(order[next]), logged[order[next]])
	}
	return err
}

// readAggregate is readRaw of one aggregate key with r's aggregate log
// laid over it (nil when absent): its latest logged value, else its own.
func readAggregate(r pebble.Reader, key string) ([]byte, error) {
	var v []byte
	logged := false
	err := scan(r, prefixAggregateLog, func(_, lv []byte) error {
		return decodeAggregateLog(lv, func(k string, val []byte) error {
			if k == key {
				v, logged = slices.Clone(val), true
			}
			return nil
		})
	})
	if err != nil || logged {
		return v, err
	}
	return readRaw(r, key)
}
