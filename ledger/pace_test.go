package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The pacer lets a group start an interval after the previous one's
// start, not before, while groups carry several ops on average; the
// first group, groups while they carry one op each, and every group
// when unpaced start at once.
func TestCommitPacer(t *testing.T) {
	now := time.Unix(1000, 0)
	p := newCommitPacer(10 * time.Millisecond)
	p.now = func() time.Time { return now }
	defer p.stop()
	if !p.due() {
		t.Fatal("the first group is not due")
	}
	for range 100 {
		p.started(1)
		if !p.due() {
			t.Fatal("a group after groups of one op is not due at once")
		}
	}
	for _, ops := range []int{2, 1, 3, 1, 2} { // a low concurrent load
		p.started(ops)
	}
	now = now.Add(9 * time.Millisecond)
	if p.due() {
		t.Fatal("due 9 ms after a group of 2 started, interval 10 ms")
	}
	now = now.Add(time.Millisecond)
	if !p.due() {
		t.Fatal("not due 10 ms after the last start")
	}
	unpaced := newCommitPacer(-1)
	unpaced.started(100)
	if !unpaced.due() {
		t.Fatal("an unpaced group is not due at once")
	}
}

// A writer whose pacer never finds a group due (its clock frozen right
// after a group of several ops) decides every request into one group;
// Close commits it and answers them all.
func TestPacedGroupWaitsUntilClose(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestIn(t, dir, Options{})
	must(t, s.Close())

	obs := &commitLog{}
	frozen := time.Unix(1000, 0)
	s, err := Open(dir, Options{Observer: obs, newPacer: func() *commitPacer {
		p := newCommitPacer(MaxCommitInterval)
		p.now = func() time.Time { return frozen }
		p.started(maxOpsPerBatch) // as after a full group
		return p
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	results := make(chan Result, n+1)
	answer := func(res Result) { results <- res }
	must(t, s.Submit(context.Background(), req(KindSignOn, "0800", "000001", 0), answer))
	for i := range n {
		must(t, s.Submit(context.Background(), req(KindPurchase, "0200", fmt.Sprintf("%06d", 10+i), 100), answer))
	}
	must(t, s.Close())
	for range n + 1 {
		if res := <-results; res.Err != nil {
			t.Errorf("a paced request: %v", res.Err)
		}
	}
	if obs.groups != 1 || obs.ops != n+1 {
		t.Errorf("observer saw %d ops in %d groups, want %d ops in the one Close committed", obs.ops, obs.groups, n+1)
	}
}
