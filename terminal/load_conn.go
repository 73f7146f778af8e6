package terminal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_conn.go: one connection of a load run. It does what a Client
// does for the run's requests, at a fraction of the CPU, so that the
// load generator takes as little as it can of the machine it shares
// with the host:
//
//   - one goroutine per connection does everything: it sends what is
//     due, then waits for the next answer, the next slot of the open
//     loop's timetable or a deadline, whichever comes first, and
//     handles it; no request is handed from one goroutine to another;
//   - requests are packed from templates (load_template.go) into one
//     write buffer, and every request ready at once goes out in one
//     write;
//   - answers are read from a 16 KiB buffer and checked on their packed
//     bytes (load_answer.go) without being unpacked into a Message;
//   - deadlines are set when they must move, not per read and write:
//     the read deadline is the earliest expiry of a request in flight
//     (or ResponseTimeout ahead when none is), which later requests
//     never undercut, so it moves only when it fires (or, in the open
//     loop, to wake for the next slot); the write deadline is renewed
//     once half of WriteTimeout has passed.
//
// A connection has InFlight request slots, each with its own random
// source and terminal rotation (what a worker goroutine had before),
// and matches answers to slots by field 11 and field 41 with the
// response MTI checked, as the Client does. A request without an answer
// within ResponseTimeout is an error (ErrNoResponse) and its slot is
// free again; a load run sends every request once. A broken connection
// ends: its requests in flight are errors, the closed loop stops
// sending on it, and the open loop's slots still to come on it are
// errors too.

const (
	loadReadBufBytes  = 16 << 10
	loadWriteTimeout  = DefaultWriteTimeout
	loadMaxWriteBytes = 64 << 10 // a write buffer is flushed before it grows past this
)

// answerKey matches an answer to its request: fields 11 and 41 as
// packed (a packed n6 is 6 ASCII digits or 3 BCD bytes; field 41 is
// text in every packager), equal exactly when the values are.
type answerKey struct {
	stan [6]byte
	tid  [8]byte
}

// keyOf is the key of the packed message b scanned in s; false when it
// lacks field 11 or 41.
func keyOf(b []byte, s *scannedMsg) (answerKey, bool) {
	var k answerKey
	stan, tid := s.field(b, 11), s.field(b, 41)
	if stan == nil || tid == nil || len(stan) > len(k.stan) || len(tid) != len(k.tid) {
		return k, false
	}
	copy(k.stan[:], stan)
	copy(k.tid[:], tid)
	return k, true
}

// loadSlot is one of a connection's places for a request in flight.
type loadSlot struct {
	rng  *rand.Rand
	next int // the slot's next terminal, an index into the connection's

	// The request in flight.
	req       loadRequest
	key       answerKey
	respMTI   [4]byte
	maced     bool
	scheduled time.Time // the open loop's slot on the timetable; zero in the closed loop
	origin    time.Time // latency counts from here (latencyOrigin)
	expires   time.Time // the send + ResponseTimeout
}

// loadOps are the operations of a load run, in the order loadTally
// counts them.
var loadOps = [...]Op{OpEcho, OpPurchase, OpBalance, OpLoad, OpRefund}

func loadOpIndex(op Op) int {
	switch op {
	case OpPurchase:
		return 1
	case OpBalance:
		return 2
	case OpLoad:
		return 3
	case OpRefund:
		return 4
	}
	return 0
}

// loadTally is what a connection counted.
type loadTally struct {
	hist                             Histogram
	requests, approved, errors, late int64
	declined                         map[string]int64
	byOp                             [len(loadOps)]int64
	errSample                        []string
}

func (t *loadTally) countError(err error) {
	t.errors++
	if len(t.errSample) < maxLoadErrorSamples {
		t.errSample = append(t.errSample, err.Error())
	}
}

