package ledger

// fault_test.go: disk faults under a real store on a real disk
// (vfs.Default on t.TempDir, wrapped by errorfs): a failing sync, a full
// disk, a slow disk. Each fault is switched on and off while the store
// runs; the tests wait on outcomes (results, WaitHealthy), never on time.

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// recoveryWait bounds how long a test waits for the store to recover
// once the disk is back (a hung recovery fails the test, not CI).
const recoveryWait = time.Minute

func isSyncOp(k errorfs.OpKind) bool {
	return k == errorfs.OpFileSync || k == errorfs.OpFileSyncData || k == errorfs.OpFileSyncTo
}

// failingSync fails every fsync, as a disk that lost its write cache or
// a device that went away does.
func failingSync() *errorfs.Toggle {
	return &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if isSyncOp(op.Kind) {
			return errorfs.ErrInjected
		}
		return nil
	})}
}

// fullDisk fails every write and preallocation with ENOSPC; reads,
// creates and removes still work, as on a real full file system.
func fullDisk() *errorfs.Toggle {
	return &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFilePreallocate:
			return &os.PathError{Op: "write", Path: op.Path, Err: syscall.ENOSPC}
		}
		return nil
	})}
}

func TestDiskFaultAnswers96AndRecovers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault *errorfs.Toggle
		cause error // what Health names while the fault lasts
	}{
		{"failing sync", failingSync(), errorfs.ErrInjected},
		{"full disk", fullDisk(), syscall.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) { testDiskFault(t, tc.fault, tc.cause) })
	}
}

func testDiskFault(t *testing.T, fault *errorfs.Toggle, cause error) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{FS: errorfs.Wrap(vfs.Default, fault)})
	ctx := context.Background()
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	a := do(t, s, req(KindPurchase, "0200", "000002", 1000))
	if a.Err != nil || a.Balances.Ledger != 9000 {
		t.Fatalf("before the fault: %+v", a)
	}
	before := cardHistory(t, s)

	fault.On()
	b := req(KindPurchase, "0200", "000003", 500)
	if res := do(t, s, b); !errors.Is(res.Err, ErrHost) || res.Stored || res.RRN != "" {
		t.Fatalf("purchase while the disk fails: want an unstored 96, got %+v", res)
	}
	if err := s.Health(); !errors.Is(err, ErrFailed) || !errors.Is(err, ErrHost) || !errors.Is(err, cause) {
		t.Fatalf("Health while the disk fails: %v", err)
	}
	// Recovery cannot finish while the disk fails: the next purchase is
	// answered at once, and readers are refused rather than shown the
	// failed group, which the old Pebble instance still holds.
	c := req(KindPurchase, "0200", "000004", 700)
	if res := do(t, s, c); !errors.Is(res.Err, ErrHost) {
		t.Fatalf("purchase while recovering: %+v", res)
	}
	if _, err := s.CardBalances(testPAN); !errors.Is(err, ErrHost) {
		t.Fatalf("read while recovering: want ErrHost, got %v", err)
	}
	if _, err := s.Check(ctx); !errors.Is(err, ErrHost) {
		t.Fatalf("check while recovering: want ErrHost, got %v", err)
	}

	fault.Off()
	wctx, cancel := context.WithTimeout(ctx, recoveryWait)
	defer cancel()
	must(t, s.WaitHealthy(wctx))
	// Everything acknowledged is there, nothing of what was answered 96.
	wantState(t, s, 9000, before)

	// A retransmission of a request answered 96 is decided afresh, with
	// the sequence number the failed group had taken.
	rb := do(t, s, b)
	if rb.Err != nil || rb.Replayed || rb.Balances.Ledger != 8500 || rb.RRN != nextRRN(t, a.RRN) {
		t.Fatalf("retransmission after recovery: want approved afresh as RRN %s, got %+v", nextRRN(t, a.RRN), rb)
	}
	if rc := do(t, s, c); rc.Err != nil || rc.Balances.Ledger != 7800 {
		t.Fatalf("new purchase after recovery: %+v", rc)
	}
	after := cardHistory(t, s)
	if len(after) != len(before)+2 {
		t.Fatalf("journal after recovery: %d entries, want %d", len(after), len(before)+2)
	}
	checkOK(t, s)

	// Durable: the same state after a restart, on the plain disk.
	must(t, s.Close())
	s2, err := Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wantState(t, s2, 7800, after)
	if again := do(t, s2, b); !again.Replayed || again.RRN != rb.RRN {
		t.Fatalf("retransmission after restart: want the stored approval %s, got %+v", rb.RRN, again)
	}
}

