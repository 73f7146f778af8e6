package terminal

import (
	"context"
	"crypto/tls"
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