// loadConn is one connection of a load run, and everything its
// goroutine keeps.
type loadConn struct {
	ctx      context.Context // the run's: its end closes conn
	cfg      *LoadConfig
	terms    []*loadTerm
	tracks   []string
	layout   *msgLayout
	packer   *requestPacker
	tpdu     []byte // sent with TPDU framing
	wantTPDU []byte // what answers must carry

	sweep *atomic.Int64 // LoadConfig.Sweep: the run's requests so far (nil: cards at random)

	conn    Conn
	dead    error // why the connection ended; nil while it works
	slots   []loadSlot
	free    []int             // the slots not in flight
	pending map[answerKey]int // the slots in flight, at most InFlight
	tally   loadTally

	wbuf      []byte
	batch     []int // the slots whose requests are in wbuf
	wDeadline time.Time
	f7Sec     int64
	f7        string

	br       *bufio.Reader
	rbuf     []byte
	scan     scannedMsg
	now      time.Time // when the last read returned
	expiryAt time.Time // no request in flight expires before this
	armed    time.Time // the read deadline set
}

func newLoadConn(ctx context.Context, cfg *LoadConfig, c int, conn Conn, terms []*loadTerm, tracks []string, layout *msgLayout) *loadConn {
	lc := &loadConn{
		ctx: ctx, cfg: cfg, terms: terms, tracks: tracks, layout: layout, packer: newRequestPacker(cfg.Packager, layout),
		conn: conn, slots: make([]loadSlot, cfg.InFlight), pending: make(map[answerKey]int, cfg.InFlight),
		tally: loadTally{declined: map[string]int64{}},
		br:    bufio.NewReaderSize(conn, loadReadBufBytes), rbuf: make([]byte, wire.MaxFrameBytes),
	}
	if cfg.Framing.TPDU {
		lc.tpdu = cfg.TPDU
		lc.wantTPDU = wire.SwapTPDU(cfg.TPDU)
	}
	for k := range lc.slots {
		lc.slots[k] = loadSlot{rng: rand.New(rand.NewPCG(cfg.Seed, uint64(c)<<32|uint64(k))), next: k}
	}
	for k := len(lc.slots) - 1; k >= 0; k-- {
		lc.free = append(lc.free, k)
	}
	return lc
}

// run is the connection's loop: send what is due (the closed loop: a
// request from every free slot, while stop and budget allow; the open
// loop: sched's slots that are due), in one write; then wait for
// answers, the next slot or a deadline. It ends when nothing is left to
// send and every answer is in, or the connection ends.
func (lc *loadConn) run(stop *atomic.Bool, budget *atomic.Int64, sched *connSchedule) {
	lc.expiryAt = time.Now().Add(lc.cfg.ResponseTimeout)
	sending := true
	for {
		if lc.dead == nil {
			if sched == nil {
				for sending && len(lc.free) > 0 {
					if stop.Load() || lc.ctx.Err() != nil || (budget != nil && budget.Add(-1) < 0) {
						sending = false
						break
					}
					lc.add(time.Time{})
				}
			} else {
				for len(lc.free) > 0 {
					at, ok := sched.pop()
					if !ok {
						break
					}
					lc.add(at)
				}
				sched.due(time.Now(), func(at time.Time) bool {
					if len(lc.free) == 0 {
						return false
					}
					lc.add(at)
					return true
				})
				sending = !sched.done()
			}
			lc.flush()
		}
		if lc.dead != nil {
			// The open loop's slots still to come on a broken connection
			// are errors (a run ended by its context just stops).
			if sched != nil && lc.ctx.Err() == nil {
				if n := sched.left(); n > 0 {
					lc.tally.requests += n
					lc.tally.errors += n - 1
					lc.tally.countError(fmt.Errorf("%d slots not sent: %w: %w", n, ErrConnLost, lc.dead))
				}
			}
			return
		}
		if len(lc.pending) == 0 {
			if !sending {
				return
			}
			if sched == nil {
				continue // every request failed before it was sent; try the next
			}
		}
		deadline := lc.expiryAt
		if sched != nil {
			if at, ok := sched.nextAt(); ok && at.Before(deadline) {
				deadline = at
			}
		}
		if !deadline.Equal(lc.armed) {
			if err := lc.conn.SetReadDeadline(deadline); err != nil {
				lc.fail(fmt.Errorf("read deadline: %w", err))
				continue
			}
			lc.armed = deadline
		}
		lc.readAnswers()
	}
}

