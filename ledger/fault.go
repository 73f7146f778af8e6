package ledger

// fault.go: what a failed commit does. The committer commits each group
// with its pre-images at hand; when the commit fails, the store enters
// the fault state (everything answered ErrHost, readers refused), and
// the writer recovers (recover.go).

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// Why a failed commit cannot simply be reported and the store go on
// (Pebble v2.1.7, read in its source):
//
//   - DB.Apply applies a batch to the memtable and publishes it before it
//     looks at the WAL sync's result: a batch whose sync failed is visible
//     to every later read of that Pebble instance.
//   - The WAL writer's error is sticky: every later sync of that WAL
//     fails, and a later WriteRecord that sees the error panics inside
//     the commit pipeline with its locks held.
//   - Apply reports a commit error through Logger.Fatalf ("pebble: fatal
//     commit error") and, should Fatalf return, returns nil as if the
//     batch were durable.
//   - The failed batch's WAL record may well be on disk (the write
//     succeeded, the sync did not), so reopening the store may replay it.
//
// So the committer takes a snapshot before each commit; pebbleLogger's
// Fatalf panics with a pebbleFatal that the committer recovers (only
// that one: Pebble calls it there with no lock held); on a failure the
// committer reads the failed batch's pre-images from the snapshot (the
// undo), commits nothing more on that instance, and the writer reopens
// Pebble and writes the undo before it decides again (recover.go).

// pebbleFatal is what pebbleLogger.Fatalf panics with: its message
// (PANs masked) and the error it quotes, so that errors.Is still finds
// the disk's error (ENOSPC, say) in what the store reports.
type pebbleFatal struct {
	msg   string
	cause error
}

func (f pebbleFatal) Error() string { return f.msg }
func (f pebbleFatal) Unwrap() error { return f.cause }

// errFault marks the error a request or a read gets while the store
// recovers from a disk fault; it wraps ErrHost (96 on the wire).
var errFault = fmt.Errorf("%w: ledger recovering from a disk fault", ErrHost)

// WaitHealthy waits until the store is healthy (at once when it is),
// ctx ends or the store closes.
func (s *Store) WaitHealthy(ctx context.Context) error {
	s.healthMu.Lock()
	ch := s.healthy
	s.healthMu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return ErrClosed
	}
}

// setFault enters the fault state; the first fault is the one reported.
func (s *Store) setFault(err error) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if s.fault.CompareAndSwap(nil, &err) {
		s.healthy = make(chan struct{})
		s.log.Error().Err(err).Msg("ledger: commit failed; answering host error (96) and recovering")
	}
}

// clearFault leaves the fault state (the writer, once recovered).
func (s *Store) clearFault() {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.fault.Store(nil)
	if s.healthy != nil {
		close(s.healthy)
		s.healthy = nil
	}
}

// acquire gives a goroutine other than the writer and the committer the
// Pebble handle to read; release must be called when the reads (and
// any snapshot or iterator taken from it) are done. While the store is
// in the fault state it refuses: the failed group may be visible in the
// old instance, and the new one is not open yet.
func (s *Store) acquire() (db *pebble.DB, release func(), err error) {
	s.dbMu.RLock()
	if s.dbClosed {
		s.dbMu.RUnlock()
		return nil, nil, ErrClosed
	}
	if s.db == nil || s.fault.Load() != nil {
		s.dbMu.RUnlock()
		return nil, nil, s.refusal()
	}
	return s.db, s.dbMu.RUnlock, nil
}

// snapshot is a consistent view of the store for a reader outside the
// writer, held under acquire: done closes it and lets recovery swap the
// instance again.
func (s *Store) snapshot() (snap *pebble.Snapshot, done func(), err error) {
	db, release, err := s.acquire()
	if err != nil {
		return nil, nil, err
	}
	snap = db.NewSnapshot()
	return snap, func() { snap.Close(); release() }, nil
}

// refusal is what a read gets while no Pebble instance may be read: the
// fault (faultErr), or errFault between the fault's end and the reopen.
func (s *Store) refusal() error {
	if err := s.faultErr(); err != nil {
		return err
	}
	return errFault
}

// commitGroup commits g's batch with pebble.Sync. On failure it returns
// the error and leaves in g the undo: the pre-images of every key the
// batch wrote, read from a snapshot taken before the commit (or why they
// could not be read).
func (s *Store) commitGroup(g *group) error {
	snap := s.db.NewSnapshot()
	defer snap.Close()
	wo := pebble.Sync
	if s.opts.UnsafeNoSync {
		wo = pebble.NoSync // benchmarks only: see Options.UnsafeNoSync
	}
	b := g.batch
	if sorted, ok := inKeyOrder(s.db, g.batch, &s.sortScratch); ok {
		defer sorted.Close()
		b = sorted
	}
	err := commitWith(b, wo)
	if err == nil {
		return nil
	}
	g.undo, g.undoErr = preImages(snap, g.batch)
	return fmt.Errorf("ledger: commit: %w", err)
}

// commitSync commits b with pebble.Sync, turning Pebble's Fatalf on a
// commit error into an error. Any other panic is not ours to swallow.
func commitSync(b *pebble.Batch) error { return commitWith(b, pebble.Sync) }

// commitWith is commitSync with the write options given.
func commitWith(b *pebble.Batch, wo *pebble.WriteOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(pebbleFatal)
			if !ok {
				panic(r)
			}
			err = f
		}
	}()
	return b.Commit(wo)
}

// preImages lists, for every key b writes, its value in snap (a delete
// when absent there): writing them undoes b.
func preImages(snap *pebble.Snapshot, b *pebble.Batch) ([]kv, error) {
	seen := make(map[string]bool)
	var undo []kv
	r := b.Reader()
	for {
		kind, ukey, _, ok, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("ledger: read failed batch: %w", err)
		}
		if !ok {
			return undo, nil
		}
		if kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindDelete {
			return nil, fmt.Errorf("ledger: failed batch holds a %s", kind)
		}
		key := string(ukey)
		if seen[key] {
			continue
		}
		seen[key] = true
		v, err := readStored(snap, key) // the key's own value: an aggregate's too
		if err != nil {
			return nil, err
		}
		undo = append(undo, kv{key: key, val: v, del: v == nil})
	}
}

// backgroundErrorEvery bounds how often Pebble's background errors are
// logged: a flush or compaction that fails on a full disk is retried by
// Pebble at once, again and again.
const backgroundErrorEvery = 10 * time.Second

// backgroundErrors logs Pebble's background errors (failed flushes and
// compactions, which Pebble retries and which change nothing the store
// answered) at most once every backgroundErrorEvery, each line with the
// number held back since the previous one.
type backgroundErrors struct {
	log        zerolog.Logger
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (b *backgroundErrors) report(err error) {
	b.mu.Lock()
	now := time.Now() // log pacing, not a business time
	if !b.last.IsZero() && now.Sub(b.last) < backgroundErrorEvery {
		b.suppressed++
		b.mu.Unlock()
		return
	}
	n := b.suppressed
	b.last, b.suppressed = now, 0
	b.mu.Unlock()
	b.log.Error().Str("component", "pebble").Int("suppressed", n).
		Msg("background error: " + cardnum.Scrub(err.Error()))
}
