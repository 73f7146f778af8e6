package terminal

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_conn.go: one connection of a load run. It does what a Client
// does for the run's requests, at a fraction of the CPU, so that the
// load generator takes as little as it can of the machine it shares
// with the host:
//
//   - requests are packed from templates (load_template.go) into one
//     write buffer, and every request ready at once goes out in one
//     write;
//   - answers are read from a 16 KiB buffer and checked on their packed
//     bytes (load_answer.go) without being unpacked into a Message;
//   - in the closed loop one goroutine per connection does everything:
//     it reads what the host answered, then sends the requests that
//     took the answered ones' places, with no hand-off between
//     goroutines; in the open loop a sender goroutine keeps the
//     timetable and the reader answers;
//   - deadlines are set when they must move, not per read and write:
//     the read deadline is the earliest expiry of a request in flight
//     (or ResponseTimeout ahead when none is), which later requests
//     never undercut, so it moves only when it fires; the write
//     deadline is renewed once half of WriteTimeout has passed.
//
// A connection has InFlight slots, each with its own random source and
// terminal rotation (what a worker goroutine had before), and matches
// answers to slots by field 11 and field 41 with the response MTI
// checked, as the Client does. A request without an answer within
// ResponseTimeout is an error (ErrNoResponse) and its slot is free
// again; a load run sends every request once. A broken connection ends:
// its requests in flight are errors, and so is every later request due
// on it (the open loop), or it stops sending (the closed loop).

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

	// The request in flight: written by the sending side before the
	// slot is registered, read by the reading side once it has taken
	// the slot out of pending (both under loadConn.mu).
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

// loadTally is what one side of a connection counted.
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

// loadConn is one connection of a load run.
type loadConn struct {
	ctx      context.Context // the run's: its end closes conn
	cfg      *LoadConfig
	terms    []*loadTerm
	tracks   []string
	layout   *msgLayout
	packer   *requestPacker
	tpdu     []byte // sent with TPDU framing
	wantTPDU []byte // what answers must carry

	conn  Conn
	slots []loadSlot
	open  bool     // the open loop: a sender goroutine and a reader
	free  chan int // the open loop's free slots (the reader gives, the sender takes)

	// The sending side's (the open loop's sender, else the one goroutine).
	wbuf      []byte
	batch     []int // slots whose requests are in wbuf
	wDeadline time.Time
	f7Sec     int64
	f7        string
	freeList  []int // the closed loop's free slots
	tx        loadTally

	// The reading side's.
	br   *bufio.Reader
	rbuf []byte
	scan scannedMsg
	now  time.Time // when the last read returned
	rx   loadTally

	mu         sync.Mutex
	pending    map[answerKey]int // slots in flight, at most InFlight
	dead       error             // why the connection ended; nil while it works
	senderDone bool              // the open loop's sender has sent its last
}

func newLoadConn(ctx context.Context, cfg *LoadConfig, c int, conn Conn, terms []*loadTerm, tracks []string, layout *msgLayout, open bool) *loadConn {
	lc := &loadConn{
		ctx: ctx, cfg: cfg, terms: terms, tracks: tracks, layout: layout, packer: newRequestPacker(cfg.Packager, layout),
		conn: conn, slots: make([]loadSlot, cfg.InFlight), open: open,
		br: bufio.NewReaderSize(conn, loadReadBufBytes), rbuf: make([]byte, wire.MaxFrameBytes),
		pending: make(map[answerKey]int, cfg.InFlight),
		tx:      loadTally{declined: map[string]int64{}},
		rx:      loadTally{declined: map[string]int64{}},
	}
	if cfg.Framing.TPDU {
		lc.tpdu = cfg.TPDU
		lc.wantTPDU = wire.SwapTPDU(cfg.TPDU)
	}
	for k := range lc.slots {
		lc.slots[k] = loadSlot{rng: rand.New(rand.NewPCG(cfg.Seed, uint64(c)<<32|uint64(k))), next: k}
	}
	if open {
		lc.free = make(chan int, len(lc.slots))
		for k := range lc.slots {
			lc.free <- k
		}
	} else {
		for k := len(lc.slots) - 1; k >= 0; k-- {
			lc.freeList = append(lc.freeList, k)
		}
	}
	return lc
}

// release gives slot i back once its request is done.
func (lc *loadConn) release(i int) {
	if lc.open {
		lc.free <- i // room for every slot: never blocks
	} else {
		lc.freeList = append(lc.freeList, i)
	}
}

func (lc *loadConn) field7() string {
	now := lc.cfg.Now()
	if s := now.Unix(); s != lc.f7Sec || lc.f7 == "" {
		lc.f7Sec, lc.f7 = s, field7(now)
	}
	return lc.f7
}

// add chooses slot i's next request and appends it to the write
// buffer; it is registered and sent by flush. A request that cannot be
// packed is counted an error and its slot given back.
func (lc *loadConn) add(i int) {
	s := &lc.slots[i]
	s.req = s.choose(lc.cfg, lc.terms, lc.tracks)
	r := &s.req
	r.stan, r.f7 = r.lt.nextSTAN(), lc.field7()
	lc.tx.requests++
	lc.tx.byOp[loadOpIndex(r.op)]++
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
		lc.tx.countError(err)
		lc.release(i)
		return
	}
	copy(s.respMTI[:], wire.ResponseMTI(r.mti()))
	s.maced = r.lt.mac != nil && wire.MACScope(r.mti())
	lc.wbuf = lc.cfg.Framing.AppendFrame(lc.wbuf, lc.tpdu, msg)
	lc.batch = append(lc.batch, i)
}