func (lc *loadConn) field7() string {
	now := lc.cfg.Now()
	if s := now.Unix(); s != lc.f7Sec || lc.f7 == "" {
		lc.f7Sec, lc.f7 = s, field7(now)
	}
	return lc.f7
}

// add takes a free slot, chooses its next request (due at scheduled in
// the open loop) and appends it to the write buffer; flush registers
// and sends it. A request that cannot be packed is counted an error and
// its slot is free again.
func (lc *loadConn) add(scheduled time.Time) {
	i := lc.free[len(lc.free)-1]
	lc.free = lc.free[:len(lc.free)-1]
	s := &lc.slots[i]
	s.req = s.choose(lc.cfg, lc.terms, lc.tracks, lc.sweep)
	s.scheduled = scheduled
	r := &s.req
	r.stan, r.f7 = r.lt.nextSTAN(), lc.field7()
	lc.tally.requests++
	lc.tally.byOp[loadOpIndex(r.op)]++
	msg, spans, err := lc.packer.pack(r)
	if err == nil && len(msg)+len(lc.tpdu) > wire.MaxFrameBytes {
		err = fmt.Errorf("%w: %s is %d bytes, more than a frame holds", ErrBadRequest, r.mti(), len(msg))
	}
	if err == nil {
		var ok bool
		if s.key, ok = keyOf(msg, spans); !ok {
			err = fmt.Errorf("%w: %s without field 11 or 41", ErrBadRequest, r.mti())
		}
	}
	if err != nil {
		lc.tally.countError(err)
		lc.free = append(lc.free, i)
		return
	}
	copy(s.respMTI[:], wire.ResponseMTI(r.mti()))
	s.maced = r.lt.mac != nil && wire.MACScope(r.mti())
	lc.wbuf = lc.cfg.Framing.AppendFrame(lc.wbuf, lc.tpdu, msg)
	lc.batch = append(lc.batch, i)
	if len(lc.wbuf) >= loadMaxWriteBytes {
		lc.flush()
	}
}

// flush registers the requests in the write buffer and writes them in
// one write, now: their latency counts from now, or in the open loop
// from their slots.
//
// Two requests in flight never share a key: a terminal's STANs repeat
// only after 999,999 of its requests, and it is on one connection. Were
// one to (a ResponseTimeout of hours), the first keeps the key and the
// second is an error, ErrDuplicateInFlight, as the Client has it.
func (lc *loadConn) flush() {
	if len(lc.batch) == 0 {
		return
	}
	now := time.Now()
	expires := now.Add(lc.cfg.ResponseTimeout)
	for _, i := range lc.batch {
		s := &lc.slots[i]
		if _, dup := lc.pending[s.key]; dup {
			lc.tally.countError(fmt.Errorf("%w: %s stan %06d", ErrDuplicateInFlight, s.req.mti(), s.req.stan))
			lc.free = append(lc.free, i)
			continue
		}
		var late bool
		if s.origin, late = latencyOrigin(s.scheduled, now, lc.cfg.LateAfter); late {
			lc.tally.late++
		}
		s.expires = expires
		lc.pending[s.key] = i
	}
	if err := lc.write(now); err != nil {
		lc.fail(fmt.Errorf("write: %w", err))
	}
	lc.wbuf, lc.batch = lc.wbuf[:0], lc.batch[:0]
}

// write writes the buffer, moving the write deadline when half of it
// has passed.
func (lc *loadConn) write(now time.Time) error {
	if lc.wDeadline.Sub(now) < loadWriteTimeout/2 {
		lc.wDeadline = now.Add(loadWriteTimeout)
		if err := lc.conn.SetWriteDeadline(lc.wDeadline); err != nil {
			return err
		}
	}
	_, err := lc.conn.Write(lc.wbuf)
	return err
}

