package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/metrics"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The one Metrics serves both observers.
var (
	_ ledger.Observer  = (*metrics.Metrics)(nil)
	_ gateway.Observer = (*metrics.Metrics)(nil)
	_ metrics.Store    = (*ledger.Store)(nil)
)

// The contract's values are their own labels; anything else is "other",
// an absent field 3 "none".
func TestClosedLabelSets(t *testing.T) {
	for _, mti := range wire.RequestMTIs() {
		if got := metrics.MTILabel(mti); got != mti {
			t.Errorf("MTILabel(%q) = %q", mti, got)
		}
	}
	for _, pc := range wire.ProcessingCodes() {
		if got := metrics.ProcLabel(pc); got != pc {
			t.Errorf("ProcLabel(%q) = %q", pc, got)
		}
	}
	for _, rc := range wire.ResponseCodes() {
		if got := metrics.RCLabel(rc); got != rc {
			t.Errorf("RCLabel(%q) = %q", rc, got)
		}
	}
	cases := []struct{ fn, in, want string }{
		{"mti", "9999", "other"},
		{"mti", "0210", "other"}, // a response MTI is no request
		{"mti", "", "other"},
		{"mti", "0200\x00", "other"},
		{"mti", "020", "other"},
		{"proc", "", "none"},
		{"proc", "123456", "other"},
		{"proc", "00000", "other"},
		{"rc", "XX", "other"},
		{"rc", "", "other"},
	}
	for _, c := range cases {
		var got string
		switch c.fn {
		case "mti":
			got = metrics.MTILabel(c.in)
		case "proc":
			got = metrics.ProcLabel(c.in)
		case "rc":
			got = metrics.RCLabel(c.in)
		}
		if got != c.want {
			t.Errorf("%s label of %q = %q, want %q", c.fn, c.in, got, c.want)
		}
	}
}