// flush registers the requests in the write buffer and writes them in
// one write, now: their latency counts from now, or in the open loop
// from their slots. On a dead connection nothing is written and they
// are errors.
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
	var dups []int
	lc.mu.Lock()
	dead := lc.dead
	if dead == nil {
		for _, i := range lc.batch {
			s := &lc.slots[i]
			if _, dup := lc.pending[s.key]; dup {
				dups = append(dups, i)
				continue
			}
			var late bool
			if s.origin, late = latencyOrigin(s.scheduled, now, lc.cfg.LateAfter); late {
				lc.tx.late++
			}
			s.expires = expires
			lc.pending[s.key] = i
		}
	}
	lc.mu.Unlock()
	for _, i := range dups {
		r := &lc.slots[i].req
		lc.tx.countError(fmt.Errorf("%w: %s stan %06d", ErrDuplicateInFlight, r.mti(), r.stan))
		lc.release(i)
	}
	if dead != nil {
		for _, i := range lc.batch {
			r := &lc.slots[i].req
			lc.tx.countError(fmt.Errorf("%s stan %06d not sent: %w", r.mti(), r.stan, dead))
			lc.release(i)
		}
	} else if err := lc.write(now); err != nil {
		lc.markDead(fmt.Errorf("write: %w", err))
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

// markDead ends the connection once, for cause: it is closed, and the
// reading side counts what was in flight (failPending).
func (lc *loadConn) markDead(cause error) {
	lc.mu.Lock()
	first := lc.dead == nil
	if first {
		lc.dead = cause
	}
	lc.mu.Unlock()
	if first {
		lc.conn.Close()
		if lc.ctx.Err() == nil {
			lc.cfg.Logger.Warn().Str("reason", cause.Error()).Msg("load: connection closed")
		}
	}
}

// failPending counts every request in flight as an error for the
// reason the connection ended, and frees their slots (reading side).
func (lc *loadConn) failPending() {
	lc.mu.Lock()
	err := fmt.Errorf("%w: %w", ErrConnLost, lc.dead)
	var failed []int
	for k, i := range lc.pending {
		delete(lc.pending, k)
		failed = append(failed, i)
	}
	lc.mu.Unlock()
	for _, i := range failed {
		lc.rx.countError(err)
		lc.release(i)
	}
}

// expire counts the requests whose ResponseTimeout passed by now as
// errors, frees their slots, and moves the read deadline to the next
// expiry (reading side, after a read timed out).
func (lc *loadConn) expire(now time.Time) error {
	next := now.Add(lc.cfg.ResponseTimeout)
	var expired []int
	lc.mu.Lock()
	for k, i := range lc.pending {
		switch e := lc.slots[i].expires; {
		case !now.Before(e):
			delete(lc.pending, k)
			expired = append(expired, i)
		case e.Before(next):
			next = e
		}
	}
	// Under mu, so that the sender's wake-up (senderDone) is not
	// overwritten.
	var err error
	if !(lc.senderDone && len(lc.pending) == 0) {
		err = lc.conn.SetReadDeadline(next)
	}
	lc.mu.Unlock()
	for _, i := range expired {
		r := &lc.slots[i].req
		lc.rx.countError(fmt.Errorf("%w to %s stan %06d after 1 send: %w", ErrNoResponse, r.mti(), r.stan, errTimeout))
		lc.release(i)
	}
	return err
}

// inFlight is how many requests are out (the closed loop's, which
// counts its free slots itself).
func (lc *loadConn) inFlight() int { return len(lc.slots) - len(lc.freeList) }

func (lc *loadConn) alive() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.dead == nil
}

// finished says whether the reading side has nothing left to wait for:
// the connection ended, or the sender is done and every answer is in.
func (lc *loadConn) finished() bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.dead != nil || (lc.senderDone && len(lc.pending) == 0)
}

// closeSending says the open loop's sender is done; a reader waiting
// with nothing in flight is woken to see it.
func (lc *loadConn) closeSending() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.senderDone = true
	if len(lc.pending) == 0 && lc.dead == nil {
		lc.conn.SetReadDeadline(time.Now())
	}
}

// readAnswers waits for the next whole frame, or a timeout, and handles
// it and every other frame already buffered. False once the connection
// has ended and its requests in flight are counted.
func (lc *loadConn) readAnswers() bool {
	if err := lc.waitFrame(); err != nil {
		if isTimeout(err) && lc.ctx.Err() == nil && lc.alive() {
			if err = lc.expire(time.Now()); err == nil {
				return true
			}
		}
		if cerr := lc.ctx.Err(); cerr != nil {
			err = cerr
		}
		lc.markDead(fmt.Errorf("read frame: %w", err))
		lc.failPending()
		return false
	}
	for {
		tpdu, msg, err := lc.cfg.Framing.ReadFrame(lc.br, lc.rbuf)
		if err != nil {
			lc.markDead(fmt.Errorf("read frame: %w", err))
			lc.failPending()
			return false
		}
		lc.handle(tpdu, msg)
		if !lc.frameBuffered() {
			return true
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
