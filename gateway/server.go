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

// Defaults of Config.
const (
	DefaultReadTimeout    = 30 * time.Second
	DefaultIdleTimeout    = 300 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxConnections = 4096
	DefaultMaxInFlight    = 64
	DefaultListenFraming  = "len2"
	DefaultListenPackager = "ascii"
)

// Authorizer decides requests; the ledger implements it. done is called
// exactly once, after the decision is durable.
type Authorizer interface {
	Submit(ctx context.Context, r *ledger.Request, done func(ledger.Result)) error
}

// ListenerConfig is one TCP listener: its address, framing and packager.
type ListenerConfig struct {
	Addr     string `yaml:"addr"`
	Framing  string `yaml:"framing"`
	Packager string `yaml:"packager"`
}

// Config configures the gateway.
type Config struct {
	Listeners []ListenerConfig
	// ReadTimeout bounds a stall in the middle of a frame; IdleTimeout the
	// silence between frames; WriteTimeout one response write.
	ReadTimeout  time.Duration
	IdleTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxConnections bounds open connections over all listeners.
	MaxConnections int
	// MaxInFlight bounds requests in flight on one connection; the reader
	// stops reading while the limit is reached.
	MaxInFlight int
	Logger      zerolog.Logger
	// Keys gives the security step (MAC, PIN, chip, sign-on keys) the
	// terminals' and programs' keys; the ledger's Store implements it.
	// Without it no request can prove a MAC, PIN or ARQC.
	Keys KeyStore
}

func (c *Config) defaults() {
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
}

// Server is the ISO 8583 gateway: it frames, unpacks and validates
// requests, hands them to the Authorizer and writes the responses back as
// they complete, several in flight per connection.
type Server struct {
	cfg  Config
	auth Authorizer
	log  zerolog.Logger
	sec  *security // nil: no keys (MAC, PIN and chip verdicts stay absent)

	mu        sync.Mutex
	listeners []*listener
	conns     map[*conn]struct{}
	closing   bool
	wg        sync.WaitGroup
}

type listener struct {
	cfg      ListenerConfig
	framing  wire.Framing
	packager wire.Packager
	ln       net.Listener
}

// New checks the configuration and returns a server that is not yet
// listening.
func New(cfg Config, auth Authorizer) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, auth: auth, log: cfg.Logger, conns: make(map[*conn]struct{}), sec: newSecurity(cfg.Keys)}
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("gateway: no listeners configured")
	}
	for i, lc := range cfg.Listeners {
		if lc.Framing == "" {
			lc.Framing = DefaultListenFraming
		}
		if lc.Packager == "" {
			lc.Packager = DefaultListenPackager
		}
		fr, err := wire.ParseFraming(lc.Framing)
		if err != nil {
			return nil, fmt.Errorf("gateway: listeners[%d].framing: %w", i, err)
		}
		pk, err := wire.NewPackager(lc.Packager)
		if err != nil {
			return nil, fmt.Errorf("gateway: listeners[%d].packager: %w", i, err)
		}
		s.listeners = append(s.listeners, &listener{cfg: lc, framing: fr, packager: pk})
	}
	return s, nil
}

// Start binds every listener and starts accepting.
func (s *Server) Start() error {
	for i, l := range s.listeners {
		ln, err := net.Listen("tcp", l.cfg.Addr)
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("gateway: listeners[%d] %s: %w", i, l.cfg.Addr, err)
		}
		l.ln = ln
		s.log.Info().Str("addr", ln.Addr().String()).Str("framing", l.framing.String()).
			Str("packager", l.packager.Name()).Msg("gateway listening")
	}
	for _, l := range s.listeners {
		s.wg.Add(1)
		go s.accept(l)
	}
	return nil
}

// Addrs are the bound addresses, in listener order.
func (s *Server) Addrs() []net.Addr {
	var out []net.Addr
	for _, l := range s.listeners {
		if l.ln != nil {
			out = append(out, l.ln.Addr())
		}
	}
	return out
}

func (s *Server) closeListeners() {
	for _, l := range s.listeners {
		if l.ln != nil {
			l.ln.Close()
		}
	}
}

