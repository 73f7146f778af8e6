package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cockroachdb/datadriven"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// The scenario harness runs the files under testdata/scenarios over real
// TCP against a real on-disk Pebble store, once per packager × framing ×
// TPDU combination; every combination must produce the same expected
// output. The file format is described in testdata/scenarios/README.md.

var (
	harnessFramings = []string{"len2", "ascii4", "len2+tpdu", "ascii4+tpdu"}
	testTPDU        = []byte{0x60, 0x00, 0x01, 0x80, 0x00}
)

const (
	harnessReadTimeout = 500 * time.Millisecond
	harnessIdleTimeout = 3 * time.Second
	// harnessRedialAfter: a connection this long after its last request
	// may be near its idle timeout (which the host counts from when it
	// read that request); the harness dials afresh before sending.
	harnessRedialAfter = time.Second
	harnessReplyWait   = 10 * time.Second
)

// fixture is the registry every scenario starts from.
type fixtureCard struct {
	name, pan, expiry string
	state             ledger.CardState
	balance           ledger.Amount
	mutate            func(*ledger.Card)
}

func panFor(n int) string {
	body := fmt.Sprintf("621000%09d", n)
	return body + string(cardnum.LuhnDigit(body))
}

var fixtureCards = []fixtureCard{
	{"alice", panFor(1), "2912", ledger.CardActive, 100000, nil},
	{"bob", panFor(2), "2912", ledger.CardActive, 5000, nil},
	{"carol", panFor(3), "2912", ledger.CardActive, 0, nil},
	{"lost", panFor(4), "2912", ledger.CardLost, 1000, nil},
	{"stolen", panFor(5), "2912", ledger.CardStolen, 1000, nil},
	{"frozen", panFor(6), "2912", ledger.CardFrozen, 1000, nil},
	{"issued", panFor(7), "2912", ledger.CardIssued, 0, nil},
	{"closed", panFor(8), "2912", ledger.CardClosed, 0, nil},
	{"expired", panFor(9), "2401", ledger.CardActive, 1000, nil},
	{"black", panFor(10), "2912", ledger.CardActive, 1000, func(c *ledger.Card) { c.Blacklisted = true }},
	{"anon", panFor(11), "2912", ledger.CardActive, 90000, func(c *ledger.Card) { c.Member.Registered = false }},
	{"limited", panFor(12), "2912", ledger.CardActive, 50000, func(c *ledger.Card) {
		c.PerTxnLimit, c.DailyCountLimit = 10000, 2
	}},
	{"dave", panFor(13), "2912", ledger.CardActive, 20000, func(c *ledger.Card) { c.HomeMID = "MALL00000000002" }},
	{"other", "622000000000000" + string(cardnum.LuhnDigit("622000000000000")), "2912", ledger.CardActive, 1000, func(c *ledger.Card) {
		c.ProgramID, c.HomeMID = "p2", "OTHR00000000001"
	}},
	{"pinny", panFor(14), "2912", ledger.CardActive, 100000, nil},
	{"chippy", panFor(15), "2912", ledger.CardActive, 50000, nil},
}

var fixtureTerminals = []ledger.Terminal{
	{TID: "T0000101", MID: "MALL00000000001", Enabled: true},
	{TID: "T0000102", MID: "MALL00000000001", Enabled: true},
	{TID: "T0000201", MID: "MALL00000000002", Enabled: true},
	{TID: "T0000301", MID: "MALL00000000003", Enabled: true},
	{TID: "T0000999", MID: "MALL00000000001", Enabled: false},
	{TID: "T0000901", MID: "OTHR00000000001", Enabled: true},
	{TID: keyedTID, MID: "MALL00000000001", Enabled: true},
}

// openFixtureStore opens a store of its own for the test, on its clock
// (23 November 2026, 02:00 UTC) with the harness's key sealer, and
// provisions the fixture in it; it is closed when the test ends.
func openFixtureStore(tb testing.TB) (*ledger.Store, *testClock) {
	tb.Helper()
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	st, err := ledger.Open(filepath.Join(tb.TempDir(), "l"), ledger.Options{Now: clk.Now, Sealer: harnessKEK})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	provisionFixture(tb, st)
	return st, clk
}

