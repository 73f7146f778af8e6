// Package tlsconf is the one place that turns certificate files into a
// crypto/tls configuration, for the gateway's listeners, the admin API and
// the clients of both (the POS simulator, the load generator, the admin
// CLI). The policy lives here once: TLS 1.2 at least, Go's default cipher
// suites (all AEAD with forward secrecy for 1.2), certificates and keys as
// PEM files.
//
// Errors name the file and what is wrong with it; they never carry the
// key's bytes.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// MinVersion is the lowest protocol version either side accepts.
const MinVersion = tls.VersionTLS12

// maxPEMBytes bounds a CA file read into a pool.
const maxPEMBytes = 1 << 20

// Server is a listener's TLS: its certificate and key, and optionally the
// CA that signs its clients' certificates.
type Server struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ClientCA, when set, is checked against any client certificate
	// offered; RequireClientCert refuses clients that offer none.
	ClientCA          string `yaml:"client_ca"`
	RequireClientCert bool   `yaml:"require_client_cert"`
}

// Config loads the files into a server configuration. Field names in
// errors are the YAML keys (cert, key, client_ca, require_client_cert), so
// a caller prefixes them with where the block sits.
func (s Server) Config() (*tls.Config, error) {
	if s.Cert == "" || s.Key == "" {
		return nil, errors.New("cert and key: both are required")
	}
	pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
	if err != nil {
		return nil, fmt.Errorf("cert %s, key %s: %w", s.Cert, s.Key, err)
	}
	cfg := &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{pair}}
	switch {
	case s.ClientCA != "":
		pool, err := Pool(s.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("client_ca: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if s.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	case s.RequireClientCert:
		return nil, errors.New("require_client_cert: needs client_ca, the CA that signs the client certificates")
	}
	return cfg, nil
}

// Client is how a client checks a server and, optionally, proves itself.
type Client struct {
	// CA verifies the server's certificate (default: the system's roots).
	CA string
	// Cert and Key are the client's certificate, for servers that ask.
	Cert, Key string
	// ServerName is checked against the server's certificate (default:
	// the host part of the address dialled).
	ServerName string
}

// Config loads the files into a client configuration.
func (c Client) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: MinVersion, ServerName: c.ServerName}
	if c.CA != "" {
		pool, err := Pool(c.CA)
		if err != nil {
			return nil, fmt.Errorf("CA: %w", err)
		}
		cfg.RootCAs = pool
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, errors.New("client cert and key: give both or neither")
	}
	if c.Cert != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("client cert %s, key %s: %w", c.Cert, c.Key, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Pool reads a PEM file of one or more CA certificates.
func Pool(path string) (*x509.CertPool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxPEMBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPEMBytes)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}
