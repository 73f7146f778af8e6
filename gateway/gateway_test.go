package gateway

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
	"github.com/cardcenter/cardcenter/ledger"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTestHost(t *testing.T, lc ListenerConfig) *host {
	t.Helper()
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	h := startHost(t, t.TempDir(), clk, lc, hostOptions{})
	provisionFixture(t, h.store)
	return h
}

func purchase(tid, stan string, amount int) *wire.Message {
	fc, _ := cardByName("alice")
	return wire.NewMessage("0200").Set(3, "000000").Set(4, fmt.Sprintf("%012d", amount)).
		Set(7, "1123100000").Set(11, stan).Set(22, "021").Set(25, "00").
		Set(35, fc.pan+"="+fc.expiry+"1010000").Set(41, tid).Set(42, terminalMID(tid)).
		Set(49, "156").Set(60, "000001")
}

func signOn(t testing.TB, h *host, c *termConn, tid string) {
	t.Helper()
	m := wire.NewMessage("0800").Set(7, "1123100000").Set(11, "999999").Set(41, tid).Set(42, terminalMID(tid)).Set(70, "001")
	packed, _ := h.pk.Pack(m)
	raw, closed, err := c.roundTrip(c.frame(packed))
	if err != nil || closed {
		t.Fatalf("sign-on: %v closed=%v", err, closed)
	}
	if resp, _ := h.pk.Unpack(raw); resp.Fields[39] != "00" {
		t.Fatalf("sign-on: rc %s", resp.Fields[39])
	}
}

// Many requests in flight on one connection: all are answered, each to
// its own STAN, and the ledger applied each once.
func TestPipelinedConnection(t *testing.T) {
	h := newTestHost(t, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"})
	defer h.stop()
	c := h.dial()
	defer c.close()
	signOn(t, h, c, "T0000101")
	const n = 200 // more than DefaultMaxInFlight: the reader waits for slots
	go func() {
		for i := 1; i <= n; i++ {
			packed, _ := h.pk.Pack(purchase("T0000101", fmt.Sprintf("%06d", i), 1))
			c.nc.Write(c.frame(packed))
		}
	}()
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		raw, closed, err := c.read()
		if err != nil || closed {
			t.Fatalf("response %d: %v closed=%v", i, err, closed)
		}
		resp, err := h.pk.Unpack(raw)
		if err != nil || resp.Fields[39] != "00" {
			t.Fatalf("response %d: %v rc=%s", i, err, resp.Fields[39])
		}
		if seen[resp.Fields[11]] {
			t.Fatalf("stan %s answered twice", resp.Fields[11])
		}
		seen[resp.Fields[11]] = true
	}
	fc, _ := cardByName("alice")
	b, _ := h.store.CardBalances(fc.pan)
	if b.Ledger != 100000-n {
		t.Fatalf("balance %d after %d purchases of 1 fen", b.Ledger, n)
	}
}

// Shutdown answers every request already read before it closes.
func TestShutdownDrainsInFlight(t *testing.T) {
	h := newTestHost(t, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "bcd"})
	c := h.dial()
	defer c.close()
	signOn(t, h, c, "T0000101")
	const n = 30
	var frames []byte
	for i := 1; i <= n; i++ {
		packed, _ := h.pk.Pack(purchase("T0000101", fmt.Sprintf("%06d", i), 1))
		frames = append(frames, c.frame(packed)...)
	}
	if _, err := c.nc.Write(frames); err != nil {
		t.Fatal(err)
	}
	// Wait until the first answer arrives, so that the host is busy with
	// the rest, then shut down while they are in flight.
	if _, closed, err := c.read(); err != nil || closed {
		t.Fatalf("first answer: %v %v", err, closed)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.stop() }()
	answered := 1
	for {
		_, closed, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if closed {
			break
		}
		answered++
	}
	wg.Wait()
	// Everything answered is applied; everything applied was answered.
	st, err := ledger.Open(h.dir, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	applied := 0
	st.ScanJournal(context.Background(), func(tx *ledger.Txn) error {
		if tx.Kind == ledger.KindPurchase {
			applied++
		}
		return nil
	})
	if applied != answered {
		t.Fatalf("%d purchases answered, %d applied", answered, applied)
	}
}

