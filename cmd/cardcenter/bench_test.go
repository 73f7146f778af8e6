package main

import (
	"compress/gzip"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/terminal"
)

// TestBenchFlagsRejected: every bad value is refused before anything
// runs, with an error naming the flag and the value.
func TestBenchFlagsRejected(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--in-flight", "1,x"}, `--in-flight "1,x"`},
		{[]string{"--in-flight", "0"}, `--in-flight "0"`},
		{[]string{"--in-flight", "257"}, `--in-flight "257"`},
		{[]string{"--terminals", "0"}, "--terminals 0"},
		{[]string{"--terminals", "20001"}, "--terminals 20001"},
		{[]string{"--terminals", "10", "--connections", "11"}, "--connections 11: want 1..10"},
		{[]string{"--terminals", "1000", "--connections", "257"}, "--connections 257: want 1..256"},
		{[]string{"--connections", "-1"}, "--connections -1"},
		{[]string{"--cards", "0"}, "--cards 0"},
		{[]string{"--cards", "1000001"}, "--cards 1000001"},
		{[]string{"--duration", "0s"}, "--duration 0s"},
		{[]string{"--duration", "2h"}, "--duration 2h0m0s"},
		{[]string{"--pairs", "10"}, "--pairs 10"},
		{[]string{"--idle-conns", "-1"}, "--idle-conns -1"},
		{[]string{"--idle-conns", "50001"}, "--idle-conns 50001"},
		{[]string{"--mix", "refunds"}, `--mix "refunds"`},
		{[]string{"--curve", "--mix", "mixed"}, `--curve with --mix "mixed"`},
		{[]string{"--curve", "--curve-max", "-5"}, "--curve-max -5"},
		{[]string{"--curve-max", "1000"}, "--curve-max 1000: want a rate per second, with --curve"},
		{[]string{"--memprofile", "m", "--in-process"}, `--memprofile "m": not with --in-process`},
		{[]string{"--cpuprofile-runs", "d", "--in-process"}, `--cpuprofile-runs "d": not with --in-process or --cpuprofile`},
		{[]string{"--cpuprofile-runs", "d", "--cpuprofile", "f"}, `--cpuprofile-runs "d": not with --in-process or --cpuprofile`},
	} {
		cmd := newBenchCmd()
		cmd.SetArgs(tc.args)
		cmd.SetOut(new(strings.Builder))
		cmd.SetErr(new(strings.Builder))
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// TestBenchFlagsDefaults: connections default to one per terminal, at
// most 256 (more terminals share them).
func TestBenchFlagsDefaults(t *testing.T) {
	for _, tc := range []struct{ terminals, want int }{{64, 64}, {256, 256}, {10000, 256}} {
		o := benchOptions{terminals: tc.terminals, cards: 10, duration: time.Second, pairs: 1, mix: "purchase"}
		if err := o.validate("1,8"); err != nil {
			t.Fatal(err)
		}
		if o.connections != tc.want || len(o.inFlight) != 2 || o.inFlight[1] != 8 {
			t.Errorf("%d terminals: %d connections, in flight %v", tc.terminals, o.connections, o.inFlight)
		}
	}
}

func TestCurveRates(t *testing.T) {
	got := curveRates(10001, curvePercents)
	want := []int64{2500, 5001, 7501, 10001} // rounded half up
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rates %v, want %v", got, want)
		}
	}
	if got := curveRates(1, []int{25}); got[0] != 1 {
		t.Fatalf("a rate below 1/s: %v", got)
	}
}

// TestCurveTable: the curve's row says the offered and achieved rates,
// the quantiles of the run's histogram, and Little's L (throughput ×
// mean latency).
func TestCurveTable(t *testing.T) {
	h := new(terminal.Histogram)
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * 10 * time.Microsecond) // 10 µs .. 10 ms, mean 5.005 ms
	}
	rep := terminal.LoadReport{Latency: h, Throughput: 2000, Late: 3, Missed: 1}
	rep.P50, rep.P99, rep.P999 = h.Quantile(0.5), h.Quantile(0.99), h.Quantile(0.999)
	rep.Max, rep.Mean = h.Max(), h.Mean()
	if l := inSystem(rep); l < 10.0 || l > 10.02 {
		t.Fatalf("L = %f, want 2000/s × 5.005 ms = 10.01", l)
	}
	s := formatCurve([]curvePoint{{pct: 50, offered: 2000, rep: rep, raw: 0.25}}, 4000)
	// p50 5 ms and p99 9.9 ms, reported as the upper bounds of their
	// histogram buckets (within 1/64); the mean 5.005 ms to 10 µs.
	want := "| 2000 | 50 % | 2000 | 0.25 | 5.05ms | 9.96ms | 10ms | 10ms | 5.01ms | 10.0 | 3 | 1 | - |"
	if !strings.Contains(s, want) || !strings.Contains(s, "% of max (4000/s)") {
		t.Fatalf("curve table:\n%s\nwant a row %s", s, want)
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tcardcenter\nVmPeak:\t  999 kB\nVmRSS:\t   40960 kB\nThreads:\t8\n"
	if got, err := parseVmRSS([]byte(status)); err != nil || got != 40960<<10 {
		t.Fatalf("%d %v", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n", "VmRSS:\t-4 kB\n"} {
		if _, err := parseVmRSS([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestIdleReport(t *testing.T) {
	r := &idleReport{conns: 1000, before: 40 << 20, after: 40<<20 + 1000*20<<10}
	if s := r.String(); !strings.Contains(s, "40.0 MiB before") || !strings.Contains(s, "20.0 KiB per connection") {
		t.Fatal(s)
	}
}

// Each SIGUSR1 to a host serving run profiles closes the current
// profile and starts the next run's, numbered from 1; stopping closes
// the last, each a complete profile.
func TestRunProfilesOnSignal(t *testing.T) {
	dir := t.TempDir()
	stop := serveRunProfiles(dir)
	for n := 1; n <= 2; n++ {
		if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		for { // the signal is handled on another goroutine
			if _, err := os.Stat(runProfilePath(dir, n)); err == nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	stop()
	for n := 1; n <= 2; n++ {
		f, err := os.Open(runProfilePath(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		// A CPU profile is a gzipped protocol buffer: a complete one
		// decompresses to its end.
		zr, err := gzip.NewReader(f)
		if err == nil {
			_, err = io.Copy(io.Discard, zr)
		}
		f.Close()
		if err != nil {
			t.Errorf("run %d's profile: %v", n, err)
		}
	}
}
