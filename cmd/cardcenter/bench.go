package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
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
	markdown         string
	inProcess        bool
	security         bool // also purchases with MAC and PIN on (benchsec.go)
	loyalty          bool // also purchases earning under the demo's rules (benchloyalty.go)
	pairs            int  // back-to-back pairs per --security/--loyalty comparison
}

func newBenchCmd() *cobra.Command {
	var o benchOptions
	var inflight string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable authorizations per second against an in-process host",
		Long: `Start a host on a fresh on-disk store (every approval synced before its
response, as in production), provision terminals and cards, and load it
over real TCP: first the 0800/301 echo baseline, then purchases with 1
and with 8 requests in flight per connection. Prints throughput and
latency, and the ratio to the echo baseline measured in the same run.

The host runs as a child process (cardcenter bench-host), as it would in
production, so that the load generator shares the cores through the OS
rather than through the host's own goroutine scheduler; --in-process runs
both in one process.

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
made N times back to back (off, on, off, on, ...) and the median ratio
is reported with every pair's: one pair measures the machine's mood as
much as the feature.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range strings.Split(inflight, ",") {
				var n int
				if _, err := fmt.Sscan(s, &n); err != nil || n < 1 || n > 256 {
					return fmt.Errorf("--in-flight %q: want a comma-separated list of 1..256", inflight)
				}
				o.inFlight = append(o.inFlight, n)
			}
			if o.terminals < 1 || o.terminals > 4096 {
				return fmt.Errorf("--terminals %d: want 1..4096", o.terminals)
			}
			if o.connections == 0 {
				o.connections = o.terminals
			}
			if o.connections < 1 || o.connections > o.terminals {
				return fmt.Errorf("--connections %d: want 1..%d (the terminals)", o.connections, o.terminals)
			}
			if o.pairs < 1 || o.pairs > 9 {
				return fmt.Errorf("--pairs %d: want 1..9", o.pairs)
			}
			if o.cards < 1 || o.cards > 1_000_000 {
				return fmt.Errorf("--cards %d: want 1..1000000", o.cards)
			}
			if o.duration <= 0 || o.duration > time.Hour {
				return fmt.Errorf("--duration %s: want up to 1h", o.duration)
			}
			return runBench(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.terminals, "terminals", 256, "terminals")
	f.IntVar(&o.connections, "connections", 0, "connections the terminals share (default: one per terminal)")
	f.IntVar(&o.cards, "cards", 10000, "card population")
	f.StringVar(&inflight, "in-flight", "1,8", "requests in flight per connection, one run each")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each run")
	f.StringVar(&o.framing, "framing", "len2", "framing")
	f.StringVar(&o.packager, "packager", "ascii", "packager")
	f.StringVar(&o.mix, "mix", "purchase", "purchase, or mixed (purchase/balance/load/refund 60/20/10/10)")
	f.StringVar(&o.dataDir, "data", "", "store directory (default: a fresh temporary one, removed after)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the purchase runs here")
	f.StringVar(&o.markdown, "markdown", "", "also write the results as a Markdown table to this file")
	f.BoolVar(&o.inProcess, "in-process", false, "run the host in this process instead of a child process")
	f.BoolVar(&o.security, "security", false, "also run each purchase run with MAC and PIN on, and print the ratio")
	f.BoolVar(&o.loyalty, "loyalty", false, "also run each purchase run on a program with the demo's loyalty rules, and print the ratio")
	f.IntVar(&o.pairs, "pairs", 1, "with --security or --loyalty: back-to-back pairs per comparison; the median ratio is reported")
	return cmd
}

func runBench(ctx context.Context, o benchOptions, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
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
	if o.security {
		fmt.Fprintf(out, "provisioning %d terminals and %d cards without keys, as many with keys and PINs, in %s …\n", o.terminals, o.cards, dir)
	} else {
		fmt.Fprintf(out, "provisioning %d terminals and %d cards in %s …\n", o.terminals, o.cards, dir)
	}
	var addr string
	var stop func() error
	var clocks cpuClocks
	if o.inProcess {
		h, err := startBenchHost(ctx, dir, o)
		if err != nil {
			return err
		}
		addr, stop, clocks = h.addr, func() error { return h.close(out) }, inProcessClocks
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
		addr, stop, clocks = child.addr, child.stop, childClocks(child.cmd.Process.Pid)
	}
	err := runBenchLoad(ctx, o, addr, clocks, out)
	if serr := stop(); err == nil {
		err = serr
	}
	return err
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

// benchTerminals and benchCards are the population provisionBench
// registers; the load generator derives the same lists from the counts.
func benchTerminals(n int) []terminal.LoadTerminal {
	var lts []terminal.LoadTerminal
	for i := 0; i < n; i++ {
		lts = append(lts, terminal.LoadTerminal{TID: fmt.Sprintf("B%07d", i), MID: benchMID(i / 32), Batch: 1})
	}
	return lts
}

func benchMID(i int) string { return fmt.Sprintf("BENCH%010d", i) }

func benchCards(n int) []terminal.Card {
	cards := make([]terminal.Card, n)
	for i := range cards {
		body := fmt.Sprintf("629000%09d", i)
		cards[i] = terminal.Card{PAN: body + string(cardnum.LuhnDigit(body)), Expiry: "4912", ServiceCode: "101"}
	}
	return cards
}

func runBenchLoad(ctx context.Context, o benchOptions, addr string, clocks cpuClocks, out io.Writer) error {
	fr, _ := wire.ParseFraming(o.framing)
	pk, _ := wire.NewPackager(o.packager)
	lts := benchTerminals(o.terminals)
	base := terminal.LoadConfig{
		Dial: terminal.TCPDialer(addr), Framing: fr, Packager: pk,
		Terminals: lts, Connections: o.connections, Cards: benchCards(o.cards), Duration: o.duration,
		MinAmount: 1, MaxAmount: 100,
	}
	if o.mix == "purchase" {
		base.Mix = terminal.Mix{Purchase: 1}
	} else if o.mix != "mixed" {
		return fmt.Errorf("--mix %q: want purchase or mixed", o.mix)
	}
	type row struct {
		name             string
		rep              terminal.LoadReport
		hostCPU, loadCPU string // per answered request
	}
	var rows []row
	run := func(name string, cfg terminal.LoadConfig) (terminal.LoadReport, error) {
		fmt.Fprintf(out, "\n== %s\n", name)
		if waited := waitIdle(clocks); waited > time.Second {
			fmt.Fprintf(out, "(waited %s for the host to go quiet)\n", waited.Round(100*time.Millisecond))
		}
		h0, l0, ok0 := clocks()
		rep, err := terminal.RunLoad(ctx, cfg)
		if err != nil {
			return rep, err
		}
		h1, l1, ok1 := clocks()
		fmt.Fprint(out, terminal.FormatReport(rep))
		r := row{name: name, rep: rep, hostCPU: "-", loadCPU: "-"}
		if ok0 && ok1 {
			// Sign-ons are in the interval too: a few hundred requests
			// against hundreds of thousands.
			n := int64(rep.Latency.Count())
			r.hostCPU, r.loadCPU = perRequest(h1-h0, n), perRequest(l1-l0, n)
			fmt.Fprintf(out, "cpu          host %s, load generator %s per request\n", r.hostCPU, r.loadCPU)
		}
		rows = append(rows, r)
		return rep, nil
	}
	echoCfg := base
	echoCfg.EchoOnly, echoCfg.InFlight = true, 1
	echo, err := run("echo baseline (0800/301), 1 in flight per connection", echoCfg)
	if err != nil {
		return err
	}
	// compare runs alt right after the run base was of cfg, as o.pairs
	// back-to-back pairs (the first pair's base is the run already
	// made), and says alt's throughput over base's: the median pair's,
	// with every pair's when there are several. A pair's two runs share
	// the host, the store and the moment; pairs differ in what the
	// machine does meanwhile, which the median keeps out.
	compare := func(k int, cfg terminal.LoadConfig, base terminal.LoadReport, alt terminal.LoadConfig, what, without string) (string, error) {
		var ratios []float64
		for p := 1; p <= o.pairs; p++ {
			pair := ""
			if o.pairs > 1 {
				pair = fmt.Sprintf(" (pair %d of %d)", p, o.pairs)
			}
			if p > 1 {
				var err error
				if base, err = run(fmt.Sprintf("%s, %d in flight per connection%s", o.mix, k, pair), cfg); err != nil {
					return "", err
				}
			}
			arep, err := run(fmt.Sprintf("%s %s, %d in flight per connection%s", o.mix, what, k, pair), alt)
			if err != nil {
				return "", err
			}
			r := terminal.ThroughputRatio(arep, base)
			fmt.Fprintf(out, "ratio        %.2f × echo throughput; %.2f × the run without %s\n",
				terminal.ThroughputRatio(arep, echo), r, without)
			ratios = append(ratios, r)
		}
		return formatRatios(ratios, k), nil
	}
	var secRatios, loyRatios []string
	for _, k := range o.inFlight {
		cfg := base
		cfg.InFlight = k
		rep, err := run(fmt.Sprintf("%s, %d in flight per connection", o.mix, k), cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ratio        %.2f × echo throughput; p99 %.2f × echo p99\n",
			terminal.ThroughputRatio(rep, echo), terminal.LatencyRatio(rep, echo, 0.99))
		if o.loyalty {
			// The same run on the program with loyalty rules, right after.
			loy := cfg
			loy.Terminals, loy.Cards = benchLoyaltyTerminals(o.terminals), benchLoyaltyCards(o.cards)
			r, err := compare(k, cfg, rep, loy, "earning points (demo rules)", "loyalty")
			if err != nil {
				return err
			}
			loyRatios = append(loyRatios, r)
		}
		if o.security {
			// The same run with MAC and PIN on, right after: same host,
			// same store, same machine.
			sec := cfg
			sec.Terminals, sec.Cards = benchSecureTerminals(o.terminals), benchPINCards(o.cards)
			r, err := compare(k, cfg, rep, sec, "with MAC and PIN", "MAC and PIN")
			if err != nil {
				return err
			}
			secRatios = append(secRatios, r)
		}
	}
	if len(secRatios) > 0 {
		fmt.Fprintf(out, "\nMAC and PIN on / off: %s\n", strings.Join(secRatios, ", "))
	}
	if len(loyRatios) > 0 {
		fmt.Fprintf(out, "\nloyalty on / off: %s\n", strings.Join(loyRatios, ", "))
	}
	if o.markdown != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "| run | connections × in flight | throughput /s | ratio to echo | p50 | p99 | p99.9 | approved | declined | errors | host CPU / request |\n")
		fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %d × %d | %.0f | %.2f | %s | %s | %s | %d | %d | %d | %s |\n",
				r.name, r.rep.Connections, r.rep.InFlight, r.rep.Throughput, terminal.ThroughputRatio(r.rep, echo),
				r.rep.P50.Round(time.Microsecond), r.rep.P99.Round(time.Microsecond), r.rep.P999.Round(time.Microsecond),
				r.rep.Approved, r.rep.Requests-r.rep.Approved-r.rep.Errors, r.rep.Errors, r.hostCPU)
		}
		if len(secRatios) > 0 {
			fmt.Fprintf(&b, "\nPurchase throughput with MAC and PIN on over off, same host, back to back: %s.\n", strings.Join(secRatios, ", "))
		}
		if len(loyRatios) > 0 {
			fmt.Fprintf(&b, "\nPurchase throughput earning points under the demo rules over no loyalty, same host, back to back: %s.\n", strings.Join(loyRatios, ", "))
		}
		if err := os.WriteFile(o.markdown, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchHost is a host for benchmarks: a fresh store, provisioned, behind
// a gateway on an ephemeral port, no logs.
type benchHost struct {
	st   *ledger.Store
	srv  *gateway.Server
	addr string
}

func startBenchHost(ctx context.Context, dir string, o benchOptions) (*benchHost, error) {
	// A production host always has a master key and runs the security
	// step; the bench does too (an ephemeral key: the store is thrown
	// away), whether or not it provisions keys.
	ring, err := ephemeralRing()
	if err != nil {
		return nil, err
	}
	st, err := ledger.Open(dir, ledger.Options{Logger: zerolog.Nop(), Sealer: ring})
	if err != nil {
		return nil, err
	}
	err = provisionBench(ctx, st, o.terminals, o.cards, o.security)
	if err == nil && o.security {
		err = provisionBenchSecurity(ctx, st, o.terminals, o.cards)
	}
	if err == nil && o.loyalty {
		err = provisionBenchLoyalty(ctx, st, o.terminals, o.cards)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	// Every load connection comes from 127.0.0.1: the per-source limit
	// must admit them all (the terminals bound the connections), and the
	// total as well.
	srv, err := gateway.New(gateway.Config{
		Listeners:               []gateway.ListenerConfig{{Addr: "127.0.0.1:0", Framing: o.framing, Packager: o.packager}},
		MaxConnections:          max(gateway.DefaultMaxConnections, o.terminals),
		MaxConnectionsPerSource: o.terminals,
		Logger:                  zerolog.Nop(),
		Keys:                    st,
	}, st)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return &benchHost{st: st, srv: srv, addr: srv.Addrs()[0].String()}, nil
}

// close drains the gateway, checks the ledger and closes it.
func (h *benchHost) close(out io.Writer) error {
	h.srv.Shutdown(context.Background())
	defer h.st.Close()
	rep, err := h.st.Check(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nledger check: %d accounts, %d transfers, %d journal entries, consistent=%v\n",
		rep.Accounts, rep.Transfers, rep.Txns, rep.OK())
	if !rep.OK() {
		return fmt.Errorf("ledger inconsistent after the load: %v", rep.Problems)
	}
	return nil
}

// provisionBench registers one program, a merchant per 32 terminals, the
// terminals, and the cards with a large opening balance, many writes at a
// time so that group commit batches them.
func provisionBench(ctx context.Context, st *ledger.Store, nTerm, nCards int, security bool) error {
	if err := st.PutProgram(ctx, benchProgram(security)); err != nil {
		return err
	}
	for i, lt := range benchTerminals(nTerm) {
		if i%32 == 0 {
			if err := st.PutMerchant(ctx, ledger.Merchant{MID: lt.MID, ProgramID: "bench", Home: true, MDRBP: 50}); err != nil {
				return err
			}
		}
		if err := st.PutTerminal(ctx, ledger.Terminal{TID: lt.TID, MID: lt.MID, Enabled: true}); err != nil {
			return err
		}
	}
	cards := benchCards(nCards)
	return provisionCards(ctx, st, len(cards), func(i int) (ledger.Card, error) {
		return ledger.Card{PAN: cards[i].PAN, ProgramID: "bench", HomeMID: benchMID(0),
			Product: "magstripe", State: ledger.CardActive, Expiry: "4912", MaxBalance: 1_000_000_000,
			Member: ledger.Member{Registered: true}}, nil
	})
}

// provisionCards registers n cards made by card, each with a large
// opening balance, many writes at a time so that group commit batches
// them.
func provisionCards(ctx context.Context, st *ledger.Store, n int, card func(i int) (ledger.Card, error)) error {
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	next := make(chan int)
	for w := 0; w < provisionWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := card(i)
				if err == nil {
					err = st.PutCard(ctx, c)
				}
				if err == nil {
					_, err = st.Adjust(ctx, c.PAN, 100_000_000, "bench opening balance")
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return nil
}

// provisionWorkers submit cards at once, so that group commit batches them.
const provisionWorkers = 64

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
