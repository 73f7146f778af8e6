package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/gateway/wire/line"
	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// Serial terminals over real socat pty pairs: the host opens one end with
// tarm/serial through its serial listener, the test's terminal the other
// (a line.Link as a net.Conn, wrapped in faultPort to break the line on
// purpose). Timeouts are short so that retransmissions happen quickly.

const (
	serialTestACK   = 300 * time.Millisecond
	serialTestFrame = 500 * time.Millisecond
	serialWait      = 8 * time.Second // bound on every condition waited for
)

func serialListener(dev, framing string) ListenerConfig {
	return ListenerConfig{Kind: KindSerial, Framing: framing, Packager: "ascii",
		Serial: &SerialConfig{Device: dev, ACKTimeout: serialTestACK, FrameTimeout: serialTestFrame}}
}

// serialTerminal is the terminal end of a pair: its link, and the fault
// injector under it.
type serialTerminal struct {
	link  *line.Link
	fault *faultPort
}

// openSerialTerminal opens the terminal end at dev as a net.Conn.
func openSerialTerminal(t testing.TB, dev, framing string, st **serialTerminal) net.Conn {
	t.Helper()
	lf, err := wire.ParseLineFraming(framing)
	if err != nil {
		t.Fatal(err)
	}
	d, err := line.Open(dev, line.DefaultBaud)
	if err != nil {
		t.Fatal(err)
	}
	fp := &faultPort{Port: d, dev: d, readSinceSTX: -1}
	l := line.NewLink(fp, line.Config{Framing: lf, Device: dev, ACKTimeout: serialTestACK, FrameTimeout: serialTestFrame})
	if st != nil {
		*st = &serialTerminal{link: l, fault: fp}
	}
	return line.NewConn(l, dev)
}

// faultPort breaks a real port on request, once per request: it flips a
// byte of the next frame written (bad LRC at the host) or read (bad LRC
// here), swallows the next ACK written or read, or writes noise before
// the next frame.
type faultPort struct {
	line.Port
	dev *line.Device

	mu                        sync.Mutex
	corruptWrite, corruptRead bool
	dropACKWrite, dropACKRead bool
	noise                     []byte

	// readSinceSTX counts the bytes read since the STX of the frame
	// corruptRead is to break (-1 before it is seen): the pty hands a
	// frame over in chunks of any size, an ACK and the next frame's STX
	// in one read or a frame's first bytes alone, so the byte to flip is
	// found by counting, never by where a read begins.
	readSinceSTX int
}

func (f *faultPort) Alive() error { return f.dev.Alive() }

func (f *faultPort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(b) == 1 && b[0] == wire.ACK && f.dropACKWrite {
		f.dropACKWrite = false
		return 1, nil
	}
	if len(b) > 5 && b[0] == wire.STX {
		if f.noise != nil {
			if _, err := f.Port.Write(f.noise); err != nil {
				return 0, err
			}
			f.noise = nil
		}
		if f.corruptWrite {
			f.corruptWrite = false
			c := append([]byte(nil), b...)
			c[len(c)-1] ^= 0x5A // the LRC
			return f.Port.Write(c)
		}
	}
	return f.Port.Write(b)
}

func (f *faultPort) Read(b []byte) (int, error) {
	n, err := f.Port.Read(b)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n && f.corruptRead; i++ {
		switch {
		case f.readSinceSTX < 0:
			if b[i] == wire.STX {
				f.readSinceSTX = 0
			}
		case f.readSinceSTX == 2: // past STX and the two length bytes
			b[i] ^= 0x01 // the first message byte: length and ETX intact, LRC wrong
			f.corruptRead = false
		default:
			f.readSinceSTX++
		}
	}
	if f.dropACKRead {
		for i := 0; i < n; i++ {
			if b[i] == wire.ACK {
				f.dropACKRead = false
				copy(b[i:], b[i+1:n])
				n--
				break
			}
		}
	}
	return n, err
}

func (f *faultPort) set(fn func(f *faultPort)) {
	f.mu.Lock()
	fn(f)
	f.readSinceSTX = -1
	f.mu.Unlock()
}

