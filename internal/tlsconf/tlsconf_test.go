package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/testpki"
)

func TestServerAndClientConfigs(t *testing.T) {
	p := testpki.New(t)
	cfg, err := Server{Cert: p.ServerCert, Key: p.ServerKey}.Config()
	if err != nil || cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.NoClientCert {
		t.Fatalf("plain server: %v %+v", err, cfg)
	}
	cfg, err = Server{Cert: p.ServerCert, Key: p.ServerKey, ClientCA: p.CA}.Config()
	if err != nil || cfg.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Fatalf("optional client certs: %v", err)
	}
	cfg, err = Server{Cert: p.ServerCert, Key: p.ServerKey, ClientCA: p.CA, RequireClientCert: true}.Config()
	if err != nil || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("required client certs: %v", err)
	}
	ccfg, err := Client{CA: p.CA, Cert: p.ClientCert, Key: p.ClientKey}.Config()
	if err != nil || ccfg.MinVersion != tls.VersionTLS12 || len(ccfg.Certificates) != 1 || ccfg.RootCAs == nil {
		t.Fatalf("client: %v", err)
	}
}

// Each misconfiguration is refused with the key that is wrong.
func TestConfigErrors(t *testing.T) {
	p := testpki.New(t)
	for _, tc := range []struct {
		name string
		fn   func() error
		want string
	}{
		{"no key", func() error { _, err := Server{Cert: p.ServerCert}.Config(); return err }, "cert and key"},
		{"mismatched pair", func() error { _, err := Server{Cert: p.ServerCert, Key: p.ClientKey}.Config(); return err }, "cert " + p.ServerCert},
		{"require without CA", func() error {
			_, err := Server{Cert: p.ServerCert, Key: p.ServerKey, RequireClientCert: true}.Config()
			return err
		}, "require_client_cert: needs client_ca"},
		{"CA not PEM", func() error {
			_, err := Server{Cert: p.ServerCert, Key: p.ServerKey, ClientCA: p.ServerKey}.Config()
			return err
		}, "client_ca: " + p.ServerKey + ": no PEM certificate"},
		{"client cert without key", func() error { _, err := Client{Cert: p.ClientCert}.Config(); return err }, "give both or neither"},
		{"missing CA file", func() error { _, err := Client{CA: p.CA + ".missing"}.Config(); return err }, "CA: "},
	} {
		err := tc.fn()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: error carries key material: %v", tc.name, err)
		}
	}
}