// A terminal that sends thousands of made-up MTIs and processing codes
// creates one series, not thousands.
func TestHostileValuesDoNotGrowSeries(t *testing.T) {
	m := metrics.New()
	for i := 0; i < 5000; i++ {
		m.RequestDone(fmt.Sprintf("%04d", 1000+i), fmt.Sprintf("%06d", 100000+i), "12", time.Millisecond)
	}
	if n := testutil.CollectAndCount(m.Registry(), "cardcenter_requests_total"); n != 1 {
		t.Fatalf("%d series of cardcenter_requests_total, want 1", n)
	}
	if n := testutil.CollectAndCount(m.Registry(), "cardcenter_request_duration_seconds"); n != 1 {
		t.Fatalf("%d series of cardcenter_request_duration_seconds, want 1", n)
	}
	want := `
# HELP cardcenter_requests_total Requests answered, by request MTI, processing code (field 3) and response code (field 39); values outside the contract are 'other'.
# TYPE cardcenter_requests_total counter
cardcenter_requests_total{mti="other",proc="other",rc="12"} 5000
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "cardcenter_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// Each label set counts its own requests; commits and connections land
// in their series; the handler serves them in the text format.
func TestCountsAndExposition(t *testing.T) {
	m := metrics.New()
	m.RequestDone("0200", "000000", "00", 2*time.Millisecond)
	m.RequestDone("0200", "000000", "00", 3*time.Millisecond)
	m.RequestDone("0200", "000000", "51", time.Millisecond)
	m.RequestDone("0800", "", "00", 100*time.Microsecond)
	m.CommitDone(3, 4*time.Millisecond)
	m.AddListener("127.0.0.1:0", "tcp")
	m.AddListener("/dev/ttyS0", "serial")
	m.ConnOpened("127.0.0.1:0", "tcp")
	m.ConnOpened("127.0.0.1:0", "tcp")
	m.ConnClosed("127.0.0.1:0", "tcp")
	m.ConnRefused("127.0.0.1:0", "tcp")
	var lsmReads int
	m.WatchStore(fakeStore{depth: 7, capacity: 8192, lsm: ledger.LSM{Compacting: 1, CompactionDebt: 4096, ReadAmp: 3}, lsmReads: &lsmReads})

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if lsmReads != 1 {
		t.Errorf("one scrape read Pebble's LSM state %d times, want once", lsmReads)
	}
	for _, line := range []string{
		`cardcenter_requests_total{mti="0200",proc="000000",rc="00"} 2`,
		`cardcenter_requests_total{mti="0200",proc="000000",rc="51"} 1`,
		`cardcenter_requests_total{mti="0800",proc="none",rc="00"} 1`,
		`cardcenter_request_duration_seconds_count{mti="0200"} 3`,
		`cardcenter_request_duration_seconds_bucket{mti="0800",le="0.0001"} 1`,
		`cardcenter_ledger_commit_group_size_ops_sum 3`,
		`cardcenter_ledger_sync_duration_seconds_count 1`,
		`cardcenter_ledger_compactions_running 1`,
		`cardcenter_ledger_flushes_running 0`,
		`cardcenter_ledger_compaction_debt_bytes 4096`,
		`cardcenter_ledger_read_amplification 3`,
		`cardcenter_ledger_queue_depth_ops 7`,
		`cardcenter_ledger_queue_capacity_ops 8192`,
		`cardcenter_ledger_healthy 1`,
		`cardcenter_connections_open{kind="tcp",listener="127.0.0.1:0"} 1`,
		`cardcenter_connections_open{kind="serial",listener="/dev/ttyS0"} 0`,
		`cardcenter_connections_accepted_total{kind="tcp",listener="127.0.0.1:0"} 2`,
		`cardcenter_connections_refused_total{kind="tcp",listener="127.0.0.1:0"} 1`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

type fakeStore struct {
	depth, capacity int
	err             error
	lsm             ledger.LSM
	lsmReads        *int // counts LSM calls when set
}

func (f fakeStore) QueueDepth() int    { return f.depth }
func (f fakeStore) QueueCapacity() int { return f.capacity }
func (f fakeStore) Health() error      { return f.err }
func (f fakeStore) LSM() ledger.LSM {
	if f.lsmReads != nil {
		*f.lsmReads++
	}
	return f.lsm
}

// A failed store reads 0 on cardcenter_ledger_healthy.
func TestHealthyGauge(t *testing.T) {
	m := metrics.New()
	m.WatchStore(fakeStore{err: errors.New("failed")})
	want := `
# HELP cardcenter_ledger_healthy 1 while the ledger is open and no commit has failed; 0 once failed (every request answered 96 until a restart) or closed.
# TYPE cardcenter_ledger_healthy gauge
cardcenter_ledger_healthy 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "cardcenter_ledger_healthy"); err != nil {
		t.Fatal(err)
	}
}

// Two hosts in one process: each has its own registry, nothing global.
func TestIndependentRegistries(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.RequestDone("0200", "000000", "00", time.Millisecond)
	if n := testutil.CollectAndCount(b.Registry(), "cardcenter_requests_total"); n != 0 {
		t.Fatalf("the second Metrics sees %d series of the first", n)
	}
}

// The hot path allocates nothing once a series is in use.
func TestNoAllocationPerRequest(t *testing.T) {
	m := metrics.New()
	m.RequestDone("0200", "000000", "00", time.Millisecond)
	if a := testing.AllocsPerRun(1000, func() { m.RequestDone("0200", "000000", "00", time.Millisecond) }); a != 0 {
		t.Errorf("RequestDone: %v allocations per call", a)
	}
	if a := testing.AllocsPerRun(1000, func() { m.CommitDone(64, time.Millisecond) }); a != 0 {
		t.Errorf("CommitDone: %v allocations per call", a)
	}
}

func BenchmarkRequestDone(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.RequestDone("0200", "000000", "00", 1500*time.Microsecond)
		}
	})
}

func BenchmarkCommitDone(b *testing.B) {
	m := metrics.New()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.CommitDone(64, 3*time.Millisecond)
	}
}
