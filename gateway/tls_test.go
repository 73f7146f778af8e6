package gateway

import (
	"crypto/tls"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/testpki"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
)

// The whole scenario suite over TLS listeners: once with server
// authentication only (ascii over len2), once with client certificates
// required (bcd over ascii4+tpdu, which runs every file, the ascii4 and
// TPDU faults included). The expected output is the same as over plain
// TCP: TLS changes the transport, nothing above it.
func TestScenariosTLS(t *testing.T) {
	files, err := filepath.Glob("../testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	pki := testpki.New(t)
	variants := []struct {
		name, packager, framing string
		server                  tlsconf.Server
		client                  tlsconf.Client
	}{
		{"tls", "ascii", "len2",
			tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey},
			tlsconf.Client{CA: pki.CA, ServerName: pki.ServerName}},
		{"tls-client-cert", "bcd", "ascii4+tpdu",
			tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey, ClientCA: pki.CA, RequireClientCert: true},
			tlsconf.Client{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey, ServerName: pki.ServerName}},
	}
	for _, v := range variants {
		clientTLS, err := v.client.Config()
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			base := filepath.Base(path)
			if strings.Contains(base, "_ascii4") && !strings.HasPrefix(v.framing, "ascii4") ||
				strings.Contains(base, "_tpdu") && !strings.HasSuffix(v.framing, "+tpdu") {
				continue
			}
			server := v.server
			t.Run(strings.TrimSuffix(base, ".txt")+"/"+v.name+"/"+v.packager+"/"+v.framing, func(t *testing.T) {
				t.Parallel()
				runScenario(t, path, ListenerConfig{Addr: "127.0.0.1:0", Framing: v.framing, Packager: v.packager, TLS: &server}, hostOptions{clientTLS: clientTLS})
			})
		}
	}
}

// A listener that requires client certificates answers only a client that
// has one from its CA. A plain TCP peer, a peer that never starts the
// handshake, a client without a certificate and a client that does not
// trust the server's CA are all closed without an answer, each counted as
// bad input; the good client on another connection is unaffected.
func TestTLSRefusals(t *testing.T) {
	pki := testpki.New(t)
	h := newTestHost(t, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii",
		TLS: &tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey, ClientCA: pki.CA, RequireClientCert: true}})
	stopped := false
	defer func() {
		if !stopped {
			h.stop()
		}
	}()
	addr := h.srv.Addrs()[0].String()
	echo := wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").Set(41, "T0000101").Set(42, "MALL00000000001").Set(70, "301")
	packed, _ := h.pk.Pack(echo)
	frame := h.framing.AppendFrame(nil, nil, packed)

	// answered reports whether nc answers the echo; any error or close
	// is "no".
	answered := func(nc net.Conn) bool {
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(harnessReplyWait))
		if _, err := nc.Write(frame); err != nil {
			return false
		}
		_, _, err := h.framing.ReadFrame(nc, nil)
		return err == nil
	}
	dialTLS := func(c tlsconf.Client) (net.Conn, error) {
		cfg, err := c.Config()
		if err != nil {
			t.Fatal(err)
		}
		return tls.DialWithDialer(&net.Dialer{Timeout: harnessReplyWait}, "tcp", addr, cfg)
	}

	plain, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if answered(plain) {
		t.Error("a plain TCP frame was answered on a TLS listener")
	}

	// Silence: the handshake is bounded by the read timeout.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	silent.SetReadDeadline(time.Now().Add(harnessReplyWait))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF && !isReset(err) {
		t.Errorf("a peer that never starts the handshake: %v, want the host to close", err)
	}
	silent.Close()

	if nc, err := dialTLS(tlsconf.Client{CA: pki.CA, ServerName: pki.ServerName}); err == nil && answered(nc) {
		t.Error("a client without a certificate was answered")
	}
	if nc, err := dialTLS(tlsconf.Client{CA: pki.OtherCA, Cert: pki.ClientCert, Key: pki.ClientKey, ServerName: pki.ServerName}); err == nil {
		nc.Close()
		t.Error("a client verified the host against a CA that did not sign it")
	}
	nc, err := dialTLS(tlsconf.Client{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey, ServerName: pki.ServerName})
	if err != nil {
		t.Fatalf("a client with a certificate: %v", err)
	}
	if !answered(nc) {
		t.Fatal("a client with a certificate was not answered")
	}

	// Shutdown waits for every connection, so every close is counted.
	h.stop()
	stopped = true
	if got := h.srv.cfg.Guard.Counts()[EventBadInput].Seen; got != 4 {
		t.Fatalf("%d connections counted as bad input, want 4 (plain, silent, no certificate, untrusted CA)", got)
	}
}

// A TLS block that cannot be loaded is refused by New with the listener
// and the key named.
func TestTLSConfigErrors(t *testing.T) {
	pki := testpki.New(t)
	_, err := New(Config{Listeners: []ListenerConfig{
		{Addr: "127.0.0.1:0"},
		{Addr: "127.0.0.1:0", TLS: &tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey, RequireClientCert: true}},
	}}, nil)
	if err == nil || !strings.Contains(err.Error(), "listeners[1].tls.require_client_cert") {
		t.Fatalf("got %v", err)
	}
	_, err = New(Config{Listeners: []ListenerConfig{{Addr: "127.0.0.1:0", TLS: &tlsconf.Server{Cert: pki.ServerCert}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "listeners[0].tls.cert and key") {
		t.Fatalf("got %v", err)
	}
}