func provisionFixture(t testing.TB, s *ledger.Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p1 := ledger.Program{ID: "p1", Name: "Mall coalition", Currency: "156", PointCost: 1, RedemptionValue: 1, InterchangeBP: 50, HoldDays: 7}
	provisionSecurity(must, s, &p1)
	must(s.PutProgram(ctx, p1))
	must(s.PutProgram(ctx, ledger.Program{ID: "p2", Name: "Other coalition", Currency: "156"}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "MALL00000000001", ProgramID: "p1", Name: "Dept store", Home: true, MDRBP: 60}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "MALL00000000002", ProgramID: "p1", Name: "Supermarket", Home: true, MDRBP: 40}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "MALL00000000003", ProgramID: "p1", Name: "Food court", MDRBP: 80}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "OTHR00000000001", ProgramID: "p2", Name: "Elsewhere", Home: true}))
	for _, term := range fixtureTerminals {
		provisionKeyedTerminal(must, s, &term)
		must(s.PutTerminal(ctx, term))
	}
	for _, fc := range fixtureCards {
		c := ledger.Card{PAN: fc.pan, ProgramID: "p1", HomeMID: "MALL00000000001", Product: "magstripe",
			State: ledger.CardActive, Expiry: fc.expiry, ServiceCode: "101", Member: ledger.Member{Name: fc.name, Registered: true}}
		if fc.mutate != nil {
			fc.mutate(&c)
		}
		provisionCardSecurity(must, s, &c)
		must(s.PutCard(ctx, c))
		if fc.balance > 0 {
			if _, err := s.Adjust(ctx, fc.pan, fc.balance, "fixture"); err != nil {
				t.Fatal(err)
			}
		}
		if fc.state != ledger.CardActive {
			must(s.SetCardState(ctx, fc.pan, fc.state, ledger.Operator{Name: "harness", Reason: "scenario setup"}))
		}
	}
}

func cardByName(name string) (fixtureCard, bool) {
	for _, c := range append(fixtureCards[:len(fixtureCards):len(fixtureCards)], loyaltyCards...) {
		if c.name == name {
			return c, true
		}
	}
	return fixtureCard{}, false
}

// host is a running gateway + ledger on a temp dir.
type host struct {
	t       testing.TB
	dir     string
	clock   *testClock
	store   *ledger.Store
	srv     *Server
	framing wire.Framing
	pk      wire.Packager
	lc      ListenerConfig
	opts    hostOptions
}

type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

// hostOptions vary how a scenario host runs; the zero value is the
// default: the harness's KEK, no log, plain TCP.
type hostOptions struct {
	kek       keys.KEK       // the host master key (default harnessKEK)
	log       zerolog.Logger // the host's log (default: none)
	clientTLS *tls.Config    // how terminals dial a TLS listener
	// exchanged sees every request and answer the scenario sends and
	// gets (the leak test collects the card data in them).
	exchanged func(req, resp *wire.Message)
	// dial, when set, opens the terminal's connection (a serial line,
	// serial_test.go) instead of dialling the listener's address.
	dial func(t testing.TB) net.Conn
	// inspect, when set, sees the host after the scenario, before it stops.
	inspect func(h *host)
	// rawWrite, when set, is the writer's non-blocking write
	// (answer_test.go).
	rawWrite func(fd int, b []byte) (int, error)
	// fs, when set, is the ledger's file system (diskfault_test.go).
	fs vfs.FS
	// observer, when set, is the gateway's Config.Observer (observe_test.go).
	observer Observer
}

func startHost(t testing.TB, dir string, clk *testClock, lc ListenerConfig, opts hostOptions) *host {
	t.Helper()
	if opts.kek == nil {
		opts.kek = harnessKEK
	}
	st, err := ledger.Open(dir, ledger.Options{Now: clk.Now, Sealer: opts.kek, Logger: opts.log, FS: opts.fs})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Listeners:   []ListenerConfig{lc},
		ReadTimeout: harnessReadTimeout, IdleTimeout: harnessIdleTimeout,
		Logger: opts.log, Keys: st, Observer: opts.observer,
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	if opts.rawWrite != nil {
		srv.rawWrite = opts.rawWrite
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	fr, _ := wire.ParseFraming(lc.Framing)
	if lc.Kind == KindSerial {
		lf, _ := wire.ParseLineFraming(lc.Framing)
		fr = lf.Stream()
	}
	pk, _ := wire.NewPackager(lc.Packager)
	return &host{t: t, dir: dir, clock: clk, store: st, srv: srv, framing: fr, pk: pk, lc: lc, opts: opts}
}

func (h *host) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	if err := h.store.Close(); err != nil {
		h.t.Errorf("close store: %v", err)
	}
}

