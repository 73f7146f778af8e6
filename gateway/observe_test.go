package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/metrics"
	"github.com/cardcenter/cardcenter/ledger"
)

// Every code the one response-code table can answer is a code of the
// contract, so the closed label set of the host's metrics holds them all.
func TestResponseCodesInContract(t *testing.T) {
	contract := wire.ResponseCodes()
	for _, rc := range append([]string{ResponseCode(nil)}, rcsOfTable()...) {
		if !slices.Contains(contract, rc) {
			t.Errorf("response code %s is not in wire.ResponseCodes", rc)
		}
	}
}

func rcsOfTable() []string {
	var out []string
	for _, e := range responseCodes {
		out = append(out, e.rc)
	}
	return out
}

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu       sync.Mutex
	requests []string // "mti proc rc"
	latency  []time.Duration
	open     map[ListenerInfo]int
	refused  map[ListenerInfo]int
}

func newRecorder() *recorder {
	return &recorder{open: map[ListenerInfo]int{}, refused: map[ListenerInfo]int{}}
}

func (r *recorder) RequestDone(mti, proc, rc string, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, mti+" "+proc+" "+rc)
	r.latency = append(r.latency, latency)
}
func (r *recorder) ConnOpened(l, k string) { r.add(r.open, l, k, 1) }
func (r *recorder) ConnClosed(l, k string) { r.add(r.open, l, k, -1) }
func (r *recorder) ConnRefused(l, k string) {
	r.add(r.refused, l, k, 1)
}
func (r *recorder) add(m map[ListenerInfo]int, l, k string, d int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m[ListenerInfo{l, k}] += d
}

// The observer is told of each answered request with the request's MTI
// and field 3 and the answer's field 39, and of each connection opened,
// closed and refused, under the listener's configured name and kind.
func TestObserverSeesRequestsAndConnections(t *testing.T) {
	rec := newRecorder()
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	lc := ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"}
	h := startHost(t, t.TempDir(), clk, lc, hostOptions{observer: rec})
	provisionFixture(t, h.store)
	defer h.stop()
	if got := h.srv.Listeners(); len(got) != 1 || got[0] != (ListenerInfo{"127.0.0.1:0", KindTCP}) {
		t.Fatalf("Listeners() = %v", got)
	}
	c := h.dial()
	signOn(t, h, c, "T0000101")
	for i, amount := range []int{100, 100_000_000} { // approved, then 51
		packed, _ := h.pk.Pack(purchase("T0000101", fmt.Sprintf("%06d", i+1), amount))
		if _, closed, err := c.roundTrip(c.frame(packed)); err != nil || closed {
			t.Fatalf("purchase: %v closed=%v", err, closed)
		}
	}
	c.close()
	li := ListenerInfo{"127.0.0.1:0", KindTCP}
	// The connection's close is seen by the host asynchronously: wait
	// for the gateway to have forgotten it (its own count), not a time.
	waitFor(t, "connection closed", func() bool {
		h.srv.mu.Lock()
		defer h.srv.mu.Unlock()
		return len(h.srv.conns) == 0
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{"0800  00", "0200 000000 00", "0200 000000 51"}
	if !slices.Equal(rec.requests, want) {
		t.Errorf("requests %q, want %q", rec.requests, want)
	}
	for i, d := range rec.latency {
		if d <= 0 {
			t.Errorf("request %d: latency %v", i, d)
		}
	}
	if rec.open[li] != 0 {
		t.Errorf("open connections %d after the close", rec.open[li])
	}
}

// A connection over MaxConnections is reported refused.
func TestObserverSeesRefusals(t *testing.T) {
	rec := newRecorder()
	st, err := ledger.Open(t.TempDir(), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Listeners: []ListenerConfig{{Addr: "127.0.0.1:0"}}, MaxConnections: 1, Observer: rec}, st)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Ready(); !errors.Is(err, ErrNotStarted) {
		t.Errorf("Ready before Start: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ready(); err != nil {
		t.Errorf("Ready after Start: %v", err)
	}
	first, err := net.Dial("tcp", srv.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	li := ListenerInfo{"127.0.0.1:0", KindTCP}
	waitFor(t, "first connection open", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.open[li] == 1 })
	second, err := net.Dial("tcp", srv.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	waitFor(t, "second connection refused", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.refused[li] == 1 })
	srv.Shutdown(context.Background())
	if err := srv.Ready(); !errors.Is(err, ErrShuttingDown) {
		t.Errorf("Ready after Shutdown: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.open[li] != 0 {
		t.Errorf("open connections %d after Shutdown", rec.open[li])
	}
}

// BenchmarkPipelinedPurchase: purchases over one TCP connection, 64 in
// flight, through the gateway and a durable ledger, without an observer
// and with the host's Prometheus metrics: the metrics' cost on the hot
// path.
//
//	go test -run '^$' -bench PipelinedPurchase -benchmem ./gateway/
func BenchmarkPipelinedPurchase(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%v", withMetrics), func(b *testing.B) {
			var obs Observer
			if withMetrics {
				obs = metrics.New()
			}
			clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
			h := startHost(b, b.TempDir(), clk, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"},
				hostOptions{observer: obs})
			provisionFixture(b, h.store)
			defer h.stop()
			c := h.dial()
			defer c.close()
			signOn(b, h, c, "T0000101")
			frames := make([][]byte, min(b.N, 999_999))
			frameOf := func(i int) []byte {
				i %= len(frames)
				if frames[i] == nil {
					packed, _ := h.pk.Pack(purchase("T0000101", fmt.Sprintf("%06d", i+1), 1))
					frames[i] = c.frame(packed)
				}
				return frames[i]
			}
			for i := 0; i < b.N; i++ {
				frameOf(i) // packed before the clock runs
			}
			errc := make(chan error, 1)
			b.ResetTimer()
			go func() {
				for i := 0; i < b.N; i++ {
					if _, err := c.nc.Write(frameOf(i)); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil
			}()
			for i := 0; i < b.N; i++ {
				if _, closed, err := c.read(); err != nil || closed {
					b.Fatalf("response %d: %v closed=%v", i, err, closed)
				}
			}
			b.StopTimer()
			if err := <-errc; err != nil {
				b.Fatal(err)
			}
		})
	}
}
