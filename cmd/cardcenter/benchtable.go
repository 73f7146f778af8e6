package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/terminal"
)

// The bench's Markdown (--markdown): the runs' table with their ratios
// to the raw echo at the same depth and to the host's echo, the
// comparisons' ratios, the curve and the idle-connection memory;
// scripts/bench.sh pastes it into docs/performance.md.

func (b *benchRun) writeMarkdown() error {
	if b.o.markdown == "" {
		return nil
	}
	var sb strings.Builder
	sb.WriteString("| run | connections × in flight | throughput /s | ratio to raw echo | ratio to echo | p50 | p99 | p99.9 | approved | declined | errors | host CPU / request | load generator CPU / request | group commits (/s × ops each; sync mean, p99) |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		raw := "-"
		if rr, ok := b.raw[r.rep.InFlight]; ok {
			raw = fmt.Sprintf("%.2f", terminal.ThroughputRatio(r.rep, rr))
		}
		fmt.Fprintf(&sb, "| %s | %d × %d | %.0f | %s | %.2f | %s | %s | %s | %d | %d | %d | %s | %s | %s |\n",
			r.name, r.rep.Connections, r.rep.InFlight, r.rep.Throughput, raw, terminal.ThroughputRatio(r.rep, b.echo),
			r.rep.P50.Round(time.Microsecond), r.rep.P99.Round(time.Microsecond), r.rep.P999.Round(time.Microsecond),
			r.rep.Approved, r.rep.Requests-r.rep.Approved-r.rep.Errors, r.rep.Errors, r.hostCPU, r.loadCPU, r.commits.cell())
	}
	for _, c := range benchComparisons {
		if r := b.ratios[c.key]; len(r) > 0 {
			fmt.Fprintf(&sb, "\n%s: %s.\n", c.long, strings.Join(r, ", "))
		}
	}
	if len(b.curve) > 0 {
		fmt.Fprintf(&sb, "\nLatency curve, open loop (latency from each request's scheduled send time):\n\n%s", formatCurve(b.curve, b.maxPurchase))
	}
	fmt.Fprintf(&sb, "\nThe store's disk, probed before the host started: %s.\n", b.h.disk)
	if b.idle != nil {
		fmt.Fprintf(&sb, "\n%s\n", b.idle)
	}
	return os.WriteFile(b.o.markdown, []byte(sb.String()), 0o644)
}

// formatRatios says a comparison's ratio at k in flight: the median of
// its pairs' (the lower middle one of an even count), and every pair's
// when there are several.
func formatRatios(ratios []float64, k int) string {
	sorted := slices.Clone(ratios)
	slices.Sort(sorted)
	out := fmt.Sprintf("%.2f at %d in flight", sorted[(len(sorted)-1)/2], k)
	if len(ratios) > 1 {
		each := make([]string, len(ratios))
		for i, r := range ratios {
			each[i] = fmt.Sprintf("%.2f", r)
		}
		out += fmt.Sprintf(" (median of %s)", strings.Join(each, ", "))
	}
	return out
}
