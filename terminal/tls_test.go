package terminal

import (
	"context"
	"crypto/tls"
	"net"
	"testing"

	"github.com/cardcenter/cardcenter/internal/testpki"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
)

// A client with TLSDialer talks to a TLS host that requires a client
// certificate; without the right CA it does not get through at all.
func TestClientTLS(t *testing.T) {
	pki := testpki.New(t)
	srvCfg, err := tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey, ClientCA: pki.CA, RequireClientCert: true}.Config()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := startFakeHostOn(t, tls.NewListener(ln, srvCfg), mustFraming(t, "len2"), mustPackager(t, "ascii"),
		func(c *fakeConn, f frameIn) { c.answer(f, "00", nil) })

	good, err := tlsconf.Client{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey}.Config()
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, h, func(cfg *ClientConfig) { cfg.Dial = TLSDialer(h.addr(), good) })
	resp, err := c.Do(context.Background(), echoReq("T0000001", "000001"))
	if err != nil || resp.Fields[39] != "00" {
		t.Fatalf("over TLS: %v", err)
	}

	wrongCA, err := tlsconf.Client{CA: pki.OtherCA, Cert: pki.ClientCert, Key: pki.ClientKey}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := TLSDialer(h.addr(), wrongCA)(context.Background()); err == nil {
		conn.Close()
		t.Fatal("dialled a host whose certificate the CA did not sign")
	}
}
