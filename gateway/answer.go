package gateway

import (
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/rs/zerolog"
)

// answer.go: a connection's writer, which renders the ledger's results
// and writes them back in the order the ledger completes them.

// maxWriteBatchBytes bounds one write of answers. Answers that are ready
// together on one connection (a group commit completes a pipelining
// terminal's requests at once) go out in one system call, as the raw
// echo flushes a batch: one write, not one per answer.
const maxWriteBatchBytes = 16 << 10

// writeBufPool holds the writers' buffers: a connection holds one only
// while it writes.
var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2*wire.MaxFrameBytes); return &b }}

// deliver hands a completed request to the connection's writer,
// starting one when none runs. It runs on a ledger goroutine and never
// blocks on the network. A writer runs only while answers wait: an idle
// connection holds its reader goroutine and no writer's stack. When the
// request is the connection's only one in flight (a terminal that waits
// for each answer), deliver first tries to be the writer itself
// (writeInline): one non-blocking write, which at one request in flight
// saves a goroutine's start, the growth of its stack and its end for
// every answer; whatever that write cannot take goes to a writer
// goroutine as before, so the ledger never waits for a peer.
func (c *conn) deliver(p *pending) {
	c.wmu.Lock()
	c.answers = append(c.answers, p)
	start := !c.writing
	c.writing = true
	c.wmu.Unlock()
	if start {
		c.writer.Add(1)
		if c.rc != nil && len(c.slots) == 1 && c.writeInline() {
			return
		}
		go c.writeAnswers()
	}
}

// writeInline is the writer, run by deliver on the ledger's goroutine
// when the connection has one request in flight (this answer's): it
// renders the answers waiting and makes one non-blocking write of them.
// When it writes them whole and no more wait it ends the writer and
// returns true; otherwise it leaves what is unwritten (c.rest) to the
// writer goroutine deliver then starts. It never waits for the peer.
func (c *conn) writeInline() bool {
	c.wmu.Lock()
	batch := c.answers
	c.answers, c.spare = c.spare[:0], nil // two buffers, no allocation
	c.wmu.Unlock()
	bufp := writeBufPool.Get().(*[]byte)
	buf := (*bufp)[:0]
	if !c.broken {
		for _, p := range batch {
			buf = c.appendAnswer(buf, p)
		}
	}
	n := 0
	if !c.broken && len(buf) > 0 {
		c.writeDeadline(time.Now()) // the write fails at once past it
		if err := c.rc.Write(func(fd uintptr) bool {
			m, err := c.s.rawWrite(int(fd), buf)
			if err == nil {
				n = m
			}
			return true // one attempt: EAGAIN leaves it to the writer
		}); err != nil {
			n = 0
		}
	}
	inline := n == len(buf) || c.broken
	if inline {
		c.broken = c.flush(nil, batch, c.broken)
	} else {
		c.rest = append(c.rest[:0], buf[n:]...)
		c.restFor = batch
	}
	if cap(buf) <= 4*maxWriteBatchBytes {
		*bufp = buf
		writeBufPool.Put(bufp)
	}
	if !inline {
		return false
	}
	clear(batch) // the answers are done with; let them go
	c.wmu.Lock()
	c.spare = batch[:0]
	if len(c.answers) > 0 {
		c.wmu.Unlock()
		return false // the writer goroutine takes them
	}
	c.writing = false
	c.wmu.Unlock()
	c.writer.Done()
	return true
}

// writeAnswers is the connection's writer: it takes every answer waiting,
// writes them (answer), and ends when none is left.
func (c *conn) writeAnswers() {
	defer c.writer.Done()
	var batch []*pending // swapped with c.answers: two buffers, no allocation
	if c.restFor != nil {
		// What writeInline could not write: its bytes first.
		c.broken = c.flush(c.rest, c.restFor, c.broken)
		c.rest, c.restFor = c.rest[:0], nil
	}
	for {
		c.wmu.Lock()
		batch, c.answers = c.answers, batch[:0]
		if len(batch) == 0 {
			c.writing = false
			c.wmu.Unlock()
			return
		}
		c.wmu.Unlock()
		c.broken = c.answer(batch, c.broken)
		clear(batch) // the answers are done with; let them go
	}
}

// answer renders batch and writes it, in as few writes as
// maxWriteBatchBytes allows, then counts, logs and releases each
// request's slot. Once a write has failed (broken) nothing more is
// rendered or written; it returns whether one has.
func (c *conn) answer(batch []*pending, broken bool) bool {
	bufp := writeBufPool.Get().(*[]byte)
	buf := (*bufp)[:0]
	from := 0 // batch[from:] is not written yet
	for i, p := range batch {
		if !broken {
			buf = c.appendAnswer(buf, p)
		}
		if len(buf) >= maxWriteBatchBytes || i == len(batch)-1 {
			broken = c.flush(buf, batch[from:i+1], broken)
			buf, from = buf[:0], i+1
		}
	}
	if cap(buf) <= 4*maxWriteBatchBytes {
		*bufp = buf
		writeBufPool.Put(bufp)
	}
	return broken
}

// appendAnswer renders p's answer and appends it, framed, to buf; an
// answer that cannot be rendered is logged and left out (p.framed
// stays false, and flush counts it as not sent).
func (c *conn) appendAnswer(buf []byte, p *pending) []byte {
	resp, packed, err := c.render(p)
	p.resp = resp
	if err != nil {
		c.s.log.Error().Str("remote", c.remote).Err(err).Msg("cannot render response")
		return buf
	}
	p.framed = true
	return c.l.framing.AppendFrame(buf, p.tpdu, packed)
}

// flush writes buf, the framed answers of ps, then counts and logs each
// answer and releases its slot; it returns whether the connection is
// broken.
func (c *conn) flush(buf []byte, ps []*pending, broken bool) bool {
	var err error
	if !broken && len(buf) > 0 {
		c.writeDeadline(time.Now())
		if _, err = c.nc.Write(buf); err != nil {
			broken = true
			c.stopReading()
			c.s.cfg.Guard.Event(&c.s.log, zerolog.InfoLevel, EventWriteFailed).
				Str("remote", c.remote).Err(err).Msg("write failed; closing")
		}
	}
	now := time.Now()
	for _, p := range ps {
		if p.framed && err == nil {
			// Counted once written: what the terminal was answered.
			c.s.cfg.Observer.RequestDone(p.req.MTI, p.req.Fields[3], p.resp.Fields[39], now.Sub(p.start))
		}
		if p.resp != nil {
			c.logDecision(p, p.resp)
		}
		// Nothing refers to the messages any more (msgPool).
		putMessage(p.req)
		putMessage(p.resp)
		p.req, p.resp = nil, nil
		<-c.slots
	}
	return broken
}

// render builds, packs and MACs the response to p.
func (c *conn) render(p *pending) (*wire.Message, []byte, error) {
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
func (c *conn) logDecision(p *pending, resp *wire.Message) {
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