// fail ends the connection for cause: it is closed and every request in
// flight is an error.
func (lc *loadConn) fail(cause error) {
	if lc.dead != nil {
		return
	}
	lc.dead = cause
	lc.conn.Close()
	if lc.ctx.Err() == nil {
		lc.cfg.Logger.Warn().Str("reason", cause.Error()).Msg("load: connection closed")
	}
	err := fmt.Errorf("%w: %w", ErrConnLost, cause)
	for k, i := range lc.pending {
		delete(lc.pending, k)
		lc.tally.countError(err)
		lc.free = append(lc.free, i)
	}
}

// expire counts the requests whose ResponseTimeout passed by now as
// errors, frees their slots, and moves expiryAt to the next expiry.
func (lc *loadConn) expire(now time.Time) {
	next := now.Add(lc.cfg.ResponseTimeout)
	for k, i := range lc.pending {
		s := &lc.slots[i]
		if now.Before(s.expires) {
			next = minTime(next, s.expires)
			continue
		}
		delete(lc.pending, k)
		lc.tally.countError(fmt.Errorf("%w to %s stan %06d after 1 send: %w", ErrNoResponse, s.req.mti(), s.req.stan, errTimeout))
		lc.free = append(lc.free, i)
	}
	lc.expiryAt = next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// readAnswers waits for the next whole frame, or the read deadline, and
// handles that frame and every other one already buffered. At
// expiryAt it expires what is overdue; a read error ends the
// connection.
func (lc *loadConn) readAnswers() {
	if err := lc.waitFrame(); err != nil {
		if isTimeout(err) && lc.ctx.Err() == nil {
			if now := time.Now(); !now.Before(lc.expiryAt) {
				lc.expire(now)
			}
			return
		}
		if cerr := lc.ctx.Err(); cerr != nil {
			err = cerr
		}
		lc.fail(fmt.Errorf("read frame: %w", err))
		return
	}
	for {
		tpdu, msg, err := lc.cfg.Framing.ReadFrame(lc.br, lc.rbuf)
		if err != nil {
			lc.fail(fmt.Errorf("read frame: %w", err))
			return
		}
		lc.handle(tpdu, msg)
		if !lc.frameBuffered() {
			return
		}
	}
}

// waitFrame blocks until a whole frame is in the read buffer (or what
// is there cannot start one, for ReadFrame to say why) and notes when
// the read that brought it returned. Peek consumes nothing: a timeout
// loses no byte of a frame half read.
func (lc *loadConn) waitFrame() error {
	if lc.frameBuffered() {
		return nil
	}
	hl := 2
	if lc.cfg.Framing.Header == "ascii4" {
		hl = 4
	}
	hdr, err := lc.br.Peek(hl)
	if err != nil {
		return err
	}
	if n, ok := frameLen(lc.cfg.Framing, hdr); ok {
		if _, err := lc.br.Peek(hl + n); err != nil {
			return err
		}
	}
	lc.now = time.Now()
	return nil
}

// frameBuffered says whether the read buffer holds a whole frame, or a
// header that no frame can have (ReadFrame then reports it).
func (lc *loadConn) frameBuffered() bool {
	hl := 2
	if lc.cfg.Framing.Header == "ascii4" {
		hl = 4
	}
	if lc.br.Buffered() < hl {
		return false
	}
	hdr, _ := lc.br.Peek(hl)
	n, ok := frameLen(lc.cfg.Framing, hdr)
	return !ok || lc.br.Buffered() >= hl+n
}

// frameLen is the length a frame header announces; false when it is not
// a length ReadFrame accepts.
func frameLen(f wire.Framing, hdr []byte) (int, bool) {
	n := 0
	if f.Header == "ascii4" {
		for _, c := range hdr {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
	} else {
		n = int(hdr[0])<<8 | int(hdr[1])
	}
	return n, n > 0 && n <= wire.MaxFrameBytes
}
