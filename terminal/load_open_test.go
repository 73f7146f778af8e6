package terminal

import (
	"context"
	"strings"
	"testing"
	"time"
)

// fakeClock is the open loop's clock in tests: a sleep moves it to the
// wake-up time plus overshoot (a dispatcher that wakes late).
type fakeClock struct {
	now       time.Time
	overshoot time.Duration
	sleeps    int
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) bool {
	c.sleeps++
	if t.After(c.now) {
		c.now = t.Add(c.overshoot)
	}
	return ctx.Err() == nil
}

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func TestTimetable(t *testing.T) {
	cfg := &LoadConfig{Rate: 3000, Connections: 4, Duration: 2 * time.Second}
	tt := newTimetable(cfg, t0)
	if tt.slots != 6000 {
		t.Fatalf("slots %d, want 6000", tt.slots)
	}
	// Slot i at i/3000 s, computed, not accumulated: slot 5999 is exactly
	// 5999/3000 s after the start (an accumulated 333,333 ns interval
	// would be 2 µs short).
	if got, want := tt.at(5999).Sub(t0), 1999666666*time.Nanosecond; got != want {
		t.Fatalf("slot 5999 at %s, want %s", got, want)
	}
	if got := tt.at(3).Sub(t0); got != time.Millisecond {
		t.Fatalf("slot 3 at %s", got)
	}
	for i, want := range []int{0, 1, 2, 3, 0, 1} {
		if got := tt.conn(int64(i)); got != want {
			t.Errorf("slot %d to connection %d, want %d", i, got, want)
		}
	}
	// A request count below rate × duration ends the timetable first.
	cfg.Requests = 10
	if tt := newTimetable(cfg, t0); tt.slots != 10 {
		t.Fatalf("slots %d, want 10", tt.slots)
	}
	cfg.Duration = 0
	if tt := newTimetable(cfg, t0); tt.slots != 10 {
		t.Fatalf("slots %d, want 10 (requests only)", tt.slots)
	}
}

// TestDispatchTimetable: every slot reaches its connection with its own
// scheduled time, also when the dispatcher wakes late and hands out
// several slots at once.
func TestDispatchTimetable(t *testing.T) {
	for _, overshoot := range []time.Duration{0, 3500 * time.Microsecond} {
		tt := timetable{start: t0, rate: 1000, conns: 3, slots: 30}
		queues := []chan time.Time{make(chan time.Time, 10), make(chan time.Time, 10), make(chan time.Time, 10)}
		clk := &fakeClock{now: t0, overshoot: overshoot}
		if missed := dispatch(context.Background(), clk, tt, queues); missed != 0 {
			t.Fatalf("overshoot %s: %d missed", overshoot, missed)
		}
		for c, q := range queues {
			i := int64(c)
			for at := range q { // closed by dispatch
				if want := t0.Add(time.Duration(i) * time.Millisecond); !at.Equal(want) {
					t.Fatalf("overshoot %s: connection %d got slot at %s, want %s", overshoot, c, at.Sub(t0), want.Sub(t0))
				}
				i += 3
			}
			if i != 30+int64(c) {
				t.Fatalf("overshoot %s: connection %d got slots up to %d", overshoot, c, i-3)
			}
		}
		if overshoot > 0 && clk.sleeps >= 29 {
			t.Fatalf("a late dispatcher should catch up several slots a wake-up, slept %d times", clk.sleeps)
		}
	}
}

// TestDispatchMissed: a slot that finds its connection's backlog full is
// not sent, and counted.
func TestDispatchMissed(t *testing.T) {
	tt := timetable{start: t0, rate: 1000, conns: 3, slots: 10}
	queues := []chan time.Time{make(chan time.Time, 2), make(chan time.Time, 2), make(chan time.Time, 2)}
	// Nobody drains: connection 0 gets slots 0,3 (6 and 9 missed), 1 gets
	// 1,4 (7 missed), 2 gets 2,5 (8 missed).
	if missed := dispatch(context.Background(), &fakeClock{now: t0}, tt, queues); missed != 4 {
		t.Fatalf("missed %d, want 4", missed)
	}
	for c, q := range queues {
		if len(q) != 2 {
			t.Errorf("connection %d holds %d slots", c, len(q))
		}
	}
}

func TestDispatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := make(chan time.Time, 100)
	tt := timetable{start: t0, rate: 1000, conns: 1, slots: 100}
	dispatch(ctx, &fakeClock{now: t0}, tt, []chan time.Time{q})
	if len(q) != 1 { // slot 0 was due at once; the sleep to slot 1 saw ctx
		t.Fatalf("%d slots dispatched after cancel", len(q))
	}
}

// TestLatencyOrigin: an open-loop request's latency counts from its
// slot, and one sent more than LateAfter after its slot is late; a
// closed-loop request counts from its send.
func TestLatencyOrigin(t *testing.T) {
	if got, late := latencyOrigin(t0, t0.Add(time.Millisecond), time.Millisecond); !got.Equal(t0) || late {
		t.Fatalf("on time: origin %s, late %v", got.Sub(t0), late)
	}
	if got, late := latencyOrigin(t0, t0.Add(time.Millisecond+1), time.Millisecond); !got.Equal(t0) || !late {
		t.Fatalf("late: origin %s, late %v", got.Sub(t0), late)
	}
	sent := t0.Add(time.Hour)
	if got, late := latencyOrigin(time.Time{}, sent, time.Millisecond); !got.Equal(sent) || late {
		t.Fatalf("closed loop: origin %s, late %v", got.Sub(t0), late)
	}
}

// TestRunLoadOpen: an open-loop run over real TCP sends every slot of
// its timetable (or counts it missed) and reports them all.
func TestRunLoadOpen(t *testing.T) {
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) { c.answer(f, "00", nil) })
	rep, err := RunLoad(context.Background(), LoadConfig{
		Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
		Terminals: loadTerminals(4), Connections: 2, InFlight: 2, EchoOnly: true,
		Rate: 20000, Requests: 400,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests+rep.Missed != 400 || rep.Errors != 0 || int64(rep.Latency.Count()) != rep.Requests || rep.Approved != rep.Requests {
		t.Fatalf("requests %d missed %d errors %d answered %d", rep.Requests, rep.Missed, rep.Errors, rep.Latency.Count())
	}
	if rep.Rate != 20000 || rep.LateAfter != defaultLoadLateAfter || rep.Late > rep.Requests {
		t.Fatalf("rate %d late %d after %s", rep.Rate, rep.Late, rep.LateAfter)
	}
	if s := FormatReport(rep); !strings.Contains(s, "open loop at 20000/s, at most 2 outstanding") || !strings.Contains(s, "not sent (backlog full)") {
		t.Fatalf("%s", s)
	}
}
