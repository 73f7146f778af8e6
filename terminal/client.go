package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// Limits and defaults of a Client.
const (
	DefaultMaxInFlight     = 64   // requests in flight on one connection
	maxInFlightLimit       = 4096 // the most MaxInFlight may be set to
	DefaultMaxTries        = 3    // sends of one request, the first included
	maxTriesLimit          = 10
	DefaultResponseTimeout = 10 * time.Second // per try
	DefaultWriteTimeout    = 10 * time.Second
	DefaultFrameTimeout    = 30 * time.Second // from a frame's first byte to its last
	DefaultIdleReadTimeout = 60 * time.Second // read deadline while waiting for a frame to start; renewed
	DefaultDialTimeout     = 10 * time.Second
)

// DefaultTPDU is this terminal's TPDU, 60 DDDD SSSS with destination 0001 and
// source 0000. The host's response must carry 60 0000 0001.
var DefaultTPDU = []byte{0x60, 0x00, 0x01, 0x00, 0x00}

// Errors of the Client. They are wrapped with %w; test with errors.Is.
var (
	ErrClosed            = errors.New("client closed")
	ErrNoResponse        = errors.New("no response")
	ErrConnLost          = errors.New("connection lost")
	ErrTPDUMismatch      = errors.New("response TPDU is not the request's with source and destination swapped")
	ErrBadMAC            = errors.New("response MAC missing or wrong")
	ErrDuplicateInFlight = errors.New("a request with the same MTI class, STAN and TID is already in flight")
	ErrBadRequest        = errors.New("invalid request")
	errTimeout           = errors.New("response timeout")
)

// ClientConfig configures a Client. Dial, Framing and Packager are required;
// zero durations and counts take the defaults above.
type ClientConfig struct {
	Dial     DialFunc
	Framing  wire.Framing
	Packager wire.Packager
	// TPDU is the 5-byte TPDU sent when Framing.TPDU is set (default DefaultTPDU).
	TPDU []byte

	MaxInFlight     int // default DefaultMaxInFlight, at most 4096
	MaxTries        int // default DefaultMaxTries, at most 10
	ResponseTimeout time.Duration
	WriteTimeout    time.Duration
	FrameTimeout    time.Duration
	IdleReadTimeout time.Duration
	DialTimeout     time.Duration

	Logger zerolog.Logger // the zero Logger logs nothing
}

// ClientStats are counters of a Client since it was created.
type ClientStats struct {
	Requests    uint64 // Do calls that got an in-flight slot
	Sent        uint64 // frames written, retransmissions included
	Retransmits uint64 // frames written that were a second or later try
	Responses   uint64 // responses matched to a request
	Unmatched   uint64 // responses that matched no request in flight (late, or duplicate)
	BadFrames   uint64 // responses that could not be unpacked
	Timeouts    uint64 // tries that saw no response in time
	Connects    uint64 // connections opened
}

// Client is one connection to the host, pipelined: any number of goroutines
// may call Do at once, up to MaxInFlight requests are in flight, and responses
// are matched to requests by (response MTI class, field 11, field 41) in
// whatever order they arrive. A lost connection is redialled by the next try.
type Client struct {
	cfg      ClientConfig
	wantTPDU []byte
	sem      chan struct{}
	base     context.Context // cancelled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup // reader goroutines
	waiters  sync.Pool

	dialMu sync.Mutex
	mu     sync.Mutex
	cur    *session
	closed bool
	taks   map[string]*takKey // tid -> TAK, prepared

	stats struct {
		requests, sent, retransmits, responses, unmatched, badFrames, timeouts, connects atomic.Uint64
	}
}

