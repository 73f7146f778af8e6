package terminal

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

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

// TestConnSchedule: a connection gets every one of its slots of the
// timetable, in order, each with its own time, also when it wakes late
// and several are due at once; the schedule says when the next is due.
func TestConnSchedule(t *testing.T) {
	tt := timetable{start: t0, rate: 1000, conns: 3, slots: 30}
	for _, wakeEvery := range []time.Duration{time.Millisecond, 3500 * time.Microsecond} {
		for c := range 3 {
			s := newConnSchedule(tt, c)
			i := int64(c)
			if s.left() != 10 {
				t.Fatalf("connection %d: %d slots left at the start", c, s.left())
			}
			for now := t0; !s.done(); now = now.Add(wakeEvery) {
				s.due(now, func(at time.Time) bool {
					if want := t0.Add(time.Duration(i) * time.Millisecond); !at.Equal(want) || at.After(now) {
						t.Fatalf("wake-up every %s: connection %d got slot at %s (now %s), want %s",
							wakeEvery, c, at.Sub(t0), now.Sub(t0), want.Sub(t0))
					}
					i += 3
					return true
				})
				if next, ok := s.nextAt(); ok && !next.After(now) {
					t.Fatalf("next slot at %s, not after now %s", next.Sub(t0), now.Sub(t0))
				}
			}
			if i != 30+int64(c) || s.missed != 0 || s.left() != 0 {
				t.Fatalf("connection %d got slots up to %d, missed %d", c, i-3, s.missed)
			}
			if _, ok := s.nextAt(); ok {
				t.Fatalf("a slot after the last")
			}
		}
	}
}

// TestConnScheduleBacklog: slots due while no request slot is free wait
// in the backlog, oldest first; a slot that finds maxOpenBacklog
// waiting is missed, not sent.
func TestConnScheduleBacklog(t *testing.T) {
	tt := timetable{start: t0, rate: 1000, conns: 2, slots: 2 * (maxOpenBacklog + 10)}
	s := newConnSchedule(tt, 1)
	busy := func(time.Time) bool { return false }
	s.due(t0.Add(time.Hour), busy)
	if s.missed != 10 || s.n != maxOpenBacklog || s.done() {
		t.Fatalf("missed %d, backlog %d", s.missed, s.n)
	}
	if s.left() != maxOpenBacklog {
		t.Fatalf("left %d", s.left())
	}
	for k := range maxOpenBacklog {
		at, ok := s.pop()
		if want := t0.Add(time.Duration(1+2*k) * time.Millisecond); !ok || !at.Equal(want) {
			t.Fatalf("backlog slot %d at %s, want %s", k, at.Sub(t0), want.Sub(t0))
		}
	}
	if _, ok := s.pop(); ok || !s.done() {
		t.Fatalf("backlog not empty")
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

// TestRunLoadCancel: a run whose context ends stops at once, closed loop
// or open, and says so; what was in flight is an error, nothing more.
func TestRunLoadCancel(t *testing.T) {
	for _, rate := range []int64{0, 2000} {
		ctx, cancel := context.WithCancel(context.Background())
		var n atomic.Int64
		h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
			if f.msg.Fields[70] == "301" && n.Add(1) == 50 {
				cancel() // the 50th echo of the run
			}
			c.answer(f, "00", nil)
		})
		rep, err := RunLoad(ctx, LoadConfig{
			Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
			Terminals: loadTerminals(4), Connections: 2, InFlight: 2, EchoOnly: true, Rate: rate, Duration: time.Hour,
		})
		cancel()
		if err != context.Canceled || rep.Requests < 50 || rep.Approved == 0 || rep.Errors > 4 {
			t.Fatalf("rate %d: %v, %d requests, %d approved, %d errors", rate, err, rep.Requests, rep.Approved, rep.Errors)
		}
	}
}
