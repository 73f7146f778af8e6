package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// conn.go: one terminal connection, TCP or serial, and its reader, which
// frames, unpacks and submits; its writer, which answers, is in
// answer.go.

// conn is one terminal connection: a reader goroutine that frames,
// unpacks and submits, and, while answers are waiting to be written, a
// writer that renders and writes them in completion order (answer.go):
// a goroutine of its own, or, for the answer to a plain TCP connection's
// only request in flight, the ledger's goroutine that completed it, in
// one non-blocking write (writeInline).
type conn struct {
	s      *Server
	l      *listener
	nc     net.Conn // a *tls.Conn on a TLS listener
	remote string
	source string // the remote IP, for the per-source limit

	slots chan struct{} // in-flight limit
	stop  chan struct{} // closed by stopReading
	once  sync.Once

	// The answers completed and not yet taken by the writer (at most the
	// in-flight limit), and whether a writer runs; under wmu.
	wmu     sync.Mutex
	answers []*pending
	spare   []*pending // writeInline's other buffer for answers
	writing bool
	// writer counts the writer goroutine, for serve to wait for it.
	writer sync.WaitGroup
	// broken: a write failed; nothing more is written. Only the running
	// writer uses it (writers follow each other through wmu).
	broken bool
	// The deadlines last set (deadline.go): rdl by the reader, wdl by the
	// running writer.
	rdl, wdl deadline
	// rc is a plain TCP connection's, for writeInline's non-blocking
	// write; nil on TLS and serial. rest is what writeInline left
	// unwritten of the answers restFor, for the writer goroutine.
	rc      syscall.RawConn
	rest    []byte
	restFor []*pending

	// ctx ends a wait for room in the ledger's queue when the connection
	// stops reading.
	ctx    context.Context
	cancel context.CancelFunc
}

// pending is a request on its way through the ledger, and then its
// answer on its way to the terminal.
type pending struct {
	tpdu  []byte
	req   *wire.Message
	lreq  *ledger.Request
	res   ledger.Result
	sec   *secContext
	start time.Time
	// resp is the answer, once the writer has rendered it; nil when
	// it has not (the connection broke first).
	resp *wire.Message
	// framed: resp was packed and is in the writer's next write.
	framed bool
}

func newConn(s *Server, l *listener, nc net.Conn, source string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, l: l, nc: nc, remote: nc.RemoteAddr().String(), source: source,
		slots: make(chan struct{}, l.inFlight),
		stop:  make(chan struct{}),
		ctx:   ctx, cancel: cancel,
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		c.rc, _ = tc.SyscallConn()
	}
	return c
}

func (c *conn) stopReading() {
	c.once.Do(func() {
		close(c.stop)
		c.cancel()
		c.nc.SetReadDeadline(time.Now()) // wake the reader
	})
}

func (c *conn) serve() {
	defer c.s.wg.Done()
	c.s.cfg.Observer.ConnOpened(c.l.info.Name, c.l.info.Kind)
	defer c.s.cfg.Observer.ConnClosed(c.l.info.Name, c.l.info.Kind)
	reason := c.readLoop()
	// Let every request in flight finish and be answered, then close.
	for i := 0; i < cap(c.slots); i++ {
		c.slots <- struct{}{}
	}
	c.writer.Wait() // it released the last slot; let it end
	c.nc.Close()
	c.cancel()
	c.s.logClose(c.remote, reason)
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.release(c.source)
	c.s.mu.Unlock()
}

// stopReader ends every read once the connection stops reading, even one
// that readLoop makes after it set a later deadline than stopReading's.
type stopReader struct{ c *conn }

func (r stopReader) Read(p []byte) (int, error) {
	select {
	case <-r.c.stop:
		return 0, os.ErrDeadlineExceeded
	default:
	}
	return r.c.nc.Read(p)
}

