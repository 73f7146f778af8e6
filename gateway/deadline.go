package gateway

import "time"

// deadline.go: a connection's read and write deadlines, set again only
// when the one in force has fallen too far behind.
//
// Every network read and write has a deadline (house rule), but setting
// one is not free: net.Conn.SetDeadline reads the clock twice more and
// moves the connection's timer in the runtime's timer heap. At one
// request in flight a connection used to set an idle deadline and a write
// deadline for every request. Now a deadline that is already at most
// 1/deadlineSlackDiv of its timeout earlier than the one wanted is kept:
// the idle timeout (300 s by default) closes a silent connection after
// between 15/16 of it and all of it, and a write gets between 15/16 of
// the write timeout and all of it; never more than the timeout, never
// none.

// deadlineSlackDiv: a deadline in force is kept while it is at most
// timeout/deadlineSlackDiv earlier than the one wanted.
const deadlineSlackDiv = 16

// deadline is the last deadline set on one direction of a connection,
// as its owner (the reader, or the writer running) set it.
type deadline struct {
	at  time.Time
	set bool // at was set (a zero at then means none)
}

// keep reports whether the deadline in force can stand for want, the
// deadline a timeout from now would be.
func (d *deadline) keep(want time.Time, timeout time.Duration) bool {
	if !d.set || d.at.IsZero() || d.at.After(want) {
		return false
	}
	return want.Sub(d.at) <= timeout/deadlineSlackDiv
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
	want := now.Add(timeout)
	if c.rdl.keep(want, timeout) {
		return
	}
	c.nc.SetReadDeadline(want)
	c.rdl = deadline{at: want, set: true}
}

// writeDeadline sets the connection's write deadline to the write
// timeout from now unless the one in force can stand for it. Only the
// writer running calls it (writers follow each other through wmu).
func (c *conn) writeDeadline(now time.Time) {
	timeout := c.s.cfg.WriteTimeout
	want := now.Add(timeout)
	if c.wdl.keep(want, timeout) {
		return
	}
	c.nc.SetWriteDeadline(want)
	c.wdl = deadline{at: want, set: true}
}
