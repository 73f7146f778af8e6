package gateway

// observe.go: what the gateway tells an operator's monitoring (requests
// answered, connections opened, closed and refused), and whether it is
// accepting (Ready). The gateway knows nothing of how these are exported
// (Prometheus, in the host: internal/metrics).

import (
	"errors"
	"time"
)

// ListenerInfo names a listener for monitoring: Name is its configured
// address (a serial listener's: its device), Kind is tcp, tls or serial.
// Both come from the configuration, so their set is the operator's, not a
// peer's.
type ListenerInfo struct {
	Name string
	Kind string
}

// KindTLS is ListenerInfo.Kind of a TCP listener with a TLS block.
const KindTLS = "tls"

// Observer is told of what the gateway does; Config.Observer. Every
// method runs on a connection's goroutine, RequestDone once per answered
// request: it must be cheap, must not block and must not keep its
// arguments' strings past the call's needs (they are the request's).
type Observer interface {
	// RequestDone: a response was written. mti and proc are the
	// request's MTI and field 3 as received ("" when absent), rc the
	// response's field 39; latency runs from the moment the request's
	// frame was read to the moment its response was written. A peer
	// chooses mti and proc: an implementation that labels by them must
	// map them onto a closed set (wire.RequestMTIs, wire.ProcessingCodes).
	RequestDone(mti, proc, rc string, latency time.Duration)
	// ConnOpened and ConnClosed bracket one connection (for a serial
	// listener: one session of its device) on the listener named
	// listener (ListenerInfo.Name) of kind kind (ListenerInfo.Kind).
	ConnOpened(listener, kind string)
	ConnClosed(listener, kind string)
	// ConnRefused: a connection closed at accept, over MaxConnections or
	// MaxConnectionsPerSource (not during Shutdown).
	ConnRefused(listener, kind string)
}

// nopObserver is the Observer of a Config without one.
type nopObserver struct{}

func (nopObserver) RequestDone(string, string, string, time.Duration) {}
func (nopObserver) ConnOpened(string, string)                         {}
func (nopObserver) ConnClosed(string, string)                         {}
func (nopObserver) ConnRefused(string, string)                        {}

// Errors of Ready.
var (
	ErrNotStarted   = errors.New("gateway: not started")
	ErrShuttingDown = errors.New("gateway: shutting down")
)

// Ready says whether the gateway accepts connections: nil once Start has
// bound every TCP listener (and started every serial one), until
// Shutdown begins.
func (s *Server) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return ErrShuttingDown
	case !s.started:
		return ErrNotStarted
	}
	return nil
}

// Listeners names the configured listeners, in configuration order (for
// monitoring to show each, idle ones at zero).
func (s *Server) Listeners() []ListenerInfo {
	out := make([]ListenerInfo, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.info
	}
	return out
}

// infoOf names a listener's configuration for monitoring.
func infoOf(lc ListenerConfig) ListenerInfo {
	switch {
	case lc.Kind == KindSerial && lc.Serial != nil:
		return ListenerInfo{Name: lc.Serial.Device, Kind: KindSerial}
	case lc.TLS != nil:
		return ListenerInfo{Name: lc.Addr, Kind: KindTLS}
	}
	return ListenerInfo{Name: lc.Addr, Kind: KindTCP}
}
