package main

import (
	"bufio"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// metrics_test.go: the host's /metrics after a real scenario, counted
// independently on the wire; /healthz and /readyz on a running host.

// The demo scenario runs through a tap (a TCP proxy that unpacks every
// request and answer it passes on) to a real host; then /metrics, scraped
// over HTTP with the admin token, holds cardcenter_requests_total equal,
// label set by label set, to what the tap saw, the latency histogram
// counts them by MTI, and the ledger's commit histograms are not empty.
func TestMetricsAfterScenario(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := testHostConfig(t, t.TempDir())
	m := &Main{Config: c, Log: zerolog.Nop(), DemoFile: adminTestDemo}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	lc := c.Gateway.Listeners[0]
	tp := startTap(t, m.Gateway.Addrs()[0].String(), lc.Framing, lc.Packager)

	file, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	err = runScenario(context.Background(), posOptions{
		addr: tp.addr(), framing: lc.Framing, packager: lc.Packager,
		stateDir: filepath.Join(c.DataDir, "pos"), terminals: enabledTerminals(file), cards: cardsOf(file),
		pin: cardholderPIN(file), prov: file, provName: adminTestDemo,
	}, "../../testdata/pos/demo.pos", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tp.close() // every connection through it has ended

	want := tp.counts()
	total := 0
	for _, n := range want {
		total += n
	}
	if total < 20 || len(want) < 5 {
		t.Fatalf("the scenario sent only %d requests in %d label sets: %v", total, len(want), want)
	}
	t.Logf("the tap saw %d requests: %v", total, want)
	token, err := admin.LoadOrCreateToken(c.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.adminLn.Addr().String()
	// The host counts a request once its answer is written, and forgets
	// a connection after its last answer: once no connection is open,
	// every answer the tap saw is counted.
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams = scrape(t, base, token)
		if gaugeSum(fams["cardcenter_connections_open"]) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	got := map[[3]string]int{}
	for _, mm := range fams["cardcenter_requests_total"].GetMetric() {
		got[[3]string{label(mm, "mti"), label(mm, "proc"), label(mm, "rc")}] = int(mm.GetCounter().GetValue())
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("cardcenter_requests_total{mti=%q,proc=%q,rc=%q} = %d, the scenario sent %d", k[0], k[1], k[2], got[k], n)
		}
	}
	for k, n := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("cardcenter_requests_total{mti=%q,proc=%q,rc=%q} = %d, the scenario sent none", k[0], k[1], k[2], n)
		}
	}
	byMTI := map[string]int{}
	for k, n := range want {
		byMTI[k[0]] += n
	}
	for _, mm := range fams["cardcenter_request_duration_seconds"].GetMetric() {
		mti := label(mm, "mti")
		if n := int(mm.GetHistogram().GetSampleCount()); n != byMTI[mti] {
			t.Errorf("cardcenter_request_duration_seconds{mti=%q} counts %d, the scenario sent %d", mti, n, byMTI[mti])
		}
		delete(byMTI, mti)
	}
	if len(byMTI) > 0 {
		t.Errorf("no latency histogram for %v", byMTI)
	}
	for _, name := range []string{"cardcenter_ledger_commit_group_size_ops", "cardcenter_ledger_sync_duration_seconds"} {
		if mf := fams[name]; mf == nil || mf.GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
			t.Errorf("%s: no commits observed", name)
		}
	}
	if n := counterSum(fams["cardcenter_connections_accepted_total"]); n < 1 {
		t.Errorf("cardcenter_connections_accepted_total %v", n)
	}
	for _, name := range []string{"cardcenter_ledger_queue_depth_ops", "cardcenter_ledger_healthy", "go_goroutines", "process_resident_memory_bytes"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if v := gaugeSum(fams["cardcenter_ledger_healthy"]); v != 1 {
		t.Errorf("cardcenter_ledger_healthy %v on a running host", v)
	}
}

// A running host is live and ready. While it drains (Close shuts the
// gateway down first, with the admin API still serving) it is live but
// not ready, and says why in a few words, so a load balancer stops
// sending terminals before the listeners close. (A failed or closed
// ledger answers 503 too: TestReadyz in package admin, with a real closed
// store, and ledger's TestHealth for the failed state, which a host
// cannot be put in without a failing disk.)
func TestHostHealthAndReadiness(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := testHostConfig(t, t.TempDir())
	m := &Main{Config: c, Log: zerolog.Nop()}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.adminLn.Addr().String()
	probe := func(path string, wantStatus int, wantBody string) {
		t.Helper()
		resp, err := http.Get(base + path) // no token: probes need none
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus || !strings.Contains(string(body), wantBody) {
			t.Errorf("GET %s: %d %s, want %d with %s", path, resp.StatusCode, body, wantStatus, wantBody)
		}
	}
	probe("/healthz", 200, `"ok"`)
	probe("/readyz", 200, `"ready"`)
	if err := m.Gateway.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	probe("/readyz", 503, `"reason": "gateway: shutting down"`)
	probe("/healthz", 200, `"ok"`)
}

