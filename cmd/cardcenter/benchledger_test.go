package main

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/metrics"
)

// TestScrapeCommits: the bench reads the group commits from the host's
// own /metrics over HTTP, and a run's line is what happened between
// two scrapes: commits, mean ops, sync mean and the bucket bound of the
// 99th percentile.
func TestScrapeCommits(t *testing.T) {
	mx := metrics.New()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mx.Handler(), ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	ctx := context.Background()

	mx.CommitDone(5, time.Millisecond) // before the run: not in it
	before, err := scrapeCommits(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	// 99 commits of 10 ops synced in 0.4 ms and one of 30 in 40 ms: the
	// 99th percentile is in the 0.5 ms bucket.
	for range 99 {
		mx.CommitDone(10, 400*time.Microsecond)
	}
	mx.CommitDone(30, 40*time.Millisecond)
	after, err := scrapeCommits(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	d := after.since(before, 2*time.Second)
	if d.groups != 100 || d.perSec != 50 || math.Abs(d.opsPer-10.2) > 1e-9 || d.syncP99 != 0.0005 {
		t.Fatalf("%+v", d)
	}
	if want := (99*400*time.Microsecond + 40*time.Millisecond) / 100; (d.syncAvg - want).Abs() > time.Microsecond {
		t.Fatalf("sync mean %s, want %s", d.syncAvg, want)
	}
	if s := d.String(); s != "100 group commits (50/s), 10.2 ops a commit; sync mean 796µs, p99 ≤ 500µs" {
		t.Fatalf("%q", s)
	}
	if c := d.cell(); c != "50/s × 10.2; 800µs, ≤ 500µs" {
		t.Fatalf("cell %q", c)
	}
	// Nothing between two scrapes: said so, not divided by zero.
	if s := after.since(after, time.Second).String(); s != "no group commits" {
		t.Fatalf("%q", s)
	}

	// A host that is not there, or serves something else, is an error
	// that says which.
	srv.Close()
	if _, err := scrapeCommits(ctx, addr); err == nil || !strings.Contains(err.Error(), "scrape the bench host's metrics") {
		t.Fatalf("closed host: %v", err)
	}
	other := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	go other.Serve(ln2)
	t.Cleanup(func() { other.Close() })
	if _, err := scrapeCommits(ctx, ln2.Addr().String()); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("not a metrics endpoint: %v", err)
	}
}

// TestDiskProbe: the probe syncs real appends in the directory it is
// given, reports ordered quantiles and the CPU the syncs took, and
// leaves nothing behind.
func TestDiskProbe(t *testing.T) {
	dir := t.TempDir()
	p, err := probeDisk(dir, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if p.syncs == 0 || p.p50 <= 0 || p.p50 > p.p99 || p.p99 > p.p999 || p.p999 > p.mx || p.cpu <= 0 || p.slowShare < 0 || p.slowShare > 1 {
		t.Fatalf("%+v", p)
	}
	if !strings.Contains(p.String(), "appends of 4 KiB, each fdatasync'd") {
		t.Fatal(p.String())
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("the probe left %v", left)
	}
	if _, err := probeDisk(filepath.Join(dir, "missing"), time.Millisecond); err == nil || !strings.Contains(err.Error(), "disk probe") {
		t.Fatalf("missing directory: %v", err)
	}
}

// TestSummarize: quantiles from the sorted latencies, CPU a sync, and
// the share of the time spent in syncs over 10 ms.
func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 1000; i >= 1; i-- { // 1 … 1000 µs, given in reverse
		lat = append(lat, time.Duration(i)*time.Microsecond)
	}
	lat = append(lat, 20*time.Millisecond)
	p := summarize(lat, 1001*100*time.Microsecond)
	if p.syncs != 1001 || p.p50 != 501*time.Microsecond || p.p99 != 991*time.Microsecond || p.mx != 20*time.Millisecond || p.cpu != 100*time.Microsecond {
		t.Fatalf("%+v", p)
	}
	// 20 ms of 500.5 + 20 ms in all.
	if want := 20.0 / 520.5; math.Abs(p.slowShare-want) > 1e-9 {
		t.Fatalf("slow share %f, want %f", p.slowShare, want)
	}
	if s := summarize(nil, 0).String(); s != "not measured" {
		t.Fatal(s)
	}
}

// TestBenchRunsInProcess: a whole bench, small, in this process: the
// disk probe, every run with its ledger line, the curve, and the
// Markdown with the group commits in its tables.
func TestBenchRunsInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole bench")
	}
	md := filepath.Join(t.TempDir(), "bench.md")
	o := benchOptions{terminals: 4, cards: 20, duration: 200 * time.Millisecond, pairs: 1, mix: "purchase",
		framing: "len2", packager: "ascii", inProcess: true, curve: true, curveMax: 400, markdown: md}
	if err := o.validate("1"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runBench(context.Background(), o, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"disk         ", "appends of 4 KiB", "ledger       no group commits", "group commits (", "ops a commit; sync mean", "consistent=true"} {
		if !strings.Contains(s, want) {
			t.Fatalf("no %q in\n%s", want, s)
		}
	}
	// The raw echo commits nothing; the purchases' runs and the curve's
	// points commit.
	if n := strings.Count(s, "ledger       "); n != 2+1+4 {
		t.Fatalf("%d ledger lines (raw echo, echo, purchases, 4 curve points)\n%s", n, s)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if m := string(b); strings.Count(m, "group commits (/s × ops each; sync mean, p99)") != 2 || !strings.Contains(m, "The store's disk, probed before the host started:") {
		t.Fatalf("markdown:\n%s", m)
	}
}
