package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// conn.go: one terminal connection, TCP or serial: the reader that
// frames, unpacks and submits, and the writer that answers.

// conn is one terminal connection: a reader goroutine that frames,
// unpacks and submits, and a writer goroutine that renders and writes
// responses in completion order.
type conn struct {
	s      *Server
	l      *listener
	nc     net.Conn // a *tls.Conn on a TLS listener
	remote string
	source string // the remote IP, for the per-source limit

	slots chan struct{} // in-flight limit
	out   chan pending  // completed requests, cap = in-flight limit
	stop  chan struct{} // closed by stopReading
	once  sync.Once
	// ctx ends a wait for room in the ledger's queue when the connection
	// stops reading.
	ctx    context.Context
	cancel context.CancelFunc
}

// pending is a request on its way through the ledger.
type pending struct {
	tpdu  []byte
	req   *wire.Message
	lreq  *ledger.Request
	res   ledger.Result
	sec   *secContext
	start time.Time
}

func newConn(s *Server, l *listener, nc net.Conn, source string) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		s: s, l: l, nc: nc, remote: nc.RemoteAddr().String(), source: source,
		slots: make(chan struct{}, l.inFlight),
		out:   make(chan pending, l.inFlight),
		stop:  make(chan struct{}),
		ctx:   ctx, cancel: cancel,
	}
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
	writerDone := make(chan struct{})
	go c.writeLoop(writerDone)
	reason := c.readLoop()
	// Let every request in flight finish and be answered, then close.
	for i := 0; i < cap(c.slots); i++ {
		c.slots <- struct{}{}
	}
	close(c.out)
	<-writerDone
	c.nc.Close()
	c.cancel()
	c.s.logClose(c.remote, reason)
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.release(c.source)
	c.s.mu.Unlock()
}

// stopReader ends every read once the connection stops reading, even one
// that bufio makes after readLoop set a later deadline than stopReading's.
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
// trickling.
func (c *conn) readLoop() closeReason {
	if r, ok := c.handshake(); !ok {
		return r
	}
	br := bufio.NewReaderSize(stopReader{c}, 2*wire.MaxFrameBytes)
	buf := make([]byte, wire.MaxFrameBytes)
	for {
		select {
		case <-c.stop:
			return reasonShutdown
		default:
		}
		if br.Buffered() == 0 {
			if c.l.idle > 0 {
				c.nc.SetReadDeadline(time.Now().Add(c.l.idle))
			} else {
				c.nc.SetReadDeadline(time.Time{})
			}
		}
		select {
		case <-c.stop: // stopReading may have set its deadline before ours
			return reasonShutdown
		default:
		}
		if _, err := br.Peek(1); err != nil {
			return c.readFault(err, true)
		}
		// The frame has begun: the read timeout bounds all of it. (When
		// the frame is already buffered this deadline is not needed, and
		// harmless.) stopReader covers a stopReading that set its deadline
		// just before this one.
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
		tpdu, raw, err := c.l.framing.ReadFrame(br, buf)
		if err != nil {
			return c.readFault(err, false)
		}
		start := time.Now()
		msg, err := c.l.packager.Unpack(raw)
		if err != nil {
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
		case c.slots <- struct{}{}:
		case <-c.stop:
			return reasonShutdown
		}
		c.dispatch(pending{tpdu: tpdu, req: msg, start: start}, raw)
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
// callback runs on a ledger goroutine and only queues the result for this
// connection's writer.
func (c *conn) dispatch(p pending, raw []byte) {
	lreq, err := toRequest(p.req)
	if err != nil {
		p.res = ledger.Result{Err: err}
		c.out <- p
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
		c.out <- p
	})
	if err != nil {
		p.res = ledger.Result{Err: fmt.Errorf("%w: %v", ledger.ErrHost, err)}
		c.out <- p
	}
}

func (c *conn) writeLoop(done chan struct{}) {
	defer close(done)
	frame := make([]byte, 0, wire.MaxFrameBytes+16)
	broken := false
	for p := range c.out {
		if !broken {
			resp, packed, err := c.render(p)
			if err != nil {
				c.s.log.Error().Str("remote", c.remote).Err(err).Msg("cannot render response")
			} else {
				frame = c.l.framing.AppendFrame(frame[:0], p.tpdu, packed)
				c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
				if _, err := c.nc.Write(frame); err != nil {
					broken = true
					c.stopReading()
					c.s.cfg.Guard.Event(&c.s.log, zerolog.InfoLevel, EventWriteFailed).
						Str("remote", c.remote).Err(err).Msg("write failed; closing")
				} else {
					// Counted once written: what the terminal was answered.
					c.s.cfg.Observer.RequestDone(p.req.MTI, p.req.Fields[3], resp.Fields[39], time.Since(p.start))
				}
			}
			c.logDecision(p, resp)
		}
		<-c.slots
	}
}

// render builds, packs and MACs the response to p.
func (c *conn) render(p pending) (*wire.Message, []byte, error) {
	resp := buildResponse(p.req, p.res)
	if c.s.sec != nil {
		c.s.sec.finish(p.req, resp, &p.res, p.sec)
	}
	mac := c.s.sec != nil && p.res.MACKeyGen != 0
	if mac {
		wire.SetMACPlaceholder(resp)
	}
	packed, err := c.l.packager.Pack(resp)
	if err != nil || !mac {
		return resp, packed, err
	}
	return resp, packed, c.s.sec.seal(p.req.Fields[41], p.res.MACKeyGen, packed)
}

// logDecision writes one event per decision: who, what, the answer and
// how long it took. The PAN is masked; nothing else of the card appears.
// A host error (96) is logged at error level: it is the host's fault,
// not the card's, and an operator running at warn must see it.
func (c *conn) logDecision(p pending, resp *wire.Message) {
	ev := c.s.log.Info()
	if resp.Fields[39] == rcHostError {
		ev = c.s.log.Error()
	}
	if !ev.Enabled() {
		return
	}
	ev = ev.Str("mti", p.req.MTI).Str("tid", p.req.Fields[41]).Str("mid", p.req.Fields[42]).
		Str("stan", p.req.Fields[11]).Str("rc", resp.Fields[39]).
		Int64("latency_us", time.Since(p.start).Microseconds())
	if p.lreq != nil {
		ev = ev.Str("kind", p.lreq.Kind.String())
		if p.lreq.PAN != "" {
			ev = ev.Str("pan", cardnum.Mask(p.lreq.PAN))
		}
		if p.lreq.Amount != 0 {
			ev = ev.Int64("amount_fen", int64(p.lreq.Amount))
		}
	}
	if rrn := resp.Fields[37]; rrn != "" {
		ev = ev.Str("rrn", rrn)
	}
	if p.res.Replayed {
		ev = ev.Bool("replayed", true)
	}
	if p.res.Err != nil {
		ev = ev.Str("reason", p.res.Err.Error())
	}
	ev.Msg("decision")
}