// A host whose disk fails a sync is not ready while the ledger
// recovers (503, the reason and nothing of the cause), and ready again
// once the disk works, without a restart.
func TestHostNotReadyWhileTheDiskFails(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fault := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			return errorfs.ErrInjected
		}
		return nil
	})}
	c := testHostConfig(t, t.TempDir())
	m := &Main{Config: c, Log: zerolog.Nop(), DemoFile: adminTestDemo, LedgerFS: errorfs.Wrap(vfs.Default, fault)}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.adminLn.Addr().String()
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("before the fault: /readyz %d %s", code, body)
	}
	file, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	merchant := ledger.Merchant{MID: "MALL00000000099", ProgramID: file.Programs[0].ID, Name: "Fault Test"}
	fault.On()
	if err := m.Store.PutMerchant(context.Background(), merchant); err == nil {
		t.Fatal("a change committed while every sync fails")
	}
	if code, body := readyz(); code != 503 || !strings.Contains(body, "ledger failed") || strings.Contains(body, "injected") {
		t.Fatalf("while the disk fails: /readyz %d %s; want 503, ledger failed, no cause", code, body)
	}
	fault.Off()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Store.WaitHealthy(ctx); err != nil {
		t.Fatalf("the ledger did not recover: %v", err)
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("after the disk recovered: /readyz %d %s", code, body)
	}
	if err := m.Store.PutMerchant(context.Background(), merchant); err != nil {
		t.Fatalf("a change after the recovery: %v", err)
	}
}

func scrape(t *testing.T, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/plain") // the text format, not protobuf
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

func gaugeSum(mf *dto.MetricFamily) float64 {
	var s float64
	for _, m := range mf.GetMetric() {
		s += m.GetGauge().GetValue()
	}
	return s
}

func counterSum(mf *dto.MetricFamily) float64 {
	var s float64
	for _, m := range mf.GetMetric() {
		s += m.GetCounter().GetValue()
	}
	return s
}

// tap is a TCP proxy between the POS simulator and the host that unpacks
// every request and answer it forwards, byte for byte, and counts the
// requests by (MTI, field 3, field 39 of the answer): the test's own
// count of what the scenario sent and got. The simulator waits for each
// answer, so on a connection answers follow requests in order.
type tap struct {
	t      *testing.T
	ln     net.Listener
	target string
	fr     wire.Framing
	pk     wire.Packager
	wg     sync.WaitGroup

	mu    sync.Mutex
	count map[[3]string]int
}

func startTap(t *testing.T, target, framing, packager string) *tap {
	fr, err := wire.ParseFraming(framing)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := wire.NewPackager(packager)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{t: t, ln: ln, target: target, fr: fr, pk: pk, count: map[[3]string]int{}}
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			tp.wg.Add(1)
			go tp.pipe(nc)
		}
	}()
	return tp
}

func (tp *tap) addr() string { return tp.ln.Addr().String() }

// close stops accepting and waits for every connection to end; the
// simulator has closed its own by then.
func (tp *tap) close() {
	tp.ln.Close()
	tp.wg.Wait()
}

func (tp *tap) counts() map[[3]string]int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return maps.Clone(tp.count)
}

func (tp *tap) pipe(client net.Conn) {
	defer tp.wg.Done()
	defer client.Close()
	host, err := net.Dial("tcp", tp.target)
	if err != nil {
		tp.t.Errorf("tap: dial host: %v", err)
		return
	}
	defer host.Close()
	asked := make(chan [2]string, 64) // (MTI, field 3) of requests not yet answered
	go func() {
		defer host.(*net.TCPConn).CloseWrite() // the host answers what it read, then closes
		defer close(asked)
		br := bufio.NewReader(client)
		for {
			tpdu, raw, err := tp.fr.ReadFrame(br, nil)
			if err != nil {
				return
			}
			msg, err := tp.pk.Unpack(raw)
			if err != nil {
				tp.t.Errorf("tap: request: %v", err)
				return
			}
			asked <- [2]string{msg.MTI, msg.Fields[3]}
			if _, err := host.Write(tp.fr.AppendFrame(nil, tpdu, raw)); err != nil {
				return
			}
		}
	}()
	br := bufio.NewReader(host)
	for {
		tpdu, raw, err := tp.fr.ReadFrame(br, nil)
		if err != nil {
			for range asked { // unanswered: not counted, as the host does not
			}
			return
		}
		msg, err := tp.pk.Unpack(raw)
		if err != nil {
			tp.t.Errorf("tap: answer: %v", err)
			return
		}
		q, ok := <-asked
		if !ok {
			tp.t.Errorf("tap: an answer to no request")
			return
		}
		proc := q[1]
		if proc == "" {
			proc = "none" // the label of an absent field 3
		}
		tp.mu.Lock()
		tp.count[[3]string{q[0], proc, msg.Fields[39]}]++
		tp.mu.Unlock()
		if _, err := client.Write(tp.fr.AppendFrame(nil, tpdu, raw)); err != nil {
			return
		}
	}
}