// termConn is the harness's own minimal terminal connection: one request
// at a time, exact bytes.
type termConn struct {
	h        *host
	nc       net.Conn
	lastUsed time.Time
}

func (h *host) dial() *termConn {
	var nc net.Conn
	var err error
	if h.opts.dial != nil {
		return &termConn{h: h, nc: h.opts.dial(h.t), lastUsed: time.Now()}
	}
	if h.opts.clientTLS != nil {
		d := &tls.Dialer{Config: h.opts.clientTLS}
		ctx, cancel := context.WithTimeout(context.Background(), harnessReplyWait)
		nc, err = d.DialContext(ctx, "tcp", h.srv.Addrs()[0].String()) // handshake included
		cancel()
	} else {
		nc, err = net.Dial("tcp", h.srv.Addrs()[0].String())
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return &termConn{h: h, nc: nc, lastUsed: time.Now()}
}

func (c *termConn) close() { c.nc.Close() }

func (c *termConn) frame(msg []byte) []byte {
	var tpdu []byte
	if c.h.framing.TPDU {
		tpdu = testTPDU
	}
	return c.h.framing.AppendFrame(nil, tpdu, msg)
}

// roundTrip writes frame bytes and reads one response frame; nil when the
// host closed the connection without answering.
func (c *termConn) roundTrip(frame []byte) (raw []byte, closed bool, err error) {
	c.lastUsed = time.Now()
	c.nc.SetDeadline(time.Now().Add(harnessReplyWait))
	if _, err := c.nc.Write(frame); err != nil {
		return nil, true, nil
	}
	return c.read()
}

func (c *termConn) read() (raw []byte, closed bool, err error) {
	c.nc.SetDeadline(time.Now().Add(harnessReplyWait))
	tpdu, msg, err := c.h.framing.ReadFrame(c.nc, nil)
	if err == io.EOF || err == io.ErrUnexpectedEOF || isReset(err) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	if c.h.framing.TPDU && !bytes.Equal(tpdu, wire.SwapTPDU(testTPDU)) {
		return nil, false, fmt.Errorf("response TPDU % x, want source and destination swapped", tpdu)
	}
	return append([]byte(nil), msg...), false, nil
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// sent remembers a request and its answer by STAN, for orig= and rrn=.
type sent struct {
	req  *wire.Message
	resp *wire.Message
	raw  []byte
}

type scenario struct {
	t     *testing.T
	h     *host
	conn  *termConn
	tid   string
	mid   string
	stan  int
	f7    string
	sent  map[string]*sent  // by tid/stan
	label map[string]string // as=NAME → tid/stan
	combo string

	// Section 7: working keys by TID, the highest ATC sent by PAN, the
	// current line's security words, the current chip request.
	keys    map[string]*termKeys
	atc     map[string]uint16
	secArgs map[string]string
	chip    *chipSent
}

func terminalMID(tid string) string {
	for _, term := range append(fixtureTerminals[:len(fixtureTerminals):len(fixtureTerminals)], loyaltyTerminals...) {
		if term.TID == tid {
			return term.MID
		}
	}
	return "UNKNOWNMID00000"
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	loyaltyFiles, err := filepath.Glob("../testdata/scenarios/loyalty/*.txt")
	if err != nil || len(loyaltyFiles) == 0 {
		t.Fatalf("no loyalty scenario files: %v", err)
	}
	for _, path := range append(files, loyaltyFiles...) {
		base := filepath.Base(path)
		loyal := filepath.Base(filepath.Dir(path)) == "loyalty"
		if loyal {
			base = "loyalty/" + base
		}
		for i, pkName := range wire.Packagers {
			for j, fr := range harnessFramings {
				// The loyalty files test rules, not the wire: each runs
				// on a share of the packager × framing combinations
				// (every len(loyaltyFiles)-th), so that together they
				// cross every codec and `make test` stays fast.
				if loyal && (i*len(harnessFramings)+j)%len(loyaltyFiles) != slicesIndex(loyaltyFiles, path)%len(loyaltyFiles) {
					continue
				}
				if strings.Contains(base, "_ascii4") && !strings.HasPrefix(fr, "ascii4") {
					continue
				}
				if strings.Contains(base, "_tpdu") && !strings.HasSuffix(fr, "+tpdu") {
					continue
				}
				combo := pkName + "/" + fr
				t.Run(strings.TrimSuffix(base, ".txt")+"/"+combo, func(t *testing.T) {
					t.Parallel() // independent stores and ports; mostly fsync waits
					runScenario(t, path, ListenerConfig{Addr: "127.0.0.1:0", Framing: fr, Packager: pkName}, hostOptions{})
				})
			}
		}
	}
}

// runScenario runs one file against a fresh host listening as lc.
func runScenario(t *testing.T, path string, lc ListenerConfig, opts hostOptions) {
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	h := startHost(t, dir, clk, lc, opts)
	provisionFixture(t, h.store)
	if filepath.Base(filepath.Dir(path)) == "loyalty" {
		provisionLoyalty(t, h.store)
	}
	sc := &scenario{t: t, h: h, tid: "T0000101", mid: "MALL00000000001", f7: "1123100000",
		sent: map[string]*sent{}, label: map[string]string{}, combo: lc.Packager + "/" + lc.Framing,
		keys: map[string]*termKeys{}, atc: map[string]uint16{}}
	sc.conn = h.dial()
	defer func() {
		if opts.inspect != nil {
			opts.inspect(sc.h)
		}
		sc.conn.close()
		sc.h.stop()
	}()
	datadriven.RunTest(t, path, sc.run)
}

func (sc *scenario) run(t *testing.T, d *datadriven.TestData) string {
	if out, ok := sc.secCommand(d); ok {
		return out
	}
	if out, ok := sc.tierCommand(d); ok {
		return out
	}
	switch d.Cmd {
	case "terminal":
		sc.tid = d.CmdArgs[0].Key
		sc.mid = terminalMID(sc.tid)
		return ""
	case "send":
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			out = append(out, sc.send(line))
		}
		return strings.Join(out, "\n") + "\n"
	case "resend":
		return sc.resend(d)
	case "balance":
		var out []string
		for _, a := range d.CmdArgs {
			fc, ok := cardByName(a.Key)
			if !ok {
				t.Fatalf("%s: unknown card %q", d.Pos, a.Key)
			}
			b, err := sc.h.store.CardBalances(fc.pan)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s: ledger=%s available=%s points=%d", a.Key, b.Ledger, b.Available, b.Points))
		}
		return strings.Join(out, "\n") + "\n"
	case "check":
		rep, err := sc.h.store.Check(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			return "inconsistent:\n" + strings.Join(rep.Problems, "\n") + "\n"
		}
		return fmt.Sprintf("consistent: money %d/%d points %d/%d\n", rep.Money.Sum, rep.Money.Pending, rep.Points.Sum, rep.Points.Pending)
	case "clock":
		dur, err := parseDuration(d.CmdArgs[0].Key)
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		sc.h.clock.now = sc.h.clock.now.Add(dur)
		return ""
	case "field7":
		sc.f7 = d.CmdArgs[0].Key
		return ""
	case "card-state":
		fc, _ := cardByName(d.CmdArgs[0].Key)
		st, err := ledger.ParseCardState(d.CmdArgs[1].Key)
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.h.store.SetCardState(context.Background(), fc.pan, st, ledger.Operator{Name: "harness", Reason: "scenario step"}); err != nil {
			t.Fatal(err)
		}
		return ""
	case "ledger-close":
		// The ledger goes away under a running gateway: every request
		// is answered 96 and nothing is applied.
		if err := sc.h.store.Close(); err != nil {
			t.Fatal(err)
		}
		return ""
	case "restart":
		sc.conn.close()
		sc.h.stop()
		sc.h = startHost(t, sc.h.dir, sc.h.clock, sc.h.lc, sc.h.opts)
		sc.conn = sc.h.dial()
		return ""
	case "fault":
		return sc.fault(d.CmdArgs[0].Key)
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return ""
}

func parseDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, "+"), "d"))
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(strings.TrimPrefix(s, "+"))
}

