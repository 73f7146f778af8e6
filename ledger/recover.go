package ledger

// recover.go: how the writer recovers from a failed commit (fault.go)
// without a restart: it answers what was not committed with ErrHost,
// closes Pebble, reopens it once the disk takes writes again, takes the
// failed group back out (its undo) and reloads its state from disk, all
// inside the writer goroutine, so that no request sees a half state.

import (
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Recovery retries with exponential backoff between these bounds, so a
// disk that stays broken costs one attempt (and one log line) a second.
const (
	minRecoveryBackoff = 5 * time.Millisecond
	maxRecoveryBackoff = time.Second
	// probeName is the file the disk probe writes, syncs and removes
	// before an attempt opens Pebble; Pebble ignores it.
	probeName  = "cardcenter-disk-probe"
	probeBytes = 4096
)

// recovery is the writer's state between a failed commit and a healthy
// store again. Writer-owned.
type recovery struct {
	cause error
	// undo restores every key the failed group wrote to its committed
	// value: the failed batch may have reached the WAL and come back
	// when Pebble reopens.
	undo []kv
	// stuck: the undo is unknown, so the store cannot recover by itself.
	stuck   bool
	attempt int
	timer   *time.Timer
	// pending receives the result of the reopen attempt under way.
	pending chan reopenResult
	// ready is a reopened instance waiting for readers to let go.
	ready *reopenResult
}

type reopenResult struct {
	db  *pebble.DB
	st  diskState
	err error
}

// wake gives the writer's loop the channels recovery waits on (nil
// when there is nothing to wait for).
func (r *recovery) wake() (<-chan time.Time, <-chan reopenResult) {
	if r == nil {
		return nil, nil
	}
	var retry <-chan time.Time
	if r.timer != nil {
		retry = r.timer.C
	}
	return retry, r.pending
}

// startRecovery begins recovering after group failed: the ops of the
// current group cur were decided on top of it and are answered ErrHost
// here, never committed; those of the groups in flight are answered by
// the releaser once the committer has refused them (it commits none).
func (s *Store) startRecovery(failed, cur *group) {
	if cur != nil {
		for _, o := range cur.ops {
			if !o.early {
				o.result = Result{Err: s.refusal(), At: o.result.At}
				o.done(o.result)
			}
		}
		cur.batch.Close()
		if i := slices.Index(s.live, cur); i >= 0 {
			s.live = slices.Delete(s.live, i, i+1)
		}
	}
	s.rec = &recovery{cause: failed.err, undo: failed.undo}
	if failed.undoErr != nil {
		s.rec.stuck = true
		s.log.Error().Err(failed.undoErr).Msg("ledger: cannot recover by itself; answering host error (96) until an operator restores the store")
	}
}

// stepRecovery moves recovery on as far as it can now: once no group is
// in flight, close the failed Pebble instance (when no reader holds it)
// and start a reopen attempt.
func (s *Store) stepRecovery() {
	r := s.rec
	if r == nil || r.stuck || r.pending != nil {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.ready != nil {
		s.reopened(*r.ready)
		return
	}
	if len(s.live) > 0 {
		return // the releaser still answers them; it wakes us
	}
	if s.db != nil {
		// Readers hold the lock shared for as long as a scan takes: the
		// writer never waits for it (it must keep answering 96 at once),
		// it tries again shortly.
		if !s.dbMu.TryLock() {
			s.retryRecovery(minRecoveryBackoff)
			return
		}
		db := s.db
		s.db = nil
		s.dbMu.Unlock()
		if err := db.Close(); err != nil {
			s.log.Warn().Err(err).Msg("ledger: closing the failed Pebble instance")
		}
	}
	pending := make(chan reopenResult, 1)
	r.pending = pending
	undo, dir, opts := r.undo, s.dir, s.opts
	// The attempt runs beside the writer, which keeps answering; the
	// writer waits for it before it exits (abandonRecovery).
	go func() { pending <- reopen(dir, opts, undo) }()
}

func (s *Store) retryRecovery(d time.Duration) {
	s.rec.timer = time.NewTimer(d)
}

// reopened takes the result of an attempt: on failure it tries again
// later; on success it installs the new instance with the state read
// from it, drops every cache, and answers normally again.
func (s *Store) reopened(res reopenResult) {
	r := s.rec
	r.pending = nil
	r.ready = nil
	if res.err != nil {
		r.attempt++
		s.log.Warn().Err(res.err).Int("attempt", r.attempt).Msg("ledger: disk still failing; answering host error (96)")
		s.retryRecovery(min(minRecoveryBackoff<<min(r.attempt, 20), maxRecoveryBackoff))
		return
	}
	if !s.dbMu.TryLock() {
		r.ready = &res
		s.retryRecovery(minRecoveryBackoff)
		return
	}
	s.db = res.db
	s.install(res.st)
	// The caches held values of the groups that were not committed.
	s.values = make(map[string]cachedValue)
	s.cards = newCardIndex()
	s.regCache = make(map[string]any)
	s.regGen++
	s.terminals = nil // their slots held values of the groups lost too
	s.committedGen = s.gen
	s.epoch++
	// Card records may have changed back: readers that keep them
	// (CardsGeneration) must read them again.
	s.cardsGen.Add(1)
	s.clearFault()
	s.dbMu.Unlock()
	s.rec = nil
	s.log.Info().Uint64("next_seq", s.nextSeq).Int("attempts", r.attempt+1).Msg("ledger: recovered from the disk fault; deciding again")
}

// abandonRecovery runs when the writer exits: it waits for an attempt
// under way, and keeps an instance it opened so that Close closes it.
func (s *Store) abandonRecovery() {
	r := s.rec
	if r == nil {
		return
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	res := r.ready
	if r.pending != nil {
		got := <-r.pending
		res = &got
	}
	if res != nil && res.err == nil {
		s.dbMu.Lock() // the writer has exited: nothing else takes it long
		if s.db == nil {
			s.db = res.db
		} else {
			res.db.Close()
		}
		s.dbMu.Unlock()
	}
}

// reopen opens Pebble in dir again, once a probe shows the disk takes a
// synced write, and writes the undo of the failed group in one synced
// batch before anything else. It touches nothing of the Store.
func reopen(dir string, opts Options, undo []kv) reopenResult {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	// Pebble's own open on a disk that fails writes can stall in a
	// flush that retries without end, or end the process through its
	// Fatalf on a MANIFEST write: only a disk that took a synced write a
	// moment ago is given to it.
	if err := probeDisk(fs, dir); err != nil {
		return reopenResult{err: err}
	}
	db, err := openPebble(dir, opts)
	if err != nil {
		return reopenResult{err: fmt.Errorf("ledger: reopen %s: %w", dir, err)}
	}
	if len(undo) > 0 {
		b := db.NewBatch()
		for _, w := range undo {
			if w.del {
				b.Delete([]byte(w.key), nil)
			} else {
				b.Set([]byte(w.key), w.val, nil)
			}
		}
		err := commitSync(b)
		b.Close()
		if err != nil {
			db.Close()
			return reopenResult{err: fmt.Errorf("ledger: undo the failed commit: %w", err)}
		}
	}
	// What the failed group's checkpoint did not write, and what the
	// groups before it logged, is written at its keys now.
	if err := replayAggregateLog(db); err != nil {
		db.Close()
		return reopenResult{err: err}
	}
	st, err := loadDiskState(db, false)
	if err != nil {
		db.Close()
		return reopenResult{err: err}
	}
	return reopenResult{db: db, st: st}
}

// probeDisk writes, syncs and removes a small file in dir.
func probeDisk(fs vfs.FS, dir string) error {
	name := fs.PathJoin(dir, probeName)
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("ledger: disk probe: %w", err)
	}
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := fs.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("ledger: disk probe: %w", err)
	}
	return nil
}
