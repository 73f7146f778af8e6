package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// commitLog is an Observer that keeps what it was told.
type commitLog struct {
	mu     sync.Mutex
	groups int
	ops    int
}

func (c *commitLog) CommitDone(ops int, syncDur time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups++
	c.ops += ops
}

// Every op is reported in exactly one group commit, before its caller
// is answered; the queue's capacity is the configured limit.
func TestObserverSeesEveryCommittedOp(t *testing.T) {
	obs := &commitLog{}
	s, err := Open(t.TempDir(), Options{Observer: obs, QueueLimit: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.QueueCapacity(); got != 16 {
		t.Errorf("QueueCapacity %d, want 16", got)
	}
	const n = 5
	for i := 0; i < n; i++ {
		must(t, s.PutProgram(context.Background(), Program{ID: fmt.Sprintf("p%d", i), Currency: "156"}))
	}
	obs.mu.Lock()
	groups, ops := obs.groups, obs.ops
	obs.mu.Unlock()
	if ops != n || groups < 1 || groups > n {
		t.Errorf("observer saw %d ops in %d groups, want %d ops in 1..%d groups", ops, groups, n, n)
	}
	if d := s.QueueDepth(); d != 0 {
		t.Errorf("QueueDepth %d on an idle store", d)
	}
}

// Health: nil while open; ErrClosed once closed, and for a read-only
// store. (While a disk fault lasts it is ErrFailed: fault_test.go.)
func TestHealth(t *testing.T) {
	s, _ := openTest(t)
	if err := s.Health(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	dir := t.TempDir()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if err := s2.Health(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed store: %v, want ErrClosed", err)
	}
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Health(); !errors.Is(err, ErrClosed) {
		t.Fatalf("read-only store: %v, want ErrClosed", err)
	}
}

// LSM reads Pebble's own figures: a store whose memtable was flushed
// has a sorted run to read; a closed one reads zero.
func TestLSM(t *testing.T) {
	s, _ := openTest(t)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := s.LSM(); got.ReadAmp < 1 || got.Flushing != 0 || got.Compacting < 0 {
		t.Fatalf("after a flush: %+v, want a read amplification of at least 1", got)
	}
	s.Close()
	if got := s.LSM(); got != (LSM{}) {
		t.Fatalf("closed store: %+v, want zero", got)
	}
}
