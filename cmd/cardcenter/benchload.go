package main

import (
	"context"
	"fmt"
	"io"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/terminal"
)

// The bench's runs, in order: the raw echo at every depth (benchraw.go),
// the host's echo baseline, then per in-flight depth the purchase run
// (preceded by its 10,000-card subset on a larger population, followed
// by its --loyalty and --security variants), then on a larger
// population the warm-up and the warm pairs (benchscale.go), then the
// --curve.

// benchRow is one run as the tables show it.
type benchRow struct {
	name             string
	rep              terminal.LoadReport
	hostCPU, loadCPU string // per answered request
	commits          commitDelta
}

// benchRun is one invocation's state: the target, the baselines and the
// rows so far.
type benchRun struct {
	ctx    context.Context
	o      benchOptions
	h      benchTarget
	out    io.Writer
	rows   []benchRow
	echo   terminal.LoadReport         // the host's 0800/301 at 1 in flight
	raw    map[int]terminal.LoadReport // the raw echo by depth
	curve  []curvePoint
	idle   *idleReport
	ratios map[string][]string // comparison → its ratio lines, by depth
	// maxPurchase is the best closed-loop purchase throughput over the
	// whole population: the curve's 100 %.
	maxPurchase float64
}

func runBenchLoad(ctx context.Context, o benchOptions, h benchTarget, out io.Writer) error {
	fr, _ := wire.ParseFraming(o.framing)
	pk, _ := wire.NewPackager(o.packager)
	lts := benchTerminals(o.terminals)
	cards := benchCards(o.cards)
	base := terminal.LoadConfig{
		Dial: terminal.TCPDialer(h.addr), Framing: fr, Packager: pk,
		Terminals: lts, Connections: o.connections, Cards: cards, Duration: o.duration,
		MinAmount: 1, MaxAmount: 100,
	}
	if o.mix == "purchase" {
		base.Mix = terminal.Mix{Purchase: 1}
	}
	b := &benchRun{ctx: ctx, o: o, h: h, out: out, raw: map[int]terminal.LoadReport{}, ratios: map[string][]string{}}
	if o.idleConns > 0 {
		if err := b.measureIdle(fr, pk, lts); err != nil {
			return err
		}
	}
	size, err := terminal.PurchaseRequestSize(pk, lts[0], cards[0])
	if err != nil {
		return err
	}
	depths := []int{1}
	for _, k := range o.inFlight {
		if !slices.Contains(depths, k) {
			depths = append(depths, k)
		}
	}
	for _, k := range depths {
		if err := b.runRaw(k, size); err != nil {
			return err
		}
	}
	echoCfg := base
	echoCfg.EchoOnly, echoCfg.InFlight = true, 1
	if b.echo, err = b.run("echo baseline (0800/301), 1 in flight per connection", echoCfg); err != nil {
		return err
	}
	scale := o.cards > benchSmallCards || o.terminals > benchSmallTerminals
	for _, k := range o.inFlight {
		cfg := base
		cfg.InFlight = k
		var rep terminal.LoadReport
		if scale {
			rep, err = b.scalePair(k, cfg, lts, cards, "cold")
		} else {
			rep, err = b.run(fmt.Sprintf("%s, %d cards and %d terminals, %d in flight per connection", o.mix, o.cards, o.terminals, k), cfg)
		}
		if err != nil {
			return err
		}
		b.maxPurchase = max(b.maxPurchase, rep.Throughput)
		if o.loyalty {
			// The same run on the program with loyalty rules, right after.
			loy := cfg
			loy.Terminals, loy.Cards = benchLoyaltyTerminals(o.terminals), benchLoyaltyCards(o.cards)
			if err := b.compare("loyalty", k, cfg, rep, loy, "earning points (demo rules)", "loyalty"); err != nil {
				return err
			}
		}
		if o.security {
			// The same run with MAC and PIN on, right after: same host,
			// same store, same machine.
			sec := cfg
			sec.Terminals, sec.Cards = benchSecureTerminals(o.terminals), benchPINCards(o.cards)
			if err := b.compare("security", k, cfg, rep, sec, "with MAC and PIN", "MAC and PIN"); err != nil {
				return err
			}
		}
	}
	if scale {
		if err := b.warmScale(base, lts, cards); err != nil {
			return err
		}
	}
	if o.curve {
		if err := b.runCurve(base); err != nil {
			return err
		}
	}
	for _, c := range benchComparisons {
		if r := b.ratios[c.key]; len(r) > 0 {
			fmt.Fprintf(out, "\n%s: %s\n", c.short, strings.Join(r, ", "))
		}
	}
	return b.writeMarkdown()
}

// benchComparisons are the ratios a run may print at its end, in order.
var benchComparisons = []struct{ key, short, long string }{
	{"scale", "full population / 10,000 cards and 256 terminals, cold (as provisioned)",
		"Purchase throughput over the whole population over the same run over its first 10,000 cards and 256 terminals, same host, back to back, as provisioned (the population's cards mostly touched for the first time)"},
	{"scale-warm", "full population / 10,000 cards and 256 terminals, warm (after one purchase with every card)",
		"The same pairs after a warm-up pass that made one purchase with every card of the population (the host keeps them all: hot_cards is the population)"},
	{"security", "MAC and PIN on / off", "Purchase throughput with MAC and PIN on over off, same host, back to back"},
	{"loyalty", "loyalty on / off", "Purchase throughput earning points under the demo rules over no loyalty, same host, back to back"},
}

