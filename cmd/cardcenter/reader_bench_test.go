//go:build cgo

package main

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/internal/vcard"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
)

// lineSignal is an io.Writer that sends each complete line it is given.
type lineSignal struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineSignal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.lines <- s[:i]
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	return len(p), nil
}

// BenchmarkReaderCardToAnswer: one long-running reader (runReader, as
// `cardcenter reader` runs) against a real host; each iteration inserts the
// virtual chip card into vpcd and times until the outcome line is printed:
// pcscd noticing the card, the EMV flow, the 0200 with field 55 and the
// host's answer, the ARPC back to the card. Pulling the card and the
// reader seeing the slot empty are outside the timing. Reports p50 and p99
// (ms); run with -benchtime Nx for a sample of N (make bench uses 50x).
func BenchmarkReaderCardToAnswer(b *testing.B) {
	h := startReaderHost(b)
	cfg := h.chipCardOf(b, "alice")
	o, err := (&posFlags{addr: h.m.Gateway.Addrs()[0].String(), framing: "len2", packager: "ascii", tid: "T0000101",
		cardsFile: adminTestDemo, stateDir: b.TempDir()}).options()
	if err != nil {
		b.Fatal(err)
	}
	out := &lineSignal{lines: make(chan string, 4)}
	logs := &lineSignal{lines: make(chan string, 16)}
	ro := readerOptions{pos: o, prefix: rig.VPCDReaderPrefix, amount: 1, aid: terminal.DefaultAID, count: b.N, out: out, log: zerolog.New(logs)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runReader(ctx, ro) }()
	lat := make([]time.Duration, 0, b.N)
	txn := make([]time.Duration, 0, b.N) // card seen present → outcome
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		card, err := vcard.Insert("", cfg)
		if err != nil {
			b.Fatal(err)
		}
		var present time.Time
		for present.IsZero() {
			if strings.Contains(<-logs.lines, `"event":"card_in"`) {
				present = time.Now()
			}
		}
		line := <-out.lines
		lat = append(lat, time.Since(start))
		txn = append(txn, time.Since(present))
		b.StopTimer()
		if !strings.Contains(line, " 00 approved ") || !strings.Contains(line, "card=tc") {
			b.Fatalf("iteration %d: %s", i, line)
		}
		cfg.ATC = card.ATC()
		card.Close()
		waitReaderEmpty(b)
		b.StartTimer()
	}
	b.StopTimer()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	pct := func(d []time.Duration, p float64) float64 {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(pct(txn, 0.50), "present-p50-ms")
	b.ReportMetric(pct(txn, 0.99), "present-p99-ms")
	b.ReportMetric(0, "ns/op")
}