// NewClient checks cfg and returns a Client. It does not connect: the first
// Do does.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Dial == nil {
		return nil, errors.New("terminal client: Dial is required")
	}
	if cfg.Packager == nil {
		return nil, errors.New("terminal client: Packager is required")
	}
	if cfg.Framing.Header == "" {
		cfg.Framing.Header = "len2"
	}
	if cfg.Framing.TPDU {
		if cfg.TPDU == nil {
			cfg.TPDU = DefaultTPDU
		}
		if len(cfg.TPDU) != 5 || cfg.TPDU[0] != 0x60 {
			return nil, fmt.Errorf("terminal client: TPDU % X is not 60 DDDD SSSS", cfg.TPDU)
		}
		cfg.TPDU = bytes.Clone(cfg.TPDU)
	} else {
		cfg.TPDU = nil
	}
	setDefault := func(v *int, def, limit int, name string) error {
		if *v == 0 {
			*v = def
		}
		if *v < 1 || *v > limit {
			return fmt.Errorf("terminal client: %s %d outside 1..%d", name, *v, limit)
		}
		return nil
	}
	if err := setDefault(&cfg.MaxInFlight, DefaultMaxInFlight, maxInFlightLimit, "MaxInFlight"); err != nil {
		return nil, err
	}
	if err := setDefault(&cfg.MaxTries, DefaultMaxTries, maxTriesLimit, "MaxTries"); err != nil {
		return nil, err
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.ResponseTimeout, DefaultResponseTimeout},
		{&cfg.WriteTimeout, DefaultWriteTimeout},
		{&cfg.FrameTimeout, DefaultFrameTimeout},
		{&cfg.IdleReadTimeout, DefaultIdleReadTimeout},
		{&cfg.DialTimeout, DefaultDialTimeout},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	c := &Client{cfg: cfg, sem: make(chan struct{}, cfg.MaxInFlight), taks: map[string]*takKey{}}
	if cfg.Framing.TPDU {
		c.wantTPDU = wire.SwapTPDU(cfg.TPDU)
	}
	c.base, c.cancel = context.WithCancel(context.Background())
	c.waiters.New = func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return &waiter{ch: make(chan reply, 1), timer: t}
	}
	return c, nil
}

// SetTAK sets (or with nil, clears) the MAC key of terminal tid. From then on
// Do MACs that terminal's 0100/0200/0220/03xx/04xx/0500 requests (field 64, or
// 128 when a field 65–127 is present) and checks the responses' MACs.
func (c *Client) SetTAK(tid string, tak []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tak == nil {
		delete(c.taks, tid)
		return
	}
	k, err := cardcrypto.NewMACKey(tak)
	c.taks[tid] = &takKey{mac: k, err: err}
}

// takKey is a terminal's TAK with its key schedules made once (every
// request and response is MACed with it), or why it cannot be used.
type takKey struct {
	mac *cardcrypto.MACKey
	err error
}

func (c *Client) tak(tid string) *takKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taks[tid]
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		Requests:    c.stats.requests.Load(),
		Sent:        c.stats.sent.Load(),
		Retransmits: c.stats.retransmits.Load(),
		Responses:   c.stats.responses.Load(),
		Unmatched:   c.stats.unmatched.Load(),
		BadFrames:   c.stats.badFrames.Load(),
		Timeouts:    c.stats.timeouts.Load(),
		Connects:    c.stats.connects.Load(),
	}
}

// Close closes the connection, fails the requests in flight and waits for
// the client's goroutine. Do after Close returns ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	s := c.cur
	c.cur = nil
	c.mu.Unlock()
	c.cancel()
	if s != nil {
		s.fail(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

type pendingKey struct{ mti, stan, tid string }

type reply struct {
	m   *wire.Message
	err error
}

// waiter is one Do call's mailbox. Whoever removes it from a session's
// pending map sends exactly one reply; ch has room for it, so the sender never
// blocks.
type waiter struct {
	ch    chan reply
	timer *time.Timer
	maced bool
}

// Do sends req and returns the host's response. It retransmits when no
// response arrives within ResponseTimeout: an 0220, 0400 or 0420 is resent
// as its repeat (0221, 0401, 0421) with the same STAN and field 7, anything
// else as identical bytes; after MaxTries sends it returns an error wrapping
// ErrNoResponse. A lost connection is redialled by the next try. When the
// terminal has a TAK (SetTAK), Do sets the MAC field of req and checks the
// response's MAC. On ErrTPDUMismatch and ErrBadMAC the response is returned
// together with the error.
func (c *Client) Do(ctx context.Context, req *wire.Message) (*wire.Message, error) {
	if req == nil || len(req.MTI) != 4 || !cardnum.Digits(req.MTI) || req.MTI[2] == '9' {
		return nil, fmt.Errorf("%w: MTI", ErrBadRequest)
	}
	stan, ok1 := req.Get(11)
	tid, ok2 := req.Get(41)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s without field 11 or 41", ErrBadRequest, req.MTI)
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.base.Done():
		return nil, ErrClosed
	}
	defer func() { <-c.sem }()
	c.stats.requests.Add(1)

	packed, maced, err := c.pack(req)
	if err != nil {
		return nil, err
	}
	if len(packed)+len(c.cfg.TPDU) > wire.MaxFrameBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, more than a frame holds", ErrBadRequest, req.MTI, len(packed))
	}
	w := c.waiters.Get().(*waiter)
	defer c.waiters.Put(w) // every path below leaves w unregistered with an empty ch
	w.maced = maced
	k := pendingKey{wire.ResponseMTI(req.MTI), stan, tid}

	var (
		s       *session
		lastErr error
		sent    int
		repeat  bool
	)
	for try := 1; try <= c.cfg.MaxTries; try++ {
		if try > 1 && !repeat {
			if rep, ok := wire.RepeatOf(req.MTI); ok {
				r := req.Clone()
				r.MTI = rep
				if packed, _, err = c.pack(r); err != nil {
					return nil, err
				}
			}
			repeat = true
		}
		if s != nil && s.isDead() {
			if r, got := s.leave(k, w); got && r.m != nil {
				return r.m, r.err
			}
			s = nil
		}
		if s == nil {
			ns, err := c.session(ctx)
			if err != nil {
				lastErr = err
				break
			}
			if err := ns.register(k, w); err != nil {
				if errors.Is(err, ErrDuplicateInFlight) {
					return nil, err
				}
				lastErr = err
				continue
			}
			s = ns
		}
		if try > 1 {
			c.stats.retransmits.Add(1)
		}
		if s.write(packed) == nil {
			sent++
		}
		w.timer.Reset(c.cfg.ResponseTimeout)
		select {
		case r := <-w.ch:
			w.timer.Stop()
			if r.m != nil {
				return r.m, r.err
			}
			lastErr, s = r.err, nil // the session died and dropped w
		case <-w.timer.C:
			c.stats.timeouts.Add(1)
			lastErr = errTimeout // w stays registered: a late answer to an earlier try still counts
		case <-ctx.Done():
			w.timer.Stop()
			if r, got := s.leave(k, w); got && r.m != nil {
				return r.m, r.err
			}
			return nil, ctx.Err()
		}
	}
	if s != nil {
		if r, got := s.leave(k, w); got && r.m != nil {
			return r.m, r.err
		}
	}
	if sent == 0 {
		return nil, fmt.Errorf("%s stan %s not sent: %w", req.MTI, stan, lastErr)
	}
	return nil, fmt.Errorf("%w to %s stan %s after %d sends: %w", ErrNoResponse, req.MTI, stan, sent, lastErr)
}

