package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// benchOptions configure one bench run.
type benchOptions struct {
	terminals, cards int
	inFlight         []int
	duration         time.Duration
	framing          string
	packager         string
	mix              string
	dataDir          string
	cpuProfile       string
	markdown         string
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
latency, and the ratio to the echo baseline measured in the same run.`,
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
	f.IntVar(&o.terminals, "terminals", 256, "terminals, one connection each")
	f.IntVar(&o.cards, "cards", 10000, "card population")
	f.StringVar(&inflight, "in-flight", "1,8", "requests in flight per connection, one run each")
	f.DurationVar(&o.duration, "duration", 10*time.Second, "measured time of each run")
	f.StringVar(&o.framing, "framing", "len2", "framing")
	f.StringVar(&o.packager, "packager", "ascii", "packager")
	f.StringVar(&o.mix, "mix", "purchase", "purchase, or mixed (purchase/balance/load/refund 60/20/10/10)")
	f.StringVar(&o.dataDir, "data", "", "store directory (default: a fresh temporary one, removed after)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the purchase runs here")
	f.StringVar(&o.markdown, "markdown", "", "also write the results as a Markdown table to this file")
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
	st, err := ledger.Open(dir, ledger.Options{Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(out, "provisioning %d terminals and %d cards in %s …\n", o.terminals, o.cards, dir)
	lts, cards, err := provisionBench(ctx, st, o.terminals, o.cards)
	if err != nil {
		return err
	}
	srv, err := gateway.New(gateway.Config{
		Listeners: []gateway.ListenerConfig{{Addr: "127.0.0.1:0", Framing: o.framing, Packager: o.packager}},
		Logger:    zerolog.Nop(),
	}, st)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	fr, _ := wire.ParseFraming(o.framing)
	pk, _ := wire.NewPackager(o.packager)
	addr := srv.Addrs()[0].String()
	base := terminal.LoadConfig{
		Dial: terminal.TCPDialer(addr), Framing: fr, Packager: pk,
		Terminals: lts, Connections: len(lts), Cards: cards, Duration: o.duration,
		MinAmount: 1, MaxAmount: 100,
	}
	if o.mix == "purchase" {
		base.Mix = terminal.Mix{Purchase: 1}
	} else if o.mix != "mixed" {
		return fmt.Errorf("--mix %q: want purchase or mixed", o.mix)
	}
	type row struct {
		name string
		rep  terminal.LoadReport
	}
	var rows []row
	run := func(name string, cfg terminal.LoadConfig) (terminal.LoadReport, error) {
		fmt.Fprintf(out, "\n== %s\n", name)
		rep, err := terminal.RunLoad(ctx, cfg)
		if err != nil {
			return rep, err
		}
		fmt.Fprint(out, terminal.FormatReport(rep))
		rows = append(rows, row{name, rep})
		return rep, nil
	}
	echoCfg := base
	echoCfg.EchoOnly, echoCfg.InFlight = true, 1
	echo, err := run("echo baseline (0800/301), 1 in flight per connection", echoCfg)
	if err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, k := range o.inFlight {
		cfg := base
		cfg.InFlight = k
		rep, err := run(fmt.Sprintf("%s, %d in flight per connection", o.mix, k), cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ratio        %.2f × echo throughput; p99 %.2f × echo p99\n",
			terminal.ThroughputRatio(rep, echo), terminal.LatencyRatio(rep, echo, 0.99))
	}
	rep, err := st.Check(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nledger check: %d accounts, %d transfers, %d journal entries, consistent=%v\n",
		rep.Accounts, rep.Transfers, rep.Txns, rep.OK())
	if !rep.OK() {
		return fmt.Errorf("ledger inconsistent after the load: %v", rep.Problems)
	}
	if o.markdown != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "| run | connections × in flight | throughput /s | ratio to echo | p50 | p99 | p99.9 | approved | declined | errors |\n")
		fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %d × %d | %.0f | %.2f | %s | %s | %s | %d | %d | %d |\n",
				r.name, r.rep.Connections, r.rep.InFlight, r.rep.Throughput, terminal.ThroughputRatio(r.rep, echo),
				r.rep.P50.Round(time.Microsecond), r.rep.P99.Round(time.Microsecond), r.rep.P999.Round(time.Microsecond),
				r.rep.Approved, r.rep.Requests-r.rep.Approved-r.rep.Errors, r.rep.Errors)
		}
		if err := os.WriteFile(o.markdown, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// provisionBench registers one program, a merchant per 32 terminals, the
// terminals, and the cards with a large opening balance, many writes at a
// time so that group commit batches them.
func provisionBench(ctx context.Context, st *ledger.Store, nTerm, nCards int) ([]terminal.LoadTerminal, []terminal.Card, error) {
	const mids = "BENCH%010d"
	if err := st.PutProgram(ctx, ledger.Program{ID: "bench", Name: "Bench", Currency: "156", PointCost: 1, RedemptionValue: 1}); err != nil {
		return nil, nil, err
	}
	var lts []terminal.LoadTerminal
	for i := 0; i < nTerm; i++ {
		mid := fmt.Sprintf(mids, i/32)
		if i%32 == 0 {
			if err := st.PutMerchant(ctx, ledger.Merchant{MID: mid, ProgramID: "bench", Home: true, MDRBP: 50}); err != nil {
				return nil, nil, err
			}
		}
		tid := fmt.Sprintf("B%07d", i)
		if err := st.PutTerminal(ctx, ledger.Terminal{TID: tid, MID: mid, Enabled: true}); err != nil {
			return nil, nil, err
		}
		lts = append(lts, terminal.LoadTerminal{TID: tid, MID: mid, Batch: 1})
	}
	cards := make([]terminal.Card, nCards)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	workers := 4 * runtime.GOMAXPROCS(0) * 8
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := fmt.Sprintf("629000%09d", i)
				pan := body + string(ledger.LuhnDigit(body))
				cards[i] = terminal.Card{PAN: pan, Expiry: "4912", ServiceCode: "101"}
				err := st.PutCard(ctx, ledger.Card{PAN: pan, ProgramID: "bench", HomeMID: fmt.Sprintf(mids, 0),
					Product: "magstripe", State: ledger.CardActive, Expiry: "4912", MaxBalance: 1_000_000_000,
					Member: ledger.Member{Registered: true}})
				if err == nil {
					_, err = st.Adjust(ctx, pan, 100_000_000, "bench opening balance")
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
	for i := 0; i < nCards; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, nil, err
	default:
	}
	return lts, cards, nil
}
