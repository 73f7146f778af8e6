package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/internal/testpki"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// testHostConfig is a configuration on ephemeral loopback ports.
func testHostConfig(t testing.TB, dataDir string) *Config {
	t.Helper()
	c, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	c.DataDir = dataDir
	c.Admin.Addr = "127.0.0.1:0"
	c.Gateway.Listeners = []gateway.ListenerConfig{{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"}}
	return c
}

// A data directory left readable by others (as an older version, or a
// loose umask, made it) is tightened when the host starts, and the host
// says so; with the umask main sets, the files the store makes from then
// on are private too: the directories 0700, every file 0600.
func TestServeTightensDataDir(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer syscall.Umask(syscall.Umask(0o022))
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := ledger.Open(filepath.Join(dir, "ledger"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	privateUmask() // as main does first
	logs := &syncbuf.Buffer{}
	m := &Main{Config: testHostConfig(t, dir), Log: zerolog.New(logs)}
	err = m.Run(context.Background())
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "data directory was readable by others") {
		t.Errorf("no log line says the directory was tightened:\n%s", logs.String())
	}
	files := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("only %d files in the data directory", files)
	}
}

// The admin API on a non-loopback address without TLS is refused, naming
// the keys; with admin.tls it serves, and the admin CLI reaches it over
// https with --admin-ca. A TLS gateway listener with client certificates
// serves the POS simulator given --tls-ca/--tls-cert/--tls-key.
func TestServeTLS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pki := testpki.New(t)
	c := testHostConfig(t, t.TempDir())
	c.Admin.Addr = "0.0.0.0:0"
	m := &Main{Config: c, Log: zerolog.Nop()}
	err := m.Run(context.Background())
	m.Close()
	if err == nil || !strings.Contains(err.Error(), "config admin.addr 0.0.0.0:0: not a loopback address") ||
		!strings.Contains(err.Error(), "admin.tls.cert and admin.tls.key") {
		t.Fatalf("plain admin API on 0.0.0.0: %v", err)
	}

	c.Admin.TLS = &tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey}
	c.Gateway.Listeners[0].TLS = &tlsconf.Server{Cert: pki.ServerCert, Key: pki.ServerKey, ClientCA: pki.CA, RequireClientCert: true}
	m = &Main{Config: c, Log: zerolog.Nop(), DemoFile: adminTestDemo}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	_, port, _ := strings.Cut(m.adminLn.Addr().String(), "]:") // [::]:port
	if port == "" {
		port = m.adminLn.Addr().String()[strings.LastIndex(m.adminLn.Addr().String(), ":")+1:]
	}
	g := &globalFlags{DataDir: c.DataDir, AdminAddr: "https://127.0.0.1:" + port, AdminCA: pki.CA}
	out, err := adminRun(t, g, "check")
	if err != nil || !strings.Contains(out, ": OK") {
		t.Fatalf("admin CLI over TLS: %v\n%s", err, out)
	}

	p := posFlags{addr: m.Gateway.Addrs()[0].String(), framing: "len2", packager: "ascii", tid: "T0000101",
		cardsFile: adminTestDemo, stateDir: t.TempDir(),
		tls: tlsconf.Client{CA: pki.CA, Cert: pki.ClientCert, Key: pki.ClientKey}}
	o, err := p.options()
	if err != nil {
		t.Fatal(err)
	}
	var posOut bytes.Buffer
	r, closeRunner, err := o.newRunner(&posOut)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRunner()
	st, _, err := terminal.ParseStep("signon expect=00")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Exec(context.Background(), st); err != nil || len(r.Failures()) > 0 {
		t.Fatalf("POS over TLS: %v %v\n%s", err, r.Failures(), posOut.String())
	}
}