// pack packs m, MACing it when its terminal has a TAK and its MTI needs one.
func (c *Client) pack(m *wire.Message) ([]byte, bool, error) {
	tid, _ := m.Get(41)
	tak := c.tak(tid)
	if tak == nil || !wire.MACScope(m.MTI) {
		b, err := c.cfg.Packager.Pack(m)
		if err != nil {
			return nil, false, fmt.Errorf("%w: pack %s: %w", ErrBadRequest, m.MTI, err)
		}
		return b, false, nil
	}
	macField := 64
	delete(m.Fields, 128)
	for f := range m.Fields {
		if f >= 65 && f <= 127 {
			macField = 128
			delete(m.Fields, 64)
			break
		}
	}
	var zero [macLen]byte
	m.Set(macField, string(zero[:]))
	b, err := c.cfg.Packager.Pack(m)
	if err != nil {
		return nil, false, fmt.Errorf("%w: pack %s: %w", ErrBadRequest, m.MTI, err)
	}
	if len(b) < macLen || !bytes.Equal(b[len(b)-macLen:], zero[:]) {
		return nil, false, fmt.Errorf("%w: packager %s does not put field %d last", ErrBadRequest, c.cfg.Packager.Name(), macField)
	}
	if tak.err != nil {
		return nil, false, tak.err
	}
	mac := tak.mac.MAC(b[:len(b)-macLen])
	copy(b[len(b)-macLen:], mac)
	m.Set(macField, string(mac))
	return b, true, nil
}

// checkMAC checks the MAC of a response to a MACed request: 03, 58 and 63
// responses carry none, every other one must carry a correct one.
func (c *Client) checkMAC(m *wire.Message, raw []byte) error {
	macField := 0
	if m.Has(128) {
		macField = 128
	} else if m.Has(64) {
		macField = 64
	}
	rc, _ := m.Get(39)
	if macField == 0 {
		switch rc {
		case RCUnknownMerchant, RCNotSignedOn, RCSecurity:
			return nil
		}
		return fmt.Errorf("%w: %s rc %s carries no MAC", ErrBadMAC, m.MTI, rc)
	}
	tid, _ := m.Get(41)
	tak := c.tak(tid)
	if tak == nil {
		return nil // keys dropped meanwhile (sign-off); nothing to check with
	}
	got, _ := m.Get(macField)
	if len(raw) < macLen || string(raw[len(raw)-macLen:]) != got {
		return fmt.Errorf("%w: field %d is not the last 8 bytes", ErrBadMAC, macField)
	}
	if tak.err != nil {
		return tak.err
	}
	if !cardcrypto.MACEqual(tak.mac.MAC(raw[:len(raw)-macLen]), raw[len(raw)-macLen:]) {
		return fmt.Errorf("%w: %s rc %s", ErrBadMAC, m.MTI, rc)
	}
	return nil
}
