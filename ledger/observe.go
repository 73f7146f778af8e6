package ledger

// observe.go: what an operator's monitoring reads of a running store: an
// Observer told of every group commit, the depth of the writer's queue,
// and whether the store can still decide anything (Health). The ledger
// knows nothing of how these are exported (Prometheus, in the host).

import (
	"errors"
	"fmt"
	"time"
)

// Observer is told of every group commit; Options.Observer. CommitDone
// runs on the committer goroutine, between the sync and the release of
// the group's results, so it must be cheap and must not block: count,
// observe a histogram, return.
type Observer interface {
	// CommitDone: one group of ops (requests and operator changes
	// decided together; at least 1, at most maxOpsPerBatch) was written
	// in one batch, and its Commit(pebble.Sync) took syncDur. It is
	// called for a commit that failed too (the store then fails).
	CommitDone(ops int, syncDur time.Duration)
}

// ErrFailed is Health's answer for a store that a failed commit put in
// the fault state: every request is answered 96 until it has recovered
// from the disk fault (recover.go).
var ErrFailed = errors.New("ledger: failed")

// observeCommit reports one group commit to the Observer, if any.
func (s *Store) observeCommit(ops int, syncDur time.Duration) {
	if s.opts.Observer != nil {
		s.opts.Observer.CommitDone(ops, syncDur)
	}
}

// faultErr is Health's answer while the store recovers from a disk
// fault, nil otherwise; it takes no lock (the writer and Close use it).
func (s *Store) faultErr() error {
	if f := s.fault.Load(); f != nil {
		return fmt.Errorf("%w: %w: %w", ErrFailed, errFault, *f)
	}
	return nil
}

// QueueDepth is the number of ops waiting for the writer: requests and
// operator changes submitted and not yet taken into a group. It is at
// most the queue limit (QueueCapacity); a queue near it means Submit is
// about to wait (backpressure) and then answer ErrQueueFull.
func (s *Store) QueueDepth() int { return len(s.queue) }

// QueueCapacity is the writer queue's limit (Options.QueueLimit).
func (s *Store) QueueCapacity() int { return cap(s.queue) }

// Health says whether the store can decide requests: nil while it is
// open and healthy; while it recovers from a failed commit, an error
// wrapping ErrFailed, ErrHost (96 on the wire) and the disk's own error
// (errors.Is finds ENOSPC, say); ErrClosed once Close has begun, and for
// a read-only store. The cause is in the error's text for the operator's
// log; it names Pebble's fault, never a key or card data.
func (s *Store) Health() error {
	if err := s.faultErr(); err != nil {
		return err
	}
	s.submitMu.RLock()
	defer s.submitMu.RUnlock()
	if s.closed || s.opts.ReadOnly {
		return ErrClosed
	}
	return nil
}

// LSM is Pebble's background work at an instant: what a request shares
// the disk and the cores with, and what an operator watches to see the
// store falling behind its writes.
type LSM struct {
	// Flushing and Compacting are the memtable flushes and compactions
	// running.
	Flushing, Compacting int64
	// CompactionDebt is Pebble's estimate of the bytes compactions still
	// have to rewrite for the tree to be in shape.
	CompactionDebt uint64
	// ReadAmp is the number of sorted runs a point read may consult (L0
	// sublevels plus non-empty levels): Pebble stalls writes when L0
	// grows, so a rising figure is the early warning.
	ReadAmp int
}

// LSM reads the store's LSM state (zero while the store is failed or
// closed). It takes Pebble's metrics lock: a scrape's worth, not a
// request's.
func (s *Store) LSM() LSM {
	db, release, err := s.acquire()
	if err != nil {
		return LSM{}
	}
	defer release()
	m := db.Metrics()
	return LSM{Flushing: m.Flush.NumInProgress, Compacting: m.Compact.NumInProgress,
		CompactionDebt: m.Compact.EstimatedDebt, ReadAmp: m.ReadAmp()}
}