// readLoop reads requests until the connection ends; it returns why.
//
// Deadlines: between frames the idle timeout; from a frame's first byte,
// one read deadline for the whole frame, set once and never renewed. A
// peer that trickles a byte at a time therefore holds its connection for
// at most one read timeout per frame, not for as long as it keeps
// trickling. A frame that came whole with the read that ended the idle
// wait, or with an earlier frame, needs no read deadline of its own.
// A deadline is set a sixteenth of its timeout late and kept while it
// still covers the one wanted, rather than set again (deadline.go).
//
// Frames are cut out of the connection's inbox where they were read
// (inbox.go): an idle connection holds a small buffer only.
func (c *conn) readLoop() closeReason {
	if r, ok := c.handshake(); !ok {
		return r
	}
	in := newInbox()
	defer in.release()
	rd := stopReader{c}
	for {
		select {
		case <-c.stop:
			return reasonShutdown
		default:
		}
		if in.empty() {
			c.readDeadline(time.Now(), c.l.idle)
			// stopReader covers a stopReading that set its deadline
			// before this one.
			if err := in.fill(rd, 1); err != nil {
				return c.readFault(err, true)
			}
		}
		tpdu, raw, size, err := c.l.framing.CutFrame(in.unread())
		if err == nil && size > len(in.unread()) {
			// The frame has begun and is not all here: the read timeout
			// bounds the rest of it.
			c.readDeadline(time.Now(), c.s.cfg.ReadTimeout)
			for err == nil && size > len(in.unread()) {
				if err := in.fill(rd, size); err != nil {
					return c.readFault(err, false)
				}
				tpdu, raw, size, err = c.l.framing.CutFrame(in.unread())
			}
		}
		if err != nil {
			return c.readFault(err, false)
		}
		start := time.Now()
		msg := getMessage() // given back by flush once answered
		if err := c.l.packager.UnpackInto(raw, msg); err != nil {
			// The error names the field and the fault, never the bytes.
			return closeReason{EventBadInput, "malformed message: " + err.Error()}
		}
		if _, ok := msg.Fields[wire.FieldLoyalty]; ok {
			// Field 63 is the host's, in responses only: a request naming
			// it names a field the contract does not list (section 1).
			return closeReason{EventBadInput, "malformed message: field 63: not allowed in a request"}
		}
		if tpdu != nil {
			tpdu = wire.SwapTPDU(tpdu)
		}
		select {
		case c.slots <- struct{}{}: // the common case: a slot is free
		default:
			select {
			case c.slots <- struct{}{}:
			case <-c.stop:
				return reasonShutdown
			}
		}
		c.dispatch(&pending{tpdu: tpdu, req: msg, start: start}, raw)
		in.consume(size) // raw was valid until here
	}
}

func (c *conn) readFault(err error, betweenFrames bool) closeReason {
	select {
	case <-c.stop:
		return reasonShutdown
	default:
	}
	switch {
	case errors.Is(err, io.EOF) && betweenFrames:
		return closeReason{} // the terminal hung up
	case errors.Is(err, os.ErrDeadlineExceeded) && betweenFrames:
		return closeReason{EventIdle, "idle timeout"}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return closeReason{EventBadInput, "frame not complete within the read timeout"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return closeReason{EventBadInput, "connection ended mid-frame"}
	}
	return closeReason{EventBadInput, "bad frame: " + err.Error()}
}

// dispatch validates, runs the security step on and submits one request;
// raw is the packed message, valid only until dispatch returns. The done
// callback runs on a ledger goroutine and only hands the result to this
// connection's writer (deliver).
func (c *conn) dispatch(p *pending, raw []byte) {
	lreq, err := toRequest(p.req)
	if err != nil {
		p.res = ledger.Result{Err: err}
		c.deliver(p)
		return
	}
	p.lreq = lreq
	if c.s.sec != nil {
		p.sec = c.s.sec.prepare(p.req, raw, lreq)
	}
	// Waiting for room in the ledger's bounded queue is backpressure: the
	// reader stops reading until the writer catches up (at most
	// ledger.MaxQueueWait, then 96) or the connection stops.
	err = c.s.auth.Submit(c.ctx, lreq, func(res ledger.Result) {
		p.res = res
		c.deliver(p)
	})
	if err != nil {
		p.res = ledger.Result{Err: fmt.Errorf("%w: %v", ledger.ErrHost, err)}
		c.deliver(p)
	}
}
