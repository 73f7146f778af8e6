package terminal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

func loadTerminals(n int) []LoadTerminal {
	var ts []LoadTerminal
	for i := 0; i < n; i++ {
		ts = append(ts, LoadTerminal{TID: fmt.Sprintf("L%07d", i+1), MID: "M00000000000001"})
	}
	return ts
}

func TestRunLoadEcho(t *testing.T) {
	var signOns atomic.Int64
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		if f.msg.Fields[70] == "001" {
			signOns.Add(1)
		}
		c.answer(f, "00", nil)
	})
	rep, err := RunLoad(context.Background(), LoadConfig{
		Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
		Terminals: loadTerminals(6), Connections: 2, InFlight: 4, EchoOnly: true, Requests: 300,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 300 || rep.Approved != 300 || rep.Errors != 0 || rep.ByOp[OpEcho] != 300 || signOns.Load() != 6 {
		t.Fatalf("%+v", rep)
	}
	if rep.Latency.Count() != 300 || rep.P50 <= 0 || rep.P99 < rep.P50 || rep.P999 < rep.P99 || rep.Throughput <= 0 {
		t.Fatalf("latency %s %s %s, throughput %f", rep.P50, rep.P99, rep.P999, rep.Throughput)
	}
	s := FormatReport(rep)
	for _, want := range []string{"mode         echo", "6 over 2 connection(s), 4 in flight", "requests     300 (approved 300", "p50 "} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if r := ThroughputRatio(rep, rep); r != 1 {
		t.Errorf("ratio %f", r)
	}
	if r := LatencyRatio(rep, rep, 0.99); r != 1 {
		t.Errorf("latency ratio %f", r)
	}
	// A duration ends a run too.
	rep, err = RunLoad(context.Background(), LoadConfig{
		Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
		Terminals: loadTerminals(2), InFlight: 2, EchoOnly: true, Duration: 20 * time.Millisecond,
	})
	if err != nil || rep.Requests == 0 || rep.Errors != 0 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestRunLoadMixed: the mix is followed, refunds name approved purchases of
// the same terminal, and declines are counted by response code.
func TestRunLoadMixed(t *testing.T) {
	var mu sync.Mutex
	purchases := map[string]string{} // RRN -> TID
	var badRefunds []string
	var rrn atomic.Int64
	h := startFakeHost(t, mustFraming(t, "ascii4+tpdu"), mustPackager(t, "bcd"), func(c *fakeConn, f frameIn) {
		m := f.msg
		switch {
		case m.MTI == "0200" && m.Fields[3] == "200000":
			mu.Lock()
			if purchases[m.Fields[37]] != m.Fields[41] {
				badRefunds = append(badRefunds, m.Fields[37])
			}
			mu.Unlock()
			c.answer(f, "00", nil)
		case m.MTI == "0200" && m.Fields[3] == "000000":
			n := rrn.Add(1)
			if n%5 == 0 {
				c.answer(f, "51", nil)
				return
			}
			r := fmt.Sprintf("%012d", n)
			mu.Lock()
			purchases[r] = m.Fields[41]
			mu.Unlock()
			c.answer(f, "00", map[int]string{37: r, 38: "123456"})
		default:
			c.answer(f, "00", nil)
		}
	})
	cards := []Card{{PAN: "6210001234567890", Expiry: "2812"}, {PAN: "6210001234567908", Expiry: "2812", Manual: true}}
	rep, err := RunLoad(context.Background(), LoadConfig{
		Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
		Terminals: loadTerminals(3), Connections: 1, InFlight: 8, Cards: cards,
		Mix: Mix{Purchase: 50, Balance: 10, Load: 10, Refund: 30}, Requests: 1000, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 1000 || rep.Errors != 0 || rep.Approved+rep.Declined["51"] != 1000 || rep.Declined["51"] == 0 {
		t.Fatalf("%+v", rep)
	}
	for _, op := range []Op{OpPurchase, OpBalance, OpLoad, OpRefund} {
		if rep.ByOp[op] == 0 {
			t.Errorf("no %s in %v", op, rep.ByOp)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(badRefunds) > 0 {
		t.Fatalf("refunds of unknown or other terminals' purchases: %v", badRefunds)
	}
	if !strings.Contains(FormatReport(rep), "51 insufficient funds: ") {
		t.Fatalf("%s", FormatReport(rep))
	}
}

func TestRunLoadChecks(t *testing.T) {
	pk := mustPackager(t, "ascii")
	dial := TCPDialer("127.0.0.1:1")
	base := LoadConfig{Dial: dial, Packager: pk, Terminals: loadTerminals(2), Requests: 1, EchoOnly: true}
	for name, mod := range map[string]func(*LoadConfig){
		"no limit":      func(c *LoadConfig) { c.Requests = 0 },
		"too long":      func(c *LoadConfig) { c.Duration = 2 * maxLoadDuration },
		"too many":      func(c *LoadConfig) { c.Requests = maxLoadRequests + 1 },
		"no terminals":  func(c *LoadConfig) { c.Terminals = nil },
		"conns":         func(c *LoadConfig) { c.Connections = 3 },
		"dup terminal":  func(c *LoadConfig) { c.Terminals = append(c.Terminals, c.Terminals[0]) },
		"no cards":      func(c *LoadConfig) { c.EchoOnly = false },
		"in flight":     func(c *LoadConfig) { c.InFlight = maxInFlightLimit + 1 },
		"negative mix":  func(c *LoadConfig) { c.Mix = Mix{Purchase: -1} },
		"bad amounts":   func(c *LoadConfig) { c.MinAmount, c.MaxAmount = 10, 5 },
		"negative rate": func(c *LoadConfig) { c.Rate = -1 },
		"rate too high": func(c *LoadConfig) { c.Rate = maxLoadRate + 1 },
	} {
		cfg := base
		cfg.Terminals = append([]LoadTerminal(nil), base.Terminals...)
		mod(&cfg)
		if _, err := RunLoad(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "load: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func BenchmarkClientPipelined(b *testing.B) {
	h := startFakeHost(b, mustFraming(b, "len2"), mustPackager(b, "ascii"), func(c *fakeConn, f frameIn) { c.answer(f, "00", nil) })
	c := newTestClient(b, h, nil)
	var stan atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		m := wire.NewMessage("0800")
		for pb.Next() {
			clear(m.Fields)
			m.Set(7, "1123140000").Set(11, fmt.Sprintf("%06d", stan.Add(1)%999999+1)).Set(41, "T0000001").Set(42, "M00000000000001").Set(70, "301")
			if _, err := c.Do(context.Background(), m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRunLoadSweep: with Sweep, a run of as many purchases as cards
// touches every card exactly once, over all connections.
func TestRunLoadSweep(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	h := startFakeHost(t, mustFraming(t, "len2"), mustPackager(t, "ascii"), func(c *fakeConn, f frameIn) {
		if f.msg.MTI == "0200" {
			pan, _, _ := strings.Cut(f.msg.Fields[35], "=")
			mu.Lock()
			seen[pan]++
			mu.Unlock()
		}
		c.answer(f, "00", nil)
	})
	var cards []Card
	for i := range 100 {
		body := fmt.Sprintf("62100000%07d", i)
		cards = append(cards, Card{PAN: body + string(cardnum.LuhnDigit(body)), Expiry: "2812"})
	}
	rep, err := RunLoad(context.Background(), LoadConfig{
		Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
		Terminals: loadTerminals(6), Connections: 3, InFlight: 4, Cards: cards,
		Mix: Mix{Purchase: 1}, Sweep: true, Requests: int64(len(cards)),
	})
	if err != nil || rep.Approved != int64(len(cards)) {
		t.Fatalf("%+v %v", rep, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range cards {
		if seen[c.PAN] != 1 {
			t.Fatalf("card %s used %d times", c, seen[c.PAN])
		}
	}
}
