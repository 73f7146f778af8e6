package terminal

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"
)

// dial.go: how a Client reaches the host: plain TCP or TLS.

// Conn is the byte stream to the host: a net.Conn satisfies it. A serial
// line (a later issue) satisfies it with an adapter that implements the
// deadlines with the port's read timeout and its own STX/ETX framing below.
type Conn interface {
	io.ReadWriteCloser
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
}

// DialFunc opens a new Conn to the host. It must honour ctx.
type DialFunc func(ctx context.Context) (Conn, error)

// TCPDialer returns a DialFunc that dials addr over TCP (no Nagle delay).
func TCPDialer(addr string) DialFunc {
	return func(ctx context.Context) (Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// TLSDialer returns a DialFunc that dials addr over TCP and completes a
// TLS handshake with cfg (tlsconf.Client builds one from a CA file and an
// optional client certificate) within ctx. A ServerName left empty is
// taken from addr.
func TLSDialer(addr string, cfg *tls.Config) DialFunc {
	return func(ctx context.Context) (Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return c.(*tls.Conn), nil
	}
}

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
