package line

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// conn.go: a Link as a net.Conn carrying len2 records, so that code
// written for streams (the gateway's connection loop, the terminal's
// Client, each with the stream framing LineFraming.Stream) runs over a
// serial line unchanged: one record written is one frame sent and
// acknowledged, one frame delivered is one record read.

// Addr is a serial device as a net.Addr.
type Addr string

func (a Addr) Network() string { return "serial" }
func (a Addr) String() string  { return string(a) }

// Conn is a Link as a net.Conn. Read and Write honour their deadlines;
// Close closes the link.
type Conn struct {
	l    *Link
	addr Addr
	rbuf []byte // the rest of the record being read
	wbuf []byte // a record being written, until it is whole

	mu       sync.Mutex
	rdl, wdl time.Time
	rchanged chan struct{} // closed and replaced when the read deadline moves
}

// NewConn presents l as a net.Conn named by device.
func NewConn(l *Link, device string) *Conn {
	return &Conn{l: l, addr: Addr(device), rchanged: make(chan struct{})}
}

// Link is the link under the Conn (for its Stats and Err).
func (c *Conn) Link() *Link { return c.l }

// Read returns the bytes of len2 records, one per frame received. When
// the link ends it returns io.EOF; Link().Err() says why.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.rbuf) == 0 {
		payload, err := c.next()
		if err != nil {
			return 0, err
		}
		c.rbuf = append(append(c.rbuf[:0], byte(len(payload)>>8), byte(len(payload))), payload...)
	}
	n := copy(p, c.rbuf)
	c.rbuf = c.rbuf[n:]
	return n, nil
}

func (c *Conn) next() ([]byte, error) {
	for {
		c.mu.Lock()
		dl, changed := c.rdl, c.rchanged
		c.mu.Unlock()
		var expire <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return nil, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			expire = t.C
		}
		var p []byte
		var err error
		select {
		case p = <-c.l.Frames():
		case <-c.l.Dead():
			err = io.EOF
		case <-expire:
			err = os.ErrDeadlineExceeded
		case <-changed:
		}
		if t != nil {
			t.Stop()
		}
		if p != nil || err != nil {
			return p, err
		}
	}
}

// Write takes len2 records (in any pieces) and sends each whole one as a
// frame, returning once it is acknowledged; an error is the link's, or
// ErrNotAcknowledged.
func (c *Conn) Write(p []byte) (int, error) {
	c.wbuf = append(c.wbuf, p...)
	for len(c.wbuf) >= 2 {
		n := int(c.wbuf[0])<<8 | int(c.wbuf[1])
		if n == 0 || n > wire.MaxFrameBytes {
			c.wbuf = c.wbuf[:0]
			return 0, fmt.Errorf("serial %s: record of %d bytes: want 1..%d", c.addr, n, wire.MaxFrameBytes)
		}
		if len(c.wbuf) < 2+n {
			break
		}
		c.mu.Lock()
		dl := c.wdl
		c.mu.Unlock()
		err := c.l.Send(c.wbuf[2:2+n], dl)
		c.wbuf = c.wbuf[:copy(c.wbuf, c.wbuf[2+n:])]
		if err != nil {
			if errors.Is(err, errDeadline) {
				err = os.ErrDeadlineExceeded
			}
			return 0, err
		}
	}
	return len(p), nil
}

// Close ends the link.
func (c *Conn) Close() error { return c.l.Close() }

func (c *Conn) LocalAddr() net.Addr  { return c.addr }
func (c *Conn) RemoteAddr() net.Addr { return c.addr }

func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	close(c.rchanged)
	c.rchanged = make(chan struct{})
	c.mu.Unlock()
	return nil
}

func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	return nil
}