// buildRequest turns one scenario line into a message: the MTI, then
// field=value pairs, with helpers:
//
//	amount=25.00   field 4 from yuan
//	card=NAME      field 35 (track 2) of a fixture card
//	card2=NAME     fields 2 and 14 of a fixture card (manual entry 012)
//	as=NAME        label this request for orig= and rrn=
//	orig=NAME      field 90 naming an earlier request (by label, or by
//	               STAN at this terminal); an unknown NAME of 6 digits
//	               names a 0200 with that STAN that was never sent
//	rrn=NAME       field 37 = the RRN the host gave that earlier request
//	batch=N        field 60 as 6 digits
//	-N             leave out field N (also a default)
//
// Fields 7, 11, 41 and 42 default to the scenario's field 7, the next STAN
// and the current terminal; 0100/0200/0220/04xx/0320 get 22=021 (012 with
// card2), 25=00; 0200/0220/04xx get 49=156; all but 0100 and 0800 get
// 60=000001.
func (sc *scenario) buildRequest(line string) *wire.Message {
	t := sc.t
	words := strings.Fields(line)
	mti := words[0]
	m := wire.NewMessage(mti)
	sc.secArgs, sc.chip = map[string]string{}, nil
	sc.stan++
	m.Set(7, sc.f7).Set(11, fmt.Sprintf("%06d", sc.stan)).Set(41, sc.tid).Set(42, sc.mid)
	first := repeatOf(mti)
	financial := first == "0100" || first == "0200" || first == "0220" || first == "0400" || first == "0420" || first == "0320"
	if financial {
		m.Set(22, "021").Set(25, "00")
	}
	if first == "0200" || first == "0220" || first == "0400" || first == "0420" {
		m.Set(49, "156")
	}
	if first != "0100" && first != "0800" && (financial || first == "0500") {
		m.Set(60, "000001")
	}
	var drop []int
	var labels []string
	for _, w := range words[1:] {
		if strings.HasPrefix(w, "-") {
			n, err := strconv.Atoi(w[1:])
			if err != nil {
				t.Fatalf("bad field removal %q", w)
			}
			drop = append(drop, n)
			continue
		}
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			t.Fatalf("bad word %q in %q", w, line)
		}
		if sc.secWord(m, k, v) {
			continue
		}
		switch k {
		case "amount":
			a, err := ledger.ParseAmount(v)
			if err != nil {
				t.Fatal(err)
			}
			m.Set(4, fmt.Sprintf("%012d", int64(a)))
		case "card", "card2":
			fc, ok := cardByName(v)
			if !ok {
				// An unregistered card: a Luhn-valid PAN of its own.
				body := "6210009999999" + fmt.Sprintf("%02d", len(v))
				fc = fixtureCard{pan: body + string(cardnum.LuhnDigit(body)), expiry: "2912"}
				if v == "badluhn" {
					fc.pan = panFor(1)[:15] + string('0'+(panFor(1)[15]-'0'+1)%10)
				}
			}
			if k == "card" {
				m.Set(35, fc.pan+"="+fc.expiry+"101"+"0000")
			} else {
				m.Set(2, fc.pan).Set(14, fc.expiry).Set(22, "012")
			}
		case "as":
			labels = append(labels, v)
		case "orig":
			o := sc.ref(v)
			if o == nil {
				m.Set(90, "0200"+v+sc.f7+strings.Repeat("0", 22))
			} else {
				m.Set(90, repeatOf(o.req.MTI)+o.req.Fields[11]+o.req.Fields[7]+strings.Repeat("0", 22))
			}
		case "rrn":
			o := sc.ref(v)
			if o == nil || o.resp == nil {
				t.Fatalf("rrn=%s: no response to that STAN", v)
			}
			m.Set(37, o.resp.Fields[37])
		case "batch":
			n, _ := strconv.Atoi(v)
			m.Set(60, fmt.Sprintf("%06d", n))
		default:
			n, err := strconv.Atoi(k)
			if err != nil {
				t.Fatalf("bad field %q in %q", k, line)
			}
			if n == 11 {
				// An explicit STAN: the automatic ones continue after
				// the highest used.
				sc.stan--
				if v, err := strconv.Atoi(v); err == nil && v > sc.stan {
					sc.stan = v
				}
			}
			if strings.HasPrefix(v, "hex:") {
				b, err := hex.DecodeString(v[4:])
				if err != nil {
					t.Fatal(err)
				}
				v = string(b)
			}
			m.Set(n, v)
		}
	}
	sc.applySecurity(m)
	for _, n := range drop {
		delete(m.Fields, n)
	}
	for _, l := range labels {
		sc.label[l] = m.Fields[41] + "/" + m.Fields[11]
	}
	return m
}