// run makes one load run of cfg (see measure).
func (b *benchRun) run(name string, cfg terminal.LoadConfig) (terminal.LoadReport, error) {
	return b.measure(name, func() (terminal.LoadReport, error) { return terminal.RunLoad(b.ctx, cfg) })
}

// measure makes one run after the host went quiet, prints its report,
// its CPU per request and its ratios to the baselines, and keeps its row.
func (b *benchRun) measure(name string, load func() (terminal.LoadReport, error)) (terminal.LoadReport, error) {
	fmt.Fprintf(b.out, "\n== %s\n", name)
	if b.h.profiles != "" {
		// Before waiting for quiet: the host has switched files by then.
		b.h.runs++
		if err := syscall.Kill(b.h.pid, syscall.SIGUSR1); err != nil {
			return terminal.LoadReport{}, fmt.Errorf("--cpuprofile-runs: signal the host: %w", err)
		}
		fmt.Fprintf(b.out, "host profile %s\n", runProfilePath(b.h.profiles, b.h.runs))
	}
	if waited := waitIdle(b.h.clocks); waited > time.Second {
		fmt.Fprintf(b.out, "(waited %s for the host to go quiet)\n", waited.Round(100*time.Millisecond))
	}
	c0, err := scrapeCommits(b.ctx, b.h.metricsAddr)
	if err != nil {
		return terminal.LoadReport{}, err
	}
	h0, l0, ok0 := b.h.clocks()
	t0 := time.Now()
	var rep terminal.LoadReport
	// The label lets a --load-cpuprofile be read one run at a time
	// (go tool pprof -tagfocus run=…); the run's goroutines inherit it.
	pprof.Do(b.ctx, pprof.Labels("run", name), func(context.Context) { rep, err = load() })
	if err != nil {
		return rep, err
	}
	h1, l1, ok1 := b.h.clocks()
	elapsed := time.Since(t0)
	c1, err := scrapeCommits(b.ctx, b.h.metricsAddr)
	if err != nil {
		return rep, err
	}
	fmt.Fprint(b.out, terminal.FormatReport(rep))
	r := benchRow{name: name, rep: rep, hostCPU: "-", loadCPU: "-", commits: c1.since(c0, elapsed)}
	fmt.Fprintf(b.out, "ledger       %s\n", r.commits)
	if ok0 && ok1 {
		// Sign-ons are in the interval too: a few hundred requests
		// against hundreds of thousands.
		n := int64(rep.Latency.Count())
		r.hostCPU, r.loadCPU = perRequest(h1-h0, n), perRequest(l1-l0, n)
		fmt.Fprintf(b.out, "cpu          host %s, load generator %s per request\n", r.hostCPU, r.loadCPU)
	}
	if raw, ok := b.raw[rep.InFlight]; ok {
		fmt.Fprintf(b.out, "ratio        %.2f × raw echo throughput at %d in flight; p99 %.2f × its p99\n",
			terminal.ThroughputRatio(rep, raw), rep.InFlight, terminal.LatencyRatio(rep, raw, 0.99))
	}
	if b.echo.Latency != nil {
		fmt.Fprintf(b.out, "ratio        %.2f × echo throughput; p99 %.2f × echo p99\n",
			terminal.ThroughputRatio(rep, b.echo), terminal.LatencyRatio(rep, b.echo, 0.99))
	}
	b.rows = append(b.rows, r)
	return rep, nil
}

// compare runs alt against the run base was of cfg, as o.pairs pairs
// (the first pair's base is the run already made), and keeps alt's
// throughput over base's under key: the median pair's, with every
// pair's when there are several. A pair's two runs share the host and
// the moment; pairs differ in what the machine does meanwhile, which the
// median keeps out. The store grows with every run (each adds its
// journal entries and leaves compaction work behind), so the run made
// second in a pair is slowed by the first; the order therefore
// alternates — base then alt in odd pairs, alt then base in even ones —
// and over the pairs neither side always pays for the other.
func (b *benchRun) compare(key string, k int, cfg terminal.LoadConfig, base terminal.LoadReport, alt terminal.LoadConfig, what, without string) error {
	var ratios []float64
	for p := 1; p <= b.o.pairs; p++ {
		pair := ""
		if b.o.pairs > 1 {
			pair = fmt.Sprintf(" (pair %d of %d)", p, b.o.pairs)
		}
		runBase := func() error {
			var err error
			base, err = b.run(fmt.Sprintf("%s, %d in flight per connection%s", b.o.mix, k, pair), cfg)
			return err
		}
		var arep terminal.LoadReport
		runAlt := func() error {
			var err error
			arep, err = b.run(fmt.Sprintf("%s %s, %d in flight per connection%s", b.o.mix, what, k, pair), alt)
			return err
		}
		steps := []func() error{runAlt}
		switch {
		case p%2 == 0:
			steps = []func() error{runAlt, runBase}
		case p > 1:
			steps = []func() error{runBase, runAlt}
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		r := terminal.ThroughputRatio(arep, base)
		fmt.Fprintf(b.out, "ratio        %.2f × the run without %s\n", r, without)
		ratios = append(ratios, r)
	}
	b.ratios[key] = append(b.ratios[key], formatRatios(ratios, k))
	return nil
}
