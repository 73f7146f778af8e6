package terminal

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// load_report.go: what a load run reports, how it reads, and how two
// runs compare. Both drivers (load_closed.go, load_open.go) and the raw
// echo (load_raw.go) end here.

// newLoadReport merges what the connections counted into the run's
// report, with throughput and latency quantiles over elapsed.
func newLoadReport(cfg *LoadConfig, lcs []*loadConn, elapsed time.Duration) LoadReport {
	rep := LoadReport{
		Mode: "mixed (" + cfg.Mix.String() + ")", Connections: cfg.Connections, Terminals: len(cfg.Terminals),
		InFlight: cfg.InFlight, Rate: cfg.Rate, Elapsed: elapsed, Declined: map[string]int64{}, ByOp: map[Op]int64{},
		Latency: new(Histogram),
	}
	if cfg.EchoOnly {
		rep.Mode = "echo"
	}
	for _, lc := range lcs {
		t := &lc.tally
		rep.Requests += t.requests
		rep.Approved += t.approved
		rep.Errors += t.errors
		rep.Late += t.late
		for rc, n := range t.declined {
			rep.Declined[rc] += n
		}
		for i, n := range t.byOp {
			if n > 0 {
				rep.ByOp[loadOps[i]] += n
			}
		}
		for _, e := range t.errSample {
			if len(rep.ErrorSample) < maxLoadErrorSamples {
				rep.ErrorSample = append(rep.ErrorSample, e)
			}
		}
		rep.Latency.Merge(&t.hist)
	}
	rep.summarize()
	return rep
}

// summarize fills throughput and the quantiles from Latency and Elapsed.
func (r *LoadReport) summarize() {
	if s := r.Elapsed.Seconds(); s > 0 {
		r.Throughput = float64(r.Latency.Count()) / s
	}
	r.P50, r.P99, r.P999 = r.Latency.Quantile(0.50), r.Latency.Quantile(0.99), r.Latency.Quantile(0.999)
	r.Max, r.Mean = r.Latency.Max(), r.Latency.Mean()
}

// FormatReport formats a load report for people.
func FormatReport(r LoadReport) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "mode         %s\n", r.Mode)
	if r.Rate > 0 {
		fmt.Fprintf(&sb, "terminals    %d over %d connection(s), open loop at %d/s, at most %d outstanding each\n", r.Terminals, r.Connections, r.Rate, r.InFlight)
	} else {
		fmt.Fprintf(&sb, "terminals    %d over %d connection(s), %d in flight each\n", r.Terminals, r.Connections, r.InFlight)
	}
	fmt.Fprintf(&sb, "elapsed      %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&sb, "requests     %d (approved %d, declined %d, errors %d)\n",
		r.Requests, r.Approved, sumDeclined(r.Declined), r.Errors)
	if len(r.ByOp) > 0 {
		ops := make([]string, 0, len(r.ByOp))
		for op := range r.ByOp {
			ops = append(ops, string(op))
		}
		sort.Strings(ops)
		parts := make([]string, len(ops))
		for i, op := range ops {
			parts[i] = fmt.Sprintf("%s %d", op, r.ByOp[Op(op)])
		}
		fmt.Fprintf(&sb, "by op        %s\n", strings.Join(parts, ", "))
	}
	if len(r.Declined) > 0 {
		rcs := make([]string, 0, len(r.Declined))
		for rc := range r.Declined {
			rcs = append(rcs, rc)
		}
		sort.Strings(rcs)
		parts := make([]string, len(rcs))
		for i, rc := range rcs {
			parts[i] = fmt.Sprintf("%s %s: %d", rc, RCMeaning(rc), r.Declined[rc])
		}
		fmt.Fprintf(&sb, "declined     %s\n", strings.Join(parts, "; "))
	}
	if r.Rate > 0 {
		// Open loop: latency counts from each request's scheduled send
		// time, so time spent waiting to be sent is in it.
		fmt.Fprintf(&sb, "schedule     %d sent late (over %s after their slot), %d not sent (backlog full)\n", r.Late, r.LateAfter, r.Missed)
	}
	fmt.Fprintf(&sb, "throughput   %.1f/s\n", r.Throughput)
	fmt.Fprintf(&sb, "latency      p50 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		roundLat(r.P50), roundLat(r.P99), roundLat(r.P999), roundLat(r.Max), roundLat(r.Mean))
	for _, e := range r.ErrorSample {
		fmt.Fprintf(&sb, "error        %s\n", e)
	}
	return sb.String()
}

func roundLat(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func sumDeclined(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// ThroughputRatio is r's throughput as a fraction of baseline's (an echo-only
// run, typically); 0 when the baseline has none.
func ThroughputRatio(r, baseline LoadReport) float64 {
	if baseline.Throughput <= 0 {
		return 0
	}
	return r.Throughput / baseline.Throughput
}

// LatencyRatio is r's latency at quantile q over baseline's; 0 when the
// baseline has none.
func LatencyRatio(r, baseline LoadReport, q float64) float64 {
	if baseline.Latency == nil || r.Latency == nil {
		return 0
	}
	b := baseline.Latency.Quantile(q)
	if b <= 0 {
		return 0
	}
	return float64(r.Latency.Quantile(q)) / float64(b)
}
