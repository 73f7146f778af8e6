package gateway

import "time"

// deadline.go: a connection's read and write deadlines, set again only
// when the one in force no longer covers the one wanted.
//
// Every network read and write has a deadline (house rule), but setting
// one is not free: net.Conn.SetDeadline reads the clock twice more and
// moves the connection's timer in the runtime's timer heap. At one
// request in flight a connection used to set an idle deadline and a write
// deadline for every request. Now a deadline is set a sixteenth of its
// timeout later than wanted (timeout/deadlineSlackDiv), and kept while it
// is no earlier than the one wanted and no more than that sixteenth
// later: a connection sets it again about once per sixteenth of the
// timeout, not once per request. A bound is never shorter than its
// timeout, so the contract's timeouts hold (a connection idle less than
// the idle timeout is never closed, a peer never gets less than the read
// timeout for a frame), and never longer than 17/16 of it: a silent
// connection is closed after between 300 and 318.75 s by default, a
// frame stalled mid-way after between 30 and 31.9 s, a write given up
// after between 10 and 10.6 s.

// deadlineSlackDiv: a deadline is set, and kept, up to
// timeout/deadlineSlackDiv later than the one wanted.
const deadlineSlackDiv = 16

// deadline is the last deadline set on one direction of a connection,
// as its owner (the reader, or the writer running) set it.
type deadline struct {
	at  time.Time
	set bool // at was set (a zero at then means none)
}

// keep reports whether the deadline in force can stand for want, the
// deadline a timeout from now would be: it is not earlier, and not more
// than timeout/deadlineSlackDiv later.
func (d *deadline) keep(want time.Time, timeout time.Duration) bool {
	if !d.set || d.at.IsZero() || d.at.Before(want) {
		return false
	}
	return d.at.Sub(want) <= timeout/deadlineSlackDiv
}

// slackDeadline is the deadline to set for one a timeout from now: a sixteenth of
// the timeout later, so that it stands for the wanted ones of the next
// sixteenth.
func slackDeadline(now time.Time, timeout time.Duration) time.Time {
	return now.Add(timeout + timeout/deadlineSlackDiv)
}

// readDeadline sets the connection's read deadline to timeout from now
// unless the one in force can stand for it; timeout 0 means none (a
// serial terminal's line between frames). stopReading sets a deadline of
// its own from another goroutine, which this record does not see;
// stopReader makes every read after it fail whatever the deadline.
func (c *conn) readDeadline(now time.Time, timeout time.Duration) {
	if timeout <= 0 {
		if !c.rdl.set || !c.rdl.at.IsZero() {
			c.nc.SetReadDeadline(time.Time{})
			c.rdl = deadline{set: true}
		}
		return
	}
	if c.rdl.keep(now.Add(timeout), timeout) {
		return
	}
	at := slackDeadline(now, timeout)
	c.nc.SetReadDeadline(at)
	c.rdl = deadline{at: at, set: true}
}

// writeDeadline sets the connection's write deadline to the write
// timeout from now unless the one in force can stand for it. Only the
// writer running calls it (writers follow each other through wmu).
func (c *conn) writeDeadline(now time.Time) {
	timeout := c.s.cfg.WriteTimeout
	if c.wdl.keep(now.Add(timeout), timeout) {
		return
	}
	at := slackDeadline(now, timeout)
	c.nc.SetWriteDeadline(at)
	c.wdl = deadline{at: at, set: true}
}