// Connections over the limit are closed at once; the others work.
func TestMaxConnections(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	st, err := ledger.Open(filepath.Join(dir, "l"), ledger.Options{Now: clk.Now, Sealer: harnessKEK})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	provisionFixture(t, st)
	srv, err := New(Config{Listeners: []ListenerConfig{{Addr: "127.0.0.1:0"}}, MaxConnections: 2}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	addr := srv.Addrs()[0].String()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	fr, _ := wire.ParseFraming("len2")
	pk, _ := wire.NewPackager("ascii")
	echo := func(c net.Conn) error {
		m := wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").Set(41, "T0000101").Set(42, "MALL00000000001").Set(70, "301")
		packed, _ := pk.Pack(m)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(fr.AppendFrame(nil, nil, packed)); err != nil {
			return err
		}
		_, _, err := fr.ReadFrame(c, nil)
		return err
	}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		err = echo(c)
		if i < 2 && err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i == 2 && err == nil {
			t.Fatal("third connection answered over a limit of 2")
		}
	}
}

// The validator never panics, and whatever it accepts is well-formed.
func FuzzToRequest(f *testing.F) {
	pk, _ := wire.NewPackager("ascii")
	for _, m := range []*wire.Message{
		purchase("T0000101", "000001", 100),
		wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").Set(41, "T0000101").Set(42, "MALL00000000001").Set(70, "001"),
		wire.NewMessage("0500").Set(3, "920000").Set(7, "1123100000").Set(11, "000002").Set(41, "T0000101").
			Set(42, "MALL00000000001").Set(48, "001000000001000000000000000000").Set(60, "000001"),
		purchase("T0000101", "000003", 100).Set(3, "020000").Set(90, "020000000111231000000000000000000000000000"),
	} {
		b, err := pk.Pack(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fuzzseed.Add(f, "FuzzToRequest")
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := pk.Unpack(raw)
		if err != nil {
			return
		}
		r, err := toRequest(m)
		if err != nil {
			return
		}
		if r.Fingerprint != fingerprintReference(r.MTI, m) {
			t.Fatal("fingerprint differs from the stored format's reference")
		}
		if r.Invalid == nil {
			if r.STAN == "" || r.Time == "" || len(r.TID) != 8 || len(r.MID) != 15 {
				t.Fatalf("accepted without identity: %+v", r)
			}
			if r.PAN != "" && !cardnum.Digits(r.PAN) {
				t.Fatal("accepted a PAN with non-digits")
			}
			if r.Amount < 0 {
				t.Fatal("negative amount")
			}
		}
		resp := buildResponse(m, ledger.Result{Err: r.Invalid})
		if _, err := pk.Pack(resp); err != nil {
			t.Fatalf("response to an accepted message does not pack: %v", err)
		}
	})
}

// One source address may hold at most MaxConnectionsPerSource
// connections: past it a connection is closed at once, while another
// address still gets in. The refusal is counted; once every connection
// has closed no slot is left held.
func TestMaxConnectionsPerSource(t *testing.T) {
	st, _ := openFixtureStore(t)
	srv, err := New(Config{Listeners: []ListenerConfig{{Addr: "127.0.0.1:0"}}, MaxConnections: 10, MaxConnectionsPerSource: 2}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Shutdown(context.Background())
		}
	}()
	addr := srv.Addrs()[0].String()
	fr, _ := wire.ParseFraming("len2")
	pk, _ := wire.NewPackager("ascii")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// echo dials from the loopback address from and reports whether the
	// host answers an echo on the new connection (kept open).
	echo := func(from string) bool {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		conns = append(conns, c)
		m := wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").Set(41, "T0000101").Set(42, "MALL00000000001").Set(70, "301")
		packed, _ := pk.Pack(m)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(fr.AppendFrame(nil, nil, packed)); err != nil {
			return false
		}
		_, _, err = fr.ReadFrame(c, nil)
		return err == nil
	}
	for i, tc := range []struct {
		from string
		want bool
	}{{"127.0.0.1", true}, {"127.0.0.1", true}, {"127.0.0.1", false}, {"127.0.0.2", true}, {"127.0.0.2", true}, {"127.0.0.2", false}} {
		if got := echo(tc.from); got != tc.want {
			t.Fatalf("connection %d from %s: answered=%v, want %v", i, tc.from, got, tc.want)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	srv.Shutdown(context.Background())
	stopped = true
	if got := srv.cfg.Guard.Counts()[EventRefused].Seen; got != 2 {
		t.Fatalf("%d refusals counted, want 2", got)
	}
	srv.mu.Lock()
	left := len(srv.perSource)
	srv.mu.Unlock()
	if left != 0 {
		t.Fatalf("per-source counts left after every connection closed: %v", srv.perSource)
	}
}