// ref finds an earlier request by label, or by STAN at this terminal.
func (sc *scenario) ref(v string) *sent {
	if k, ok := sc.label[v]; ok {
		return sc.sent[k]
	}
	return sc.sent[sc.tid+"/"+v]
}

func (sc *scenario) send(line string) string {
	req := sc.buildRequest(line)
	return sc.exchange(req)
}

func (sc *scenario) exchange(req *wire.Message) string {
	t := sc.t
	packed := sc.packRequest(req)
	if time.Since(sc.conn.lastUsed) > harnessRedialAfter {
		sc.conn.close()
		sc.conn = sc.h.dial()
	}
	raw, closed, err := sc.conn.roundTrip(sc.conn.frame(packed))
	if err != nil {
		t.Fatalf("%s: %v", req.MTI, err)
	}
	if closed {
		sc.conn = sc.h.dial()
		return "closed without an answer"
	}
	resp, err := sc.h.pk.Unpack(raw)
	if err != nil {
		t.Fatalf("unpack response: %v", err)
	}
	if f := sc.h.opts.exchanged; f != nil {
		f(req, resp)
	}
	key := req.Fields[41] + "/" + req.Fields[11]
	if prev := sc.sent[key]; prev == nil || prev.resp == nil || resp.Fields[39] != "94" {
		sc.sent[key] = &sent{req: req, resp: resp, raw: raw}
	}
	return sc.describe(req, resp, raw)
}