// waitFor waits, with a deadline, until cond holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(serialWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", serialWait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serialHost starts a host serving one serial listener per pair, logging
// into a buffer the test reads.
func serialHost(t testing.TB, framing string, pairs ...*rig.PtyPair) (*host, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	st, err := ledger.Open(t.TempDir(), ledger.Options{Now: clk.Now, Sealer: harnessKEK})
	if err != nil {
		t.Fatal(err)
	}
	var lcs []ListenerConfig
	for _, p := range pairs {
		lcs = append(lcs, serialListener(p.Host, framing))
	}
	srv, err := New(Config{Listeners: lcs, Logger: zerolog.New(logs), Keys: st}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	lf, _ := wire.ParseLineFraming(framing)
	pk, _ := wire.NewPackager("ascii")
	h := &host{t: t, clock: clk, store: st, srv: srv, framing: lf.Stream(), pk: pk, lc: lcs[0]}
	provisionFixture(t, st)
	return h, logs
}

func (h *host) serialConn(dev, framing string, st **serialTerminal) *termConn {
	return &termConn{h: h, nc: openSerialTerminal(h.t, dev, framing, st), lastUsed: time.Now()}
}

func purchaseRC(t *testing.T, h *host, c *termConn, tid, stan string, amount int) string {
	t.Helper()
	packed, _ := h.pk.Pack(purchase(tid, stan, amount))
	raw, closed, err := c.roundTrip(c.frame(packed))
	if err != nil || closed {
		t.Fatalf("purchase %s: %v closed=%v", stan, err, closed)
	}
	resp, err := h.pk.Unpack(raw)
	if err != nil || resp.Fields[11] != stan {
		t.Fatalf("purchase %s: %v, answered stan %s", stan, err, resp.Fields[11])
	}
	return resp.Fields[39]
}

func aliceLedger(t *testing.T, h *host) ledger.Amount {
	fc, _ := cardByName("alice")
	b, err := h.store.CardBalances(fc.pan)
	if err != nil {
		t.Fatal(err)
	}
	return b.Ledger
}

// TestSerialLineFaults: a purchase over serial, then the same through
// each fault of the line; every purchase is decided exactly once.
func TestSerialLineFaults(t *testing.T) {
	for _, framing := range []string{"stx-bcd", "stx-binary+tpdu"} {
		t.Run(framing, func(t *testing.T) {
			pair := rig.NewPtyPair(t)
			h, logs := serialHost(t, framing, pair)
			defer h.stop()
			var term *serialTerminal
			c := h.serialConn(pair.POS, framing, &term)
			defer c.close()
			signOn(t, h, c, "T0000101")
			stan := 0
			buy := func(what string) {
				t.Helper()
				stan++
				if rc := purchaseRC(t, h, c, "T0000101", fmt.Sprintf("%06d", stan), 100); rc != "00" {
					t.Fatalf("%s: rc %s", what, rc)
				}
				if got, want := aliceLedger(t, h), ledger.Amount(100000-100*stan); got != want {
					t.Fatalf("%s: alice's ledger %d, want %d (each purchase once)", what, got, want)
				}
			}
			buy("plain purchase")

			term.fault.set(func(f *faultPort) { f.corruptWrite = true })
			buy("host NAKs a bad LRC")
			if s := term.link.Stats(); s.NAKsReceived != 1 || s.Retransmits != 1 {
				t.Fatalf("terminal NAKed by the host: %+v", s)
			}
			waitFor(t, "host logs the bad LRC", func() bool { return strings.Contains(logs.String(), line.EventBadLRC) })

			term.fault.set(func(f *faultPort) { f.corruptRead = true })
			buy("terminal NAKs the response")
			if s := term.link.Stats(); s.NAKsSent != 1 || s.BadLRCs != 1 {
				t.Fatalf("terminal's NAK: %+v", s)
			}
			waitFor(t, "host logs the NAK and sends again", func() bool { return strings.Contains(logs.String(), line.EventNAKReceived) })

			term.fault.set(func(f *faultPort) { f.dropACKWrite = true })
			buy("the terminal's ACK is lost")
			waitFor(t, "host resends, terminal drops the repeat", func() bool { return term.link.Stats().Duplicates == 1 })
			waitFor(t, "host logs the ACK timeout", func() bool { return strings.Contains(logs.String(), line.EventACKTimeout) })

			term.fault.set(func(f *faultPort) { f.dropACKRead = true })
			buy("the host's ACK is lost: the terminal repeats its request")
			if s := term.link.Stats(); s.Retransmits != 2 {
				t.Fatalf("terminal's retransmissions: %+v", s)
			}
			waitFor(t, "host answers the repeat with its answer", func() bool {
				return strings.Contains(logs.String(), `"answer_resent":true`) && term.link.Stats().Duplicates == 2
			})

			term.fault.set(func(f *faultPort) { f.noise = []byte("\xff\x00garbage\x03\x02\x99") })
			buy("noise before a frame")
			waitFor(t, "host logs noise", func() bool { return strings.Contains(logs.String(), line.EventGarbage) })

			// A cut frame that announces more than follows: the host waits
			// for its frame timeout, gives it up and finds the real one.
			cut := []byte{wire.STX, 0x09, 0x00, '0', '2'}
			if strings.Contains(framing, "binary") {
				cut = []byte{wire.STX, 0x03, 0x00, '0', '2'}
			}
			term.fault.set(func(f *faultPort) { f.noise = cut })
			buy("a frame cut mid-way")
			waitFor(t, "host logs the cut frame", func() bool { return strings.Contains(logs.String(), line.EventCutFrame) })

			for _, leak := range []string{"=2912", "6210000000000"} {
				if strings.Contains(logs.String(), leak) {
					t.Fatalf("the host's log holds card data")
				}
			}
		})
	}
}

// TestSerialDeviceVanishes: the socat pair is killed under a serving host
// and started again at the same paths; the host reopens the device and
// the terminal's next purchase is approved.
func TestSerialDeviceVanishes(t *testing.T) {
	pair := rig.NewPtyPair(t)
	h, logs := serialHost(t, "stx-bcd", pair)
	defer h.stop()
	c := h.serialConn(pair.POS, "stx-bcd", nil)
	signOn(t, h, c, "T0000101")
	if rc := purchaseRC(t, h, c, "T0000101", "000001", 100); rc != "00" {
		t.Fatalf("before: rc %s", rc)
	}
	pair.Kill()
	waitFor(t, "host sees the device vanish", func() bool { return strings.Contains(logs.String(), EventSerialVanished) })
	c.close()
	opened := func() bool { return strings.Count(logs.String(), "serial device opened") >= 2 }
	if opened() {
		t.Fatal("reopened before the device came back")
	}
	pair = rig.StartPtyPair(t, pair.Host, pair.POS)
	waitFor(t, "host reopens the device", opened)
	c = h.serialConn(pair.POS, "stx-bcd", nil)
	defer c.close()
	if rc := purchaseRC(t, h, c, "T0000101", "000002", 100); rc != "00" {
		t.Fatalf("after: rc %s", rc)
	}
	if got := aliceLedger(t, h); got != 100000-200 {
		t.Fatalf("alice's ledger %d, want %d", got, 100000-200)
	}
}

// TestSerialTwoTerminals: two devices on one host, each with its
// terminal, purchasing at the same time.
func TestSerialTwoTerminals(t *testing.T) {
	p1, p2 := rig.NewPtyPair(t), rig.NewPtyPair(t)
	h, _ := serialHost(t, "stx-bcd", p1, p2)
	defer h.stop()
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i, p := range []*rig.PtyPair{p1, p2} {
		tid := []string{"T0000101", "T0000102"}[i]
		c := h.serialConn(p.POS, "stx-bcd", nil)
		defer c.close()
		signOn(t, h, c, tid)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 1; k <= n; k++ {
				packed, _ := h.pk.Pack(purchase(tid, fmt.Sprintf("%06d", k), 10))
				raw, closed, err := c.roundTrip(c.frame(packed))
				if err != nil || closed {
					errs <- fmt.Sprintf("%s %d: %v closed=%v", tid, k, err, closed)
					return
				}
				if resp, _ := h.pk.Unpack(raw); resp == nil || resp.Fields[39] != "00" || resp.Fields[41] != tid {
					errs <- fmt.Sprintf("%s %d: bad answer", tid, k)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := aliceLedger(t, h); got != 100000-2*n*10 {
		t.Fatalf("alice's ledger %d, want %d", got, 100000-2*n*10)
	}
}

// ledgerOutcome is what a scenario left in the ledger: every fixture
// card's balances and the whole journal.
func ledgerOutcome(t testing.TB, h *host) string {
	var b strings.Builder
	for _, fc := range fixtureCards {
		bal, err := h.store.CardBalances(fc.pan)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %+v\n", fc.name, bal)
	}
	err := h.store.ScanJournal(context.Background(), func(x *ledger.Txn) error {
		raw, err := json.Marshal(x)
		b.Write(raw)
		b.WriteByte('\n')
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestSerialScenariosEqualTCP runs scenario files of the TCP suite over a
// serial line: each gets the same answers (the file's expectations) and
// leaves the same balances and journal as over TCP.
func TestSerialScenariosEqualTCP(t *testing.T) {
	for _, name := range []string{"02_purchase", "04_refund_load", "07_reversal"} {
		t.Run(name, func(t *testing.T) {
			path := "../testdata/scenarios/" + name + ".txt"
			var overTCP, overSerial string
			runScenario(t, path, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2+tpdu", Packager: "ascii"},
				hostOptions{inspect: func(h *host) { overTCP = ledgerOutcome(t, h) }})
			pair := rig.NewPtyPair(t)
			runScenario(t, path, serialListener(pair.Host, "stx-bcd+tpdu"), hostOptions{
				dial:    func(t testing.TB) net.Conn { return openSerialTerminal(t, pair.POS, "stx-bcd+tpdu", nil) },
				inspect: func(h *host) { overSerial = ledgerOutcome(t, h) },
			})
			if overTCP == "" || overTCP != overSerial {
				a, b := strings.Split(overTCP, "\n"), strings.Split(overSerial, "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Fatalf("ledger differs from TCP at line %d of %d/%d", i+1, len(a), len(b))
					}
				}
				t.Fatalf("ledger differs from TCP: %d lines vs %d", len(a), len(b))
			}
		})
	}
}