// Shutdown stops accepting, stops reading new requests, lets every request
// in flight be decided and answered, then closes the connections. When ctx
// ends first, connections are closed at once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.closeListeners()
	for _, c := range conns {
		c.stopReading()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) accept(l *listener) {
	defer s.wg.Done()
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn().Err(err).Msg("accept")
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		s.mu.Lock()
		if s.closing || len(s.conns) >= s.cfg.MaxConnections {
			full := !s.closing
			s.mu.Unlock()
			if full {
				s.log.Warn().Str("remote", nc.RemoteAddr().String()).Int("max_connections", s.cfg.MaxConnections).
					Msg("connection refused: too many connections")
			}
			nc.Close()
			continue
		}
		c := newConn(s, l, nc)
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		go c.serve()
	}
}

// conn is one terminal connection: a reader goroutine that frames,
// unpacks and submits, and a writer goroutine that renders and writes
// responses in completion order.
type conn struct {
	s      *Server
	l      *listener
	nc     net.Conn
	remote string

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

func newConn(s *Server, l *listener, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{
		s: s, l: l, nc: nc, remote: nc.RemoteAddr().String(),
		slots: make(chan struct{}, s.cfg.MaxInFlight),
		out:   make(chan pending, s.cfg.MaxInFlight),
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
	if reason != "" {
		c.s.log.Info().Str("remote", c.remote).Str("reason", reason).Msg("connection closed")
	}
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
}

// stallReader renews the read deadline before every read while a frame
// is arriving, so the read timeout bounds each stall, not the whole frame:
// a slow peer that keeps sending is not cut off, a silent one is.
type stallReader struct {
	c       *conn
	inFrame bool
}

func (r *stallReader) Read(p []byte) (int, error) {
	select {
	case <-r.c.stop: // shutting down: no renewal may outlive stopReading's deadline
		return 0, os.ErrDeadlineExceeded
	default:
	}
	if r.inFrame {
		r.c.nc.SetReadDeadline(time.Now().Add(r.c.s.cfg.ReadTimeout))
	}
	return r.c.nc.Read(p)
}

// readLoop reads requests until the connection ends; it returns why.
func (c *conn) readLoop() string {
	sr := &stallReader{c: c}
	br := bufio.NewReaderSize(sr, 2*wire.MaxFrameBytes)
	buf := make([]byte, wire.MaxFrameBytes)
	for {
		select {
		case <-c.stop:
			return "shutdown"
		default:
		}
		// Between frames the idle timeout applies; once a frame has
		// begun, the read timeout.
		sr.inFrame = false
		if br.Buffered() == 0 {
			c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
		}
		select {
		case <-c.stop: // stopReading may have set its deadline before ours
			return "shutdown"
		default:
		}
		if _, err := br.Peek(1); err != nil {
			return c.readFault(err, true)
		}
		sr.inFrame = true
		c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
		tpdu, raw, err := c.l.framing.ReadFrame(br, buf)
		if err != nil {
			return c.readFault(err, false)
		}
		start := time.Now()
		msg, err := c.l.packager.Unpack(raw)
		if err != nil {
			// The error names the field and the fault, never the bytes.
			return "malformed message: " + err.Error()
		}
		if tpdu != nil {
			tpdu = wire.SwapTPDU(tpdu)
		}
		select {
		case c.slots <- struct{}{}:
		case <-c.stop:
			return "shutdown"
		}
		c.dispatch(pending{tpdu: tpdu, req: msg, start: start}, raw)
	}
}

func (c *conn) readFault(err error, betweenFrames bool) string {
	select {
	case <-c.stop:
		return "shutdown"
	default:
	}
	switch {
	case errors.Is(err, io.EOF) && betweenFrames:
		return "" // the terminal hung up
	case errors.Is(err, os.ErrDeadlineExceeded) && betweenFrames:
		return "idle timeout"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "stalled mid-frame past the read timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection ended mid-frame"
	}
	return "bad frame: " + err.Error()
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
					c.s.log.Info().Str("remote", c.remote).Err(err).Msg("write failed; closing")
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
func (c *conn) logDecision(p pending, resp *wire.Message) {
	ev := c.s.log.Info()
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