// describe prints a response: its MTI, then 39, 37, 38, the 54 entries,
// any other field the host added, and which request fields it echoed
// (the harness checks each echoed value equals the request's).
func (sc *scenario) describe(req, resp *wire.Message, raw []byte) string {
	secParts, secDone := sc.describeSecurity(req, resp, raw)
	var b strings.Builder
	fmt.Fprintf(&b, "%s rc=%s", resp.MTI, resp.Fields[39])
	if v, ok := resp.Fields[37]; ok {
		fmt.Fprintf(&b, " rrn=%s", v)
	}
	if v, ok := resp.Fields[38]; ok {
		fmt.Fprintf(&b, " auth=%s", v)
	}
	var echoed, extra []string
	nums := make([]int, 0, len(resp.Fields))
	for n := range resp.Fields {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		v := resp.Fields[n]
		if secDone[n] {
			continue
		}
		switch n {
		case 37, 38, 39:
		case 54:
			var parts []string
			for i := 0; i+20 <= len(v); i += 20 {
				parts = append(parts, v[i:i+20])
			}
			extra = append(extra, "54="+strings.Join(parts, " "))
		default:
			if rv, ok := req.Fields[n]; ok && rv == v {
				echoed = append(echoed, strconv.Itoa(n))
			} else {
				extra = append(extra, fmt.Sprintf("%d=%q", n, v))
			}
		}
	}
	extra = append(extra, secParts...)
	if len(extra) > 0 {
		fmt.Fprintf(&b, " %s", strings.Join(extra, " "))
	}
	fmt.Fprintf(&b, " echo=%s", strings.Join(echoed, ","))
	return b.String()
}

// resend retransmits the request sent with a STAN, optionally under a
// repeat MTI, and reports whether the answer is byte-equal to the first.
func (sc *scenario) resend(d *datadriven.TestData) string {
	var stan, mti string
	d.ScanArgs(sc.t, "stan", &stan)
	if d.HasArg("mti") {
		d.ScanArgs(sc.t, "mti", &mti)
	}
	prev := sc.ref(stan)
	if prev == nil {
		sc.t.Fatalf("%s: nothing sent with stan %s", d.Pos, stan)
	}
	req := prev.req.Clone()
	if mti != "" {
		req.MTI = mti
	}
	firstRaw := prev.raw
	out := sc.exchange(req)
	now := sc.ref(stan)
	if bytes.Equal(now.raw, firstRaw) {
		return out + "\nbyte-equal to the first answer\n"
	}
	return out + "\n"
}

func init() {
	// Scenario files must not depend on the machine's time zone.
	os.Setenv("TZ", "UTC")
}
