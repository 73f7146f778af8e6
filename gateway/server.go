package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/logguard"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// Defaults of Config.
const (
	DefaultReadTimeout    = 30 * time.Second
	DefaultIdleTimeout    = 300 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultMaxConnections = 4096
	// DefaultMaxConnectionsPerSource: one IP address may hold an eighth
	// of the slots. Enough for a mall's terminals behind one NAT address
	// and for the load generator (at most 256 connections), little enough
	// that one peer cannot take every slot.
	DefaultMaxConnectionsPerSource = 512
	DefaultMaxInFlight             = 64
	DefaultListenFraming           = "len2"
	DefaultListenPackager          = "ascii"
)

// Authorizer decides requests; the ledger implements it. done is called
// exactly once, after the decision is durable.
type Authorizer interface {
	Submit(ctx context.Context, r *ledger.Request, done func(ledger.Result)) error
}

// ListenerConfig is one TCP listener: its address, framing and packager,
// and optionally TLS.
type ListenerConfig struct {
	Addr     string `yaml:"addr"`
	Framing  string `yaml:"framing"`
	Packager string `yaml:"packager"`
	// TLS, when set, makes the listener speak TLS 1.2 or later, with
	// client certificates checked against TLS.ClientCA when given.
	TLS *tlsconf.Server `yaml:"tls"`
}

// Config configures the gateway.
type Config struct {
	Listeners []ListenerConfig
	// ReadTimeout bounds a whole frame, from its first byte to its last,
	// and a TLS handshake; IdleTimeout the silence between frames;
	// WriteTimeout one response write.
	ReadTimeout  time.Duration
	IdleTimeout  time.Duration
	WriteTimeout time.Duration
	// MaxConnections bounds open connections over all listeners.
	MaxConnections int
	// MaxConnectionsPerSource bounds the open connections of one remote
	// IP address (the port aside), so that one peer cannot take every
	// slot.
	MaxConnectionsPerSource int
	// MaxInFlight bounds requests in flight on one connection; the reader
	// stops reading while the limit is reached.
	MaxInFlight int
	Logger      zerolog.Logger
	// Keys gives the security step (MAC, PIN, chip, sign-on keys) the
	// terminals' and programs' keys; the ledger's Store implements it.
	// Without it no request can prove a MAC, PIN or ARQC.
	Keys KeyStore
	// Guard rate-limits the log lines that peers cause before they have
	// proved anything (refused connections, bad frames, failed TLS
	// handshakes) and counts them; default: a Guard of its own.
	Guard *logguard.Guard
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
	if c.MaxConnectionsPerSource <= 0 {
		// The default never exceeds the total: with a small
		// MaxConnections one source may use them all.
		c.MaxConnectionsPerSource = min(DefaultMaxConnectionsPerSource, c.MaxConnections)
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Guard == nil {
		c.Guard = logguard.New(logguard.Config{})
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
	perSource map[string]int // open connections by remote IP; entries at 0 are deleted
	closing   bool
	wg        sync.WaitGroup
}

type listener struct {
	cfg      ListenerConfig
	framing  wire.Framing
	packager wire.Packager
	tls      *tls.Config // nil: plain TCP
	ln       net.Listener
}

// New checks the configuration and returns a server that is not yet
// listening.
func New(cfg Config, auth Authorizer) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, auth: auth, log: cfg.Logger, conns: make(map[*conn]struct{}), perSource: make(map[string]int),
		sec: newSecurity(cfg.Keys)}
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
		l := &listener{cfg: lc, framing: fr, packager: pk}
		if lc.TLS != nil {
			if l.tls, err = lc.TLS.Config(); err != nil {
				return nil, fmt.Errorf("gateway: listeners[%d].tls.%w", i, err)
			}
		}
		s.listeners = append(s.listeners, l)
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
			Str("packager", l.packager.Name()).Bool("tls", l.tls != nil).Msg("gateway listening")
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
			c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
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
