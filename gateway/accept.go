package gateway

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/rs/zerolog"
)

// Kinds of the log lines that peers cause before they have proved
// anything; Config.Guard lets a few of each through per interval and
// counts the rest (logguard). They are the keys of the admin API's
// GET /v1/stats.
const (
	// EventRefused: a connection closed at accept, over MaxConnections or
	// MaxConnectionsPerSource.
	EventRefused = "gateway_connection_refused"
	// EventBadInput: a connection closed for a frame or message that
	// cannot be read (bad header, malformed message, a frame not complete
	// within the read timeout, a connection that ends mid-frame) or for a
	// failed TLS handshake.
	EventBadInput = "gateway_bad_input"
	// EventIdle: a connection closed after the idle timeout.
	EventIdle = "gateway_idle_timeout"
	// EventWriteFailed: a response could not be written.
	EventWriteFailed = "gateway_write_failed"
	// EventAcceptError: the listener's Accept failed (EMFILE and friends).
	EventAcceptError = "gateway_accept_error"
)

// closeReason says why a connection ended: kind is its Event (empty for a
// hang-up, which is not logged), text the reason logged.
type closeReason struct{ kind, text string }

// reasonShutdown is the host's own reason; it is logged unthrottled.
var reasonShutdown = closeReason{kind: "shutdown", text: "shutdown"}

// logClose writes the line of a connection that ended.
func (s *Server) logClose(remote string, r closeReason) {
	switch r.kind {
	case "":
	case reasonShutdown.kind:
		s.log.Info().Str("remote", remote).Str("reason", r.text).Msg("connection closed")
	default:
		s.cfg.Guard.Event(&s.log, zerolog.InfoLevel, r.kind).Str("remote", remote).Str("reason", r.text).
			Msg("connection closed")
	}
}

// sourceOf is the remote IP address of a connection, without its port:
// the unit of MaxConnectionsPerSource.
func sourceOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// release gives back a source's slot; s.mu is held.
func (s *Server) release(source string) {
	if n := s.perSource[source] - 1; n > 0 {
		s.perSource[source] = n
	} else {
		delete(s.perSource, source)
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
			s.cfg.Guard.Event(&s.log, zerolog.WarnLevel, EventAcceptError).Err(err).Msg("accept")
			time.Sleep(10 * time.Millisecond) // EMFILE and friends: do not spin
			continue
		}
		source := sourceOf(nc.RemoteAddr())
		s.mu.Lock()
		var refused string
		switch {
		case s.closing:
			refused = "shutting down"
		case len(s.conns) >= s.cfg.MaxConnections:
			refused = "too many connections"
		case s.perSource[source] >= s.cfg.MaxConnectionsPerSource:
			refused = "too many connections from this address"
		}
		if refused != "" {
			closing := s.closing
			s.mu.Unlock()
			nc.Close() // at once: a refused peer holds nothing
			if !closing {
				s.cfg.Observer.ConnRefused(l.info.Name, l.info.Kind)
				s.cfg.Guard.Event(&s.log, zerolog.WarnLevel, EventRefused).Str("remote", nc.RemoteAddr().String()).
					Int("max_connections", s.cfg.MaxConnections).
					Int("max_connections_per_source", s.cfg.MaxConnectionsPerSource).
					Msg("connection refused: " + refused)
			}
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		if l.tls != nil {
			// The handshake runs on the connection's own goroutine
			// (handshake), so a slow client cannot hold up the accept loop.
			nc = tls.Server(nc, l.tls)
		}
		c := newConn(s, l, nc, source)
		s.conns[c] = struct{}{}
		s.perSource[source]++
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// handshake completes a TLS connection's handshake within the read
// timeout; a plain connection has none. A failure is bad input, counted
// like a malformed frame.
func (c *conn) handshake() (closeReason, bool) {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return closeReason{}, true
	}
	// The handshake writes as well as reads; the writer sets its own
	// deadline per response afterwards, and readLoop its read deadlines.
	tc.SetDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
	// c.ctx ends with stopReading: Shutdown does not wait for a handshake.
	err := tc.HandshakeContext(c.ctx)
	if err != nil {
		select {
		case <-c.stop:
			return reasonShutdown, false
		default:
		}
		// Handshake errors describe the protocol step and the peer's
		// certificate, never application data.
		return closeReason{EventBadInput, "TLS handshake failed: " + err.Error()}, false
	}
	tc.SetWriteDeadline(time.Time{})
	return closeReason{}, true
}
