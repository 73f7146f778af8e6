package terminal

import (
	"sync"
	"time"
)

// load_open.go: the open-loop driver. Requests are due on a fixed
// timetable (LoadConfig.Rate a second over all connections), whether or
// not earlier ones were answered, as terminals at a mall would send
// them; each request's latency counts from its slot on the timetable,
// not from the moment it went out. A closed loop cannot show queueing:
// a slow answer delays the next request, so the wait it causes is never
// measured ("coordinated omission"). Here a request that waits for a
// free request slot waits on the clock.
//
// Each connection keeps its own share of the timetable (connSchedule)
// in the one goroutine that also reads its answers: it waits for the
// next slot or the next answer, whichever comes first (the read
// deadline is the next slot's time), so a request costs a wake-up for
// its slot and one for its answer, and no hand-off between goroutines.
//
// A connection has at most InFlight requests outstanding and a backlog
// of at most maxOpenBacklog slots waiting for one. A slot sent more
// than LateAfter after its time is counted late; a slot that finds the
// backlog full is not sent at all and counted missed. Both say the
// host (or the load generator) could not keep the timetable; their
// latency, for the late ones, is in the histogram.

// maxOpenBacklog bounds the slots waiting for a connection's request
// slots.
const maxOpenBacklog = 64

// timetable is the open loop's schedule: slot i is due at start +
// i/rate seconds and goes to connection i mod conns, so that each
// connection sees an even rate/conns and the connections interleave.
type timetable struct {
	start time.Time
	rate  int64 // slots a second over all connections, 1..maxLoadRate
	conns int
	slots int64 // slots in the run
}

// newTimetable is the schedule of a run of cfg starting at start: rate
// × duration slots, fewer when Requests is smaller.
func newTimetable(cfg *LoadConfig, start time.Time) timetable {
	tt := timetable{start: start, rate: cfg.Rate, conns: cfg.Connections}
	if cfg.Duration > 0 {
		// Both factors are bounded (maxLoadRate, maxLoadDuration), so the
		// product stays far inside int64.
		tt.slots = cfg.Rate * int64(cfg.Duration) / int64(time.Second)
	}
	if cfg.Requests > 0 && (tt.slots == 0 || cfg.Requests < tt.slots) {
		tt.slots = cfg.Requests
	}
	return tt
}

// at is slot i's time. It is computed from i, never by adding intervals,
// so that rounding does not drift over a long run.
func (tt timetable) at(i int64) time.Time {
	return tt.start.Add(time.Duration(i * int64(time.Second) / tt.rate))
}

// conn is the connection slot i goes to.
func (tt timetable) conn(i int64) int { return int(i % int64(tt.conns)) }

// connSchedule is one connection's share of a timetable: its slots c,
// c + conns, c + 2·conns, … in order, and the backlog of those due but
// not yet sent.
type connSchedule struct {
	tt      timetable
	next    int64 // the connection's next slot not yet due (a timetable index)
	backlog [maxOpenBacklog]time.Time
	head, n int // the backlog is a ring: n slots from head
	missed  int64
}

func newConnSchedule(tt timetable, c int) *connSchedule {
	return &connSchedule{tt: tt, next: int64(c)}
}

// nextAt is when the connection's next slot is due; false when none is
// left to come.
func (s *connSchedule) nextAt() (time.Time, bool) {
	if s.next >= s.tt.slots {
		return time.Time{}, false
	}
	return s.tt.at(s.next), true
}

// due moves every slot due by now into the backlog, in order; a slot
// that finds the backlog full is missed. send is offered each slot
// first, while the backlog is empty, and takes it when a request slot
// is free (so a slot need not wait in the backlog to be sent).
func (s *connSchedule) due(now time.Time, send func(at time.Time) bool) {
	for s.next < s.tt.slots {
		at := s.tt.at(s.next)
		if at.After(now) {
			return
		}
		s.next += int64(s.tt.conns)
		switch {
		case s.n == 0 && send(at):
		case s.n == len(s.backlog):
			s.missed++
		default:
			s.backlog[(s.head+s.n)%len(s.backlog)] = at
			s.n++
		}
	}
}

// pop takes the oldest slot of the backlog.
func (s *connSchedule) pop() (time.Time, bool) {
	if s.n == 0 {
		return time.Time{}, false
	}
	at := s.backlog[s.head]
	s.head = (s.head + 1) % len(s.backlog)
	s.n--
	return at, true
}

// done says whether every slot has come and left the backlog.
func (s *connSchedule) done() bool { return s.next >= s.tt.slots && s.n == 0 }

// left is how many slots have not yet come or wait in the backlog.
func (s *connSchedule) left() int64 {
	n := int64(s.n)
	if s.next < s.tt.slots {
		n += (s.tt.slots-1-s.next)/int64(s.tt.conns) + 1
	}
	return n
}

// latencyOrigin is where a request's latency counts from when it goes
// out at sent: its slot when it has one (late when it goes out more
// than lateAfter after it), else sent.
func latencyOrigin(scheduled, sent time.Time, lateAfter time.Duration) (origin time.Time, late bool) {
	if scheduled.IsZero() {
		return sent, false
	}
	return scheduled, sent.Sub(scheduled) > lateAfter
}

// runOpen runs the timetable, each connection its share. It returns
// the slots missed and the time from the first slot to the last answer.
func runOpen(cfg *LoadConfig, lcs []*loadConn) (int64, time.Duration) {
	// The first slot a little ahead, so that the connections are
	// waiting when it comes.
	start := time.Now().Add(time.Millisecond)
	tt := newTimetable(cfg, start)
	scheds := make([]*connSchedule, len(lcs))
	var wg sync.WaitGroup
	for c, lc := range lcs {
		scheds[c] = newConnSchedule(tt, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc.run(nil, nil, scheds[c])
		}()
	}
	wg.Wait()
	var missed int64
	for _, s := range scheds {
		missed += s.missed
	}
	return missed, time.Since(start)
}
