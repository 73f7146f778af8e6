package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/terminal"
)

// The latency curve (bench --curve): purchases offered open-loop at a
// fixed rate of 25, 50, 75 and 100 % of the best closed-loop purchase
// throughput measured just before, latency counted from each request's
// scheduled time (terminal/load_open.go), so that time spent queueing
// for the host is in it. A closed loop at 256 × 1 says what the host
// can do flat out, where Little's law fixes the latency (256 in flight
// over the throughput); the curve says what a request waits at a load
// the host can carry.

// curvePercents are the curve's points, in % of the closed-loop maximum.
var curvePercents = []int{25, 50, 75, 100}

// curvePoint is one open-loop run of the curve.
type curvePoint struct {
	pct     int
	offered int64
	rep     terminal.LoadReport
	raw     float64 // achieved throughput over the raw echo's at the same depth
	commits commitDelta
}

// curveRates are the offered rates for maximum maxPerSec at pcts, each
// at least 1/s.
func curveRates(maxPerSec float64, pcts []int) []int64 {
	rates := make([]int64, len(pcts))
	for i, p := range pcts {
		rates[i] = max(1, int64(maxPerSec*float64(p)/100+0.5))
	}
	return rates
}

// inSystem is Little's L for a run: throughput × mean latency, the mean
// number of requests between their scheduled send and their answer.
func inSystem(r terminal.LoadReport) float64 {
	return r.Throughput * r.Mean.Seconds()
}

// runCurve runs the curve over base's population and connections, each
// connection allowed as many outstanding requests as the deepest
// closed-loop run had.
func (b *benchRun) runCurve(base terminal.LoadConfig) error {
	if b.o.curveMax > 0 {
		b.maxPurchase = float64(b.o.curveMax)
	}
	if b.maxPurchase <= 0 {
		return fmt.Errorf("--curve: no closed-loop purchase throughput to scale from")
	}
	depth := slices.Max(b.o.inFlight)
	for i, rate := range curveRates(b.maxPurchase, curvePercents) {
		cfg := base
		cfg.InFlight, cfg.Rate = depth, rate
		name := fmt.Sprintf("purchase, open loop at %d/s (%d %% of %.0f/s), at most %d outstanding per connection",
			rate, curvePercents[i], b.maxPurchase, depth)
		rep, err := b.run(name, cfg)
		if err != nil {
			return err
		}
		p := curvePoint{pct: curvePercents[i], offered: rate, rep: rep, commits: b.rows[len(b.rows)-1].commits}
		if raw, ok := b.raw[depth]; ok {
			p.raw = terminal.ThroughputRatio(rep, raw)
		}
		fmt.Fprintf(b.out, "little       %.1f requests in the system on average (throughput × mean latency)\n", inSystem(rep))
		b.curve = append(b.curve, p)
	}
	fmt.Fprintf(b.out, "\n%s", formatCurve(b.curve, b.maxPurchase))
	return nil
}

// formatCurve is the curve as a Markdown table.
func formatCurve(points []curvePoint, maxPerSec float64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "| offered /s | %% of max (%.0f/s) | achieved /s | ratio to raw echo | p50 | p99 | p99.9 | max | mean | in system (X × W) | late | not sent | group commits (/s × ops each; sync mean, p99) |\n", maxPerSec)
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range points {
		r := p.rep
		fmt.Fprintf(&sb, "| %d | %d %% | %.0f | %.2f | %s | %s | %s | %s | %s | %.1f | %d | %d | %s |\n",
			p.offered, p.pct, r.Throughput, p.raw, roundMs(r.P50), roundMs(r.P99), roundMs(r.P999), roundMs(r.Max), roundMs(r.Mean),
			inSystem(r), r.Late, r.Missed, p.commits.cell())
	}
	return sb.String()
}

// roundMs rounds a latency for a table: to 10 µs.
func roundMs(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
