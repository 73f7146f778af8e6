package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// benchOptions configure one bench run.
type benchOptions struct {
	terminals, cards int
	connections      int
	inFlight         []int
	duration         time.Duration
	framing          string
	packager         string
	mix              string
	dataDir          string
	cpuProfile       string
	cpuProfileRuns   string // a directory: the host's CPU profile of each run (benchprofile.go)
	memProfile       string // the host's heap profile after the runs
	loadCPUProfile   string // the load generator's (this process's) profile
	markdown         string
	inProcess        bool
	security         bool // also purchases with MAC and PIN on (benchsec.go)
	loyalty          bool // also purchases earning under the demo's rules (benchloyalty.go)
	pairs            int  // back-to-back pairs per --security/--loyalty comparison
	curve            bool // the open-loop latency curve (benchcurve.go)
	curveMax         int  // the curve's 100 %, per second (0: the best closed-loop rate)
	idleConns        int  // idle connections whose host memory is measured (benchidle.go)
}

// Bounds of the bench's flags.
const (
	maxBenchTerminals   = 20_000
	maxBenchCards       = 1_000_000
	maxBenchConnections = 256 // the load generator's limit: more terminals share connections
	maxBenchIdleConns   = 50_000
)

func newBenchCmd() *cobra.Command {
	var o benchOptions
	var inflight string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable authorizations per second against an in-process host",
		Long: `Start a host on a fresh on-disk store (every approval synced before its
response, as in production), provision terminals and cards, and load it
over real TCP: first a raw len2 echo (no ISO 8583, no ledger: the
ceiling) at every depth the other runs use, then the host's 0800/301
echo baseline, then purchases with 1 and with 8 requests in flight per
connection. Prints throughput and latency, and the ratios to the raw
echo at the same depth and to the host's echo, all measured in the same
run.

Before the host starts, the store's disk is probed: 4 KiB appends, each
fdatasync'd, for 2 s, in the store's directory. Its latency quantiles
and the CPU a sync costs are the floor of a durable answer, as the raw
echo is the ceiling of the throughput. Each run also prints what the
ledger's group commit did (read from the host's own Prometheus metrics
before and after it): commits a second, ops a commit, and the mean and
99th percentile of a commit's Commit(pebble.Sync).

The host runs as a child process (cardcenter bench-host), as it would in
production, so that the load generator shares the cores through the OS
rather than through the host's own goroutine scheduler; --in-process runs
both in one process.

With --curve, after the closed-loop runs, the open-loop load generator
offers purchases at a fixed rate of 25, 50, 75 and 100 % of the best
closed-loop purchase throughput, latency counted from each request's
scheduled time, and prints the curve.

With --idle-conns N, before the load runs, N terminal connections are
opened (each sends one 0800 echo, then stays idle) and the host's
resident memory is reported before, after and per connection.

With more than 10,000 cards or 256 terminals, each purchase run is
preceded by the same run over the first 10,000 cards and 256 terminals
on the same host, and the ratio of the two is printed. These pairs are
cold: right after provisioning, the population's cards are mostly
touched for the first time. After them a warm-up makes one purchase
with every card of the population, and the pairs are run again, warm;
both ratios are printed.

With --security, each purchase run is followed by the same run with
contract section 7 on: terminals with master keys that sign on for
working keys and MAC every request (the host checks each MAC and MACs
each response), and cards whose product asks a PIN for every purchase
(a PIN block under the TPK, which the host decrypts and checks). It
prints the throughput ratio, on over off.

With --loyalty, each purchase run is followed by the same run on a
program with the demo mall's loyalty rules (three tiers, three
campaigns, lots): every purchase earns points. It prints the throughput
ratio, loyalty on over off. With --pairs N each of these comparisons is
made N times back to back, in alternating order (off on, on off, off
on, ...: the store grows with every run, which slows the run made
second), and the median ratio is reported with every pair's: one pair
measures the machine's mood as much as the feature.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(inflight); err != nil {
				return err
			}
			return runBench(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.terminals, "terminals", 256, "terminals")
	f.IntVar(&o.connections, "connections", 0, "connections the terminals share (default: one per terminal, at most 256)")
	f.IntVar(&o.cards, "cards", 10000, "card population")
	f.StringVar(&inflight, "in-flight", "1,8", "requests in flight per connection, one run each")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each run")
	f.StringVar(&o.framing, "framing", "len2", "framing")
	f.StringVar(&o.packager, "packager", "ascii", "packager")
	f.StringVar(&o.mix, "mix", "purchase", "purchase, or mixed (purchase/balance/load/refund 60/20/10/10)")
	f.StringVar(&o.dataDir, "data", "", "store directory (default: a fresh temporary one, removed after)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the host here (with --in-process: of host and load generator together)")
	f.StringVar(&o.cpuProfileRuns, "cpuprofile-runs", "", "write a CPU profile of the host for each run into this directory (host-<n>.prof, n the run's number as printed)")
	f.StringVar(&o.memProfile, "memprofile", "", "write a heap profile of the host here after the last run, its caches still full (what the GC marks each cycle)")
	f.StringVar(&o.loadCPUProfile, "load-cpuprofile", "", "write a CPU profile of the load generator (this process) here; samples carry a label run=<the run's name>")
	f.StringVar(&o.markdown, "markdown", "", "also write the results as a Markdown table to this file")
	f.BoolVar(&o.inProcess, "in-process", false, "run the host in this process instead of a child process")
	f.BoolVar(&o.security, "security", false, "also run each purchase run with MAC and PIN on, and print the ratio")
	f.BoolVar(&o.loyalty, "loyalty", false, "also run each purchase run on a program with the demo's loyalty rules, and print the ratio")
	f.IntVar(&o.pairs, "pairs", 1, "with --security or --loyalty: back-to-back pairs per comparison; the median ratio is reported")
	f.BoolVar(&o.curve, "curve", false, "also run purchases open-loop at 25/50/75/100 % of the closed-loop maximum and print the latency curve")
	f.IntVar(&o.curveMax, "curve-max", 0, "with --curve: the rate, per second, the curve's percentages are of (default: the best closed-loop purchase rate); fixes the offered rates so that two builds can be compared at the same load")
	f.IntVar(&o.idleConns, "idle-conns", 0, "open this many idle terminal connections first and report the host's resident memory per connection")
	return cmd
}

// validate checks the flags (inflight is --in-flight as given) and
// fills what they imply; each error names its flag and value.
func (o *benchOptions) validate(inflight string) error {
	o.inFlight = nil
	for _, s := range strings.Split(inflight, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n < 1 || n > 256 {
			return fmt.Errorf("--in-flight %q: want a comma-separated list of 1..256", inflight)
		}
		o.inFlight = append(o.inFlight, n)
	}
	if o.terminals < 1 || o.terminals > maxBenchTerminals {
		return fmt.Errorf("--terminals %d: want 1..%d", o.terminals, maxBenchTerminals)
	}
	if o.connections == 0 {
		o.connections = min(o.terminals, maxBenchConnections)
	}
	if o.connections < 1 || o.connections > min(o.terminals, maxBenchConnections) {
		return fmt.Errorf("--connections %d: want 1..%d (the terminals, at most %d: more terminals share connections)",
			o.connections, min(o.terminals, maxBenchConnections), maxBenchConnections)
	}
	if o.pairs < 1 || o.pairs > 9 {
		return fmt.Errorf("--pairs %d: want 1..9", o.pairs)
	}
	if o.cards < 1 || o.cards > maxBenchCards {
		return fmt.Errorf("--cards %d: want 1..%d", o.cards, maxBenchCards)
	}
	if o.duration <= 0 || o.duration > time.Hour {
		return fmt.Errorf("--duration %s: want up to 1h", o.duration)
	}
	if o.idleConns < 0 || o.idleConns > maxBenchIdleConns {
		return fmt.Errorf("--idle-conns %d: want 0..%d", o.idleConns, maxBenchIdleConns)
	}
	if o.memProfile != "" && o.inProcess {
		return fmt.Errorf("--memprofile %q: not with --in-process (host and load generator share the heap)", o.memProfile)
	}
	if o.cpuProfileRuns != "" && (o.inProcess || o.cpuProfile != "") {
		return fmt.Errorf("--cpuprofile-runs %q: not with --in-process or --cpuprofile (one CPU profile at a time)", o.cpuProfileRuns)
	}
	if o.inProcess && o.loadCPUProfile != "" {
		return fmt.Errorf("--load-cpuprofile with --in-process: host and load generator share the process; use --cpuprofile")
	}
	if o.mix != "purchase" && o.mix != "mixed" {
		return fmt.Errorf("--mix %q: want purchase or mixed", o.mix)
	}
	if o.curveMax < 0 || (o.curveMax > 0 && !o.curve) {
		return fmt.Errorf("--curve-max %d: want a rate per second, with --curve", o.curveMax)
	}
	if o.curve && o.mix != "purchase" {
		return fmt.Errorf("--curve with --mix %q: the curve is of purchases (--mix purchase)", o.mix)
	}
	return nil
}

func runBench(ctx context.Context, o benchOptions, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.idleConns > 0 {
		// Before the host starts: the child inherits the limit.
		if err := raiseOpenFiles(o.idleConns); err != nil {
			return err
		}
	}
	dir := o.dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "cardcenter-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	// The disk first, while nothing else uses it.
	disk, err := probeDisk(dir, diskProbeTime)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "disk         %s\n", disk)
	if o.security {
		fmt.Fprintf(out, "provisioning %d terminals and %d cards without keys, as many with keys and PINs, in %s …\n", o.terminals, o.cards, dir)
	} else {
		fmt.Fprintf(out, "provisioning %d terminals and %d cards in %s …\n", o.terminals, o.cards, dir)
	}
	started := time.Now()
	var h benchTarget
	var stop func() error
	if o.inProcess {
		bh, err := startBenchHost(ctx, dir, o)
		if err != nil {
			return err
		}
		h = benchTarget{addr: bh.addr, rawAddr: bh.raw.Addr().String(), metricsAddr: bh.metricsAddr, pid: os.Getpid(), clocks: inProcessClocks}
		stop = func() error { return bh.close(out) }
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	} else {
		child, err := startBenchChild(dir, o, out)
		if err != nil {
			return err
		}
		pid := child.cmd.Process.Pid
		h = benchTarget{addr: child.addr, rawAddr: child.rawAddr, metricsAddr: child.metricsAddr, pid: pid, clocks: childClocks(pid), profiles: o.cpuProfileRuns}
		stop = child.stop
	}
	fmt.Fprintf(out, "provisioned in %s\n", time.Since(started).Round(100*time.Millisecond))
	h.disk = disk
	stopLoadProfile, err := startCPUProfile(o.loadCPUProfile)
	if err != nil {
		stop()
		return err
	}
	err = runBenchLoad(ctx, o, h, out)
	stopLoadProfile()
	if serr := stop(); err == nil {
		err = serr
	}
	return err
}

// benchTarget is the host under load: its terminal listener, its raw
// echo, its metrics, its process (for memory) and its CPU clock.
type benchTarget struct {
	addr, rawAddr, metricsAddr string
	// disk is the store disk's own sync, probed before the host started.
	disk   diskProbe
	pid    int
	clocks cpuClocks
	// profiles is --cpuprofile-runs ("": none); runs counts the runs
	// measured, whose profiles the host numbers alike.
	profiles string
	runs     int
}

// startCPUProfile writes a CPU profile to path until the returned func
// is called; an empty path profiles nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