// TestSlowDiskAcknowledgesOnlyWhatIsSynced holds every fsync at a gate:
// while a group's sync waits nothing of it is answered, a caller that
// gives up gets the usual timeout while its decision stays in flight,
// and once the disk answers everything is approved and durable.
func TestSlowDiskAcknowledgesOnlyWhatIsSynced(t *testing.T) {
	dir := t.TempDir()
	slow := &slowSync{entered: make(chan struct{}, 1)}
	s, clk := openTestIn(t, dir, Options{FS: errorfs.Wrap(vfs.Default, slow)})
	ctx := context.Background()
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	if a := do(t, s, req(KindPurchase, "0200", "000002", 1000)); a.Err != nil {
		t.Fatal(a.Err)
	}

	release := slow.hold()
	got := make(chan Result, 1)
	b := req(KindPurchase, "0200", "000003", 500)
	must(t, s.Submit(ctx, b, func(r Result) { got <- r }))
	<-slow.entered // b's group is syncing
	select {
	case r := <-got:
		t.Fatalf("answered before its sync returned: %+v", r)
	default:
	}
	// A caller whose deadline passes first (the gateway's terminal
	// timeout) gets the timeout; the decision itself goes on.
	c := req(KindPurchase, "0200", "000004", 700)
	tctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	if _, err := s.Do(tctx, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("purchase behind a stalled sync: want the caller's timeout, got %v", err)
	}
	cancel()
	if err := s.Health(); err != nil {
		t.Fatalf("a slow disk is not a fault: %v", err)
	}

	close(release)
	if r := <-got; r.Err != nil || r.Balances.Ledger != 8500 {
		t.Fatalf("purchase after the sync: %+v", r)
	}
	// The timed-out purchase was decided and committed: its
	// retransmission gets the stored approval.
	if r := do(t, s, c); r.Err != nil || !r.Replayed || r.Balances.Ledger != 7800 {
		t.Fatalf("retransmission of the timed-out purchase: %+v", r)
	}
	checkOK(t, s)
	hist := cardHistory(t, s)
	must(t, s.Close())
	s2, err := Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	wantState(t, s2, 7800, hist)
}

// slowSync holds every fsync while held, signalling entered as one
// starts.
type slowSync struct {
	entered chan struct{}
	gate    atomic.Pointer[chan struct{}] // nil: syncs pass
}

// hold makes every sync wait until the returned channel is closed.
func (s *slowSync) hold() chan struct{} {
	g := make(chan struct{})
	s.gate.Store(&g)
	return g
}

func (s *slowSync) String() string { return "slow sync" }

func (s *slowSync) MaybeError(op errorfs.Op) error {
	if g := s.gate.Load(); g != nil && isSyncOp(op.Kind) {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-*g
	}
	return nil
}

func cardHistory(t *testing.T, s *Store) []Txn {
	t.Helper()
	h, err := s.CardHistory(testPAN, 100)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// wantState checks the card's balance, its journal and the checker.
func wantState(t *testing.T, s *Store, ledger Amount, hist []Txn) {
	t.Helper()
	b, err := s.CardBalances(testPAN)
	if err != nil || b.Ledger != ledger {
		t.Fatalf("balance %+v (%v), want %d", b, err, ledger)
	}
	got := cardHistory(t, s)
	if !slices.EqualFunc(got, hist, func(x, y Txn) bool { return x.Seq == y.Seq && x.Amount == y.Amount }) {
		t.Fatalf("journal: %d entries %v, want %d", len(got), seqsOf(got), len(hist))
	}
	checkOK(t, s)
}

func seqsOf(h []Txn) []uint64 {
	out := make([]uint64, len(h))
	for i, x := range h {
		out[i] = x.Seq
	}
	return out
}

func nextRRN(t *testing.T, rrn string) string {
	t.Helper()
	n, err := strconv.ParseUint(rrn, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return FormatRRN(n + 1)
}
