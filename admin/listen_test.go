package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/logguard"
	"github.com/cardcenter/cardcenter/internal/testpki"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
)

// Without TLS only loopback addresses are allowed; a TLS block that
// cannot be loaded names its key.
func TestListenRefusesPlainRemote(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:8580", "admin.example:8580"} {
		if ln, err := Listen(addr, nil); !errors.Is(err, ErrPlainRemote) {
			if ln != nil {
				ln.Close()
			}
			t.Errorf("Listen(%q) without TLS: %v, want ErrPlainRemote", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.2:0"} {
		ln, err := Listen(addr, nil)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		ln.Close()
	}
	pki := testpki.New(t)
	if _, err := Listen("0.0.0.0:0", &tlsconf.Server{Cert: pki.ServerCert}); err == nil || !strings.HasPrefix(err.Error(), "tls.cert and key") {
		t.Fatalf("half a TLS block: %v", err)
	}
}

// With TLS the API serves on any address; a client that trusts the CA
// gets through, a plain-HTTP caller does not, and its failed handshake is
// logged through the guard and counted.
func TestListenTLS(t *testing.T) {
	pki := testpki.New(t)
	guard := logguard.New(logguard.Config{})
	e := newEnv(t)
	if _, err := e.client.Check(context.Background()); err != nil { // (newEnv wants one answer to scan)
		t.Fatal(err)
	}
	srv, err := New(Config{Store: e.store, Token: e.token, Guard: guard})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("0.0.0.0:0", &tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	port := ln.Addr().String()[strings.LastIndex(ln.Addr().String(), ":"):]

	clientTLS, err := tlsconf.Client{CA: pki.CA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: clientTLS}
	defer tr.CloseIdleConnections()
	c := &Client{BaseURL: "https://127.0.0.1" + port, Token: e.token, HTTP: &http.Client{Transport: tr, Timeout: time.Minute}}
	if _, err := c.Stats(context.Background()); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	plainTr := &http.Transport{}
	defer plainTr.CloseIdleConnections()
	plain := &Client{BaseURL: "http://127.0.0.1" + port, Token: e.token, HTTP: &http.Client{Transport: plainTr, Timeout: time.Minute}}
	if _, err := plain.Stats(context.Background()); err == nil {
		t.Fatal("plain HTTP answered by a TLS listener")
	}
	wrongCA, err := tlsconf.Client{CA: pki.OtherCA}.Config()
	if err != nil {
		t.Fatal(err)
	}
	wrongTr := &http.Transport{TLSClientConfig: wrongCA}
	defer wrongTr.CloseIdleConnections()
	wrong := &Client{BaseURL: "https://127.0.0.1" + port, Token: e.token, HTTP: &http.Client{Transport: wrongTr, Timeout: time.Minute}}
	if _, err := wrong.Stats(context.Background()); err == nil {
		t.Fatal("a client verified the API against a CA that did not sign it")
	}
	// net/http logs a failed handshake before it drops the connection,
	// and Shutdown waits for that: after it, the line is counted.
	srv.Shutdown(context.Background())
	if got := guard.Counts()[EventHTTPError].Seen; got < 1 {
		t.Fatalf("failed handshake not counted: %+v", guard.Counts())
	}
}

// Failed logins are logged a few at a time and counted; the next line
// after the window reports how many were held back; GET /v1/stats shows
// the counts. The clock is the guard's, stepped by the test.
func TestAuthFailuresRateLimited(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	guard := logguard.New(logguard.Config{Burst: 3, Interval: time.Minute, Now: func() time.Time { return now }})
	e := newEnvWith(t, func(c *Config) { c.Guard = guard })
	bad := &Client{BaseURL: e.base, Token: strings.Repeat("x", 64), HTTP: e.client.HTTP}
	for i := 0; i < 50; i++ {
		var apiErr *APIError
		if _, err := bad.Stats(context.Background()); !errors.As(err, &apiErr) || apiErr.Status != 401 {
			t.Fatalf("wrong token: %v", err)
		}
	}
	now = now.Add(time.Minute)
	if _, err := bad.Stats(context.Background()); err == nil {
		t.Fatal("wrong token accepted")
	}
	lines := strings.Count(e.logs.String(), `"admin auth failed"`)
	if lines != 4 {
		t.Fatalf("%d auth-failure lines for 51 failures, want 3 in the first minute and 1 after", lines)
	}
	if !strings.Contains(e.logs.String(), `"suppressed":47`) {
		t.Fatalf("the line after the window does not report the 47 held back:\n%s", e.logs.String())
	}
	st, err := e.client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := st.LogEvents[EventAuthFailed]; got != (logguard.Count{Seen: 51, Suppressed: 47}) {
		t.Fatalf("stats %+v", st.LogEvents)
	}
}
