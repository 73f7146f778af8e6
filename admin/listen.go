package admin

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/cardcenter/cardcenter/internal/tlsconf"
)

// ErrPlainRemote: the admin API was asked to listen beyond loopback
// without TLS, where its bearer token would cross the network in clear.
var ErrPlainRemote = errors.New("not a loopback address, and without TLS the bearer token would cross the network in clear")

// Listen binds the admin API's address. With t set the listener speaks
// TLS (1.2 or later; client certificates when t asks for them). Without
// it, only a loopback address is allowed (127.0.0.0/8, ::1, localhost):
// anything else, an empty host or 0.0.0.0 included, is refused with
// ErrPlainRemote. Errors start with the configuration key at fault, as
// the admin block of the host's configuration names it ("addr …",
// "tls.cert …"), for the caller to prefix with where that block sits.
func Listen(addr string, t *tlsconf.Server) (net.Listener, error) {
	var cfg *tls.Config
	if t != nil {
		var err error
		if cfg, err = t.Config(); err != nil {
			return nil, fmt.Errorf("tls.%w", err)
		}
	} else if !isLoopback(addr) {
		return nil, fmt.Errorf("addr %s: %w", addr, ErrPlainRemote)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("addr %s: %w", addr, err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

// isLoopback says whether addr's host is a loopback address. A host name
// other than localhost is not: it may resolve anywhere.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
