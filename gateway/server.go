package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
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
	// DefaultListenKind: listeners are TCP unless they say serial.
	DefaultListenKind = KindTCP
)

// Kinds of listener.
const (
	KindTCP    = "tcp"
	KindSerial = "serial" // one terminal on a serial device (serial.go)
)

// Authorizer decides requests; the ledger implements it. done is called
// exactly once, after the decision is durable.
type Authorizer interface {
	Submit(ctx context.Context, r *ledger.Request, done func(ledger.Result)) error
}

// ListenerConfig is one listener: a TCP address (kind tcp, the default)
// or a serial device (kind serial, with Serial), its framing and
// packager, and optionally TLS (tcp only).
type ListenerConfig struct {
	Kind     string `yaml:"kind"`
	Addr     string `yaml:"addr"`
	Framing  string `yaml:"framing"`
	Packager string `yaml:"packager"`
	// Serial is the device of a kind serial listener (serial.go).
	Serial *SerialConfig `yaml:"serial"`
	// TLS, when set, makes the listener speak TLS 1.2 or later, with
	// client certificates checked against TLS.ClientCA when given.
	TLS *tlsconf.Server `yaml:"tls"`
}

// Config configures the gateway.
type Config struct {
	Listeners []ListenerConfig
	// ReadTimeout bounds a whole frame, from its first byte to its last,
	// and a TLS handshake; IdleTimeout the silence between frames;
	// WriteTimeout one response write. Deadlines are set a sixteenth
	// of their timeout late and kept while they still cover the one
	// wanted (deadline.go): each bound holds between its value and 17/16
	// of it, never less.
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
	// Observer is told of every answered request and every connection
	// opened, closed or refused (observe.go); default: none.
	Observer Observer
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
	if c.Observer == nil {
		c.Observer = nopObserver{}
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
	started   bool // Start has bound every listener (Ready)
	wg        sync.WaitGroup
	quit      chan struct{} // closed by Shutdown: serial devices stop reopening
	// rawWrite is writeInline's non-blocking write: syscall.Write, or a
	// test's that writes less.
	rawWrite func(fd int, b []byte) (int, error)
	quitOnce sync.Once
}

type listener struct {
	cfg      ListenerConfig
	framing  wire.Framing // a serial listener's: the stream framing under its line framing
	packager wire.Packager
	tls      *tls.Config // nil: plain TCP
	ln       net.Listener
	// idle is the silence between frames after which a connection is
	// closed (0: never; a serial terminal owns its line).
	idle     time.Duration
	inFlight int              // requests in flight per connection
	line     wire.LineFraming // kind serial
	info     ListenerInfo     // its name for monitoring (observe.go)
}

// New checks the configuration and returns a server that is not yet
// listening.
func New(cfg Config, auth Authorizer) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, auth: auth, log: cfg.Logger, conns: make(map[*conn]struct{}), perSource: make(map[string]int),
		sec: newSecurity(cfg.Keys), quit: make(chan struct{}), rawWrite: syscall.Write}
	if len(cfg.Listeners) == 0 {
		return nil, errors.New("gateway: no listeners configured")
	}
	for i, lc := range cfg.Listeners {
		if lc.Kind == "" {
			lc.Kind = DefaultListenKind
		}
		if lc.Packager == "" {
			lc.Packager = DefaultListenPackager
		}
		pk, err := wire.NewPackager(lc.Packager)
		if err != nil {
			return nil, fmt.Errorf("gateway: listeners[%d].packager: %w", i, err)
		}
		l := &listener{cfg: lc, packager: pk, idle: cfg.IdleTimeout, inFlight: cfg.MaxInFlight, info: infoOf(lc)}
		switch lc.Kind {
		case KindSerial:
			if err := l.serialConfig(); err != nil {
				return nil, fmt.Errorf("gateway: listeners[%d].%w", i, err)
			}
			s.listeners = append(s.listeners, l)
			continue
		case KindTCP:
			if lc.Serial != nil {
				return nil, fmt.Errorf("gateway: listeners[%d].serial: only for kind serial", i)
			}
		default:
			return nil, fmt.Errorf("gateway: listeners[%d].kind %q: want tcp or serial", i, lc.Kind)
		}
		if lc.Framing == "" {
			lc.Framing = DefaultListenFraming
		}
		l.framing, err = wire.ParseFraming(lc.Framing)
		if err != nil {
			return nil, fmt.Errorf("gateway: listeners[%d].framing: %w", i, err)
		}
		if lc.TLS != nil {
			if l.tls, err = lc.TLS.Config(); err != nil {
				return nil, fmt.Errorf("gateway: listeners[%d].tls.%w", i, err)
			}
		}
		s.listeners = append(s.listeners, l)
	}
	return s, nil
}

// Start binds every TCP listener and starts accepting, and starts serving
// every serial device (opened, and reopened, by its own goroutine).
func (s *Server) Start() error {
	for i, l := range s.listeners {
		if l.cfg.Kind == KindSerial {
			continue
		}
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
		if l.cfg.Kind == KindSerial {
			go s.serveSerial(l)
		} else {
			go s.accept(l)
		}
	}
	s.mu.Lock()
	s.started = true // Ready (observe.go)
	s.mu.Unlock()
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
	s.quitOnce.Do(func() { close(s.quit) })
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
