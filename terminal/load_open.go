package terminal

import (
	"context"
	"fmt"
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
// A connection has at most InFlight requests outstanding and a backlog
// of at most maxOpenBacklog slots waiting for one. A slot sent more than LateAfter
// after its time is counted late; a slot that finds the backlog full is
// not sent at all and counted missed. Both say the host (or the load
// generator) could not keep the timetable; their latency, for the late
// ones, is in the histogram.

// maxOpenBacklog bounds the slots waiting for a connection's workers.
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

// openClock is the time the dispatcher runs on: the wall clock in a
// run, a fake one in tests.
type openClock interface {
	Now() time.Time
	// SleepUntil returns at t (at once when t has passed), or false as
	// soon as ctx is done.
	SleepUntil(ctx context.Context, t time.Time) bool
}

// wallClock is the real clock, with one timer reused for every sleep.
type wallClock struct{ timer *time.Timer }

func newWallClock() *wallClock {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &wallClock{timer: t}
}

func (c *wallClock) Now() time.Time { return time.Now() }

func (c *wallClock) SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	c.timer.Reset(d) // Go 1.23 timers: no stale value to drain
	select {
	case <-c.timer.C:
		return true
	case <-ctx.Done():
		c.timer.Stop()
		return false
	}
}

// dispatch hands every slot of tt to its connection's queue at its
// time, each with its scheduled time, and says how many slots found
// their queue full (missed, never sent). When it wakes late it hands
// out every slot already due, still with their own times. It closes the
// queues when the timetable is done or ctx ends.
func dispatch(ctx context.Context, clk openClock, tt timetable, queues []chan time.Time) (missed int64) {
	defer func() {
		for _, q := range queues {
			close(q)
		}
	}()
	for i := int64(0); i < tt.slots; {
		now := clk.Now()
		for ; i < tt.slots; i++ {
			at := tt.at(i)
			if at.After(now) {
				break
			}
			select {
			case queues[tt.conn(i)] <- at:
			default:
				missed++
			}
		}
		if i < tt.slots && !clk.SleepUntil(ctx, tt.at(i)) {
			break
		}
	}
	return missed
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

// runOpen runs the timetable: one dispatcher, and a sender and a
// reader per connection. It returns when every slot was sent and
// answered (or missed), with the time from the first slot to the last
// answer.
func runOpen(ctx context.Context, cfg *LoadConfig, lcs []*loadConn) (int64, time.Duration) {
	queues := make([]chan time.Time, len(lcs))
	var wg sync.WaitGroup
	for c, lc := range lcs {
		queues[c] = make(chan time.Time, maxOpenBacklog)
		if err := lc.conn.SetReadDeadline(time.Now().Add(cfg.ResponseTimeout)); err != nil {
			lc.markDead(fmt.Errorf("read deadline: %w", err))
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			lc.runSender(queues[c])
		}()
		go func() {
			defer wg.Done()
			for !lc.finished() && lc.readAnswers() {
			}
		}()
	}
	// The first slot a little ahead, so that the senders are waiting on
	// their queues when it comes.
	start := time.Now().Add(time.Millisecond)
	missed := dispatch(ctx, newWallClock(), newTimetable(cfg, start), queues)
	wg.Wait()
	return missed, time.Since(start)
}

// runSender sends the connection's slots as they come, each as soon as
// a request slot is free, every slot already due with it in one write;
// a request's latency counts from its slot on the timetable.
func (lc *loadConn) runSender(queue <-chan time.Time) {
	defer lc.closeSending()
	for at := range queue {
		if !lc.sendAt(at) {
			return
		}
		for len(queue) > 0 && len(lc.free) > 0 {
			if at, ok := <-queue; !ok || !lc.sendAt(at) {
				break
			}
		}
		lc.flush()
	}
}

// sendAt adds the request of the slot due at at, once a request slot
// is free; false when the run ended first.
func (lc *loadConn) sendAt(at time.Time) bool {
	select {
	case i := <-lc.free:
		lc.slots[i].scheduled = at
		lc.add(i)
		return true
	case <-lc.ctx.Done():
		return false
	}
}
