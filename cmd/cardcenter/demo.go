package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/spf13/cobra"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	var h hostFlags
	var demoFile, scenario string
	var exit bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the host with demo data, drive it with the POS simulator, keep serving",
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.DataDir == "" {
				g.DataDir = demoDataDir
			}
			if h.logFmt == "" {
				h.logFmt = "console"
			}
			if h.logLevel == "" {
				h.logLevel = "warn" // the POS lines show every transaction
			}
			c, log, err := h.setup(g)
			if err != nil {
				return err
			}
			file, err := provision.Load(demoFile)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := &Main{Config: c, Log: log, DemoFile: demoFile}
			if err := m.Run(ctx); err != nil {
				m.Close()
				return err
			}
			out := cmd.OutOrStdout()
			if err := demoBanner(ctx, out, m, demoFile); err != nil {
				m.Close()
				return err
			}
			fmt.Fprintf(out, "POS simulator: %s\n\n", scenario)
			var tids []posTerminal
			for _, t := range file.Terminals {
				if t.Enabled {
					tids = append(tids, posTerminal{TID: t.TID, MID: t.MID})
				}
			}
			lc := c.Gateway.Listeners[0]
			err = runScenario(ctx, posOptions{
				addr: m.Gateway.Addrs()[0].String(), framing: lc.Framing, packager: lc.Packager,
				stateDir: filepath.Join(c.DataDir, "pos"), terminals: tids, cards: cardsOf(file),
			}, scenario, out)
			if err != nil && ctx.Err() == nil {
				m.Close()
				return err
			}
			if exit || ctx.Err() != nil {
				return demoStop(out, m)
			}
			fmt.Fprintf(out, "\nThe host keeps running. In another terminal, try the commands in README.md, e.g.\n"+
				"  bin/cardcenter pos purchase --card alice --amount 3.50\n  bin/cardcenter card show alice\n"+
				"Ctrl-C stops it.\n")
			<-ctx.Done()
			return demoStop(out, m)
		},
	}
	h.register(cmd)
	cmd.Flags().StringVar(&demoFile, "demo-file", "testdata/demo.yaml", "provisioning file imported into a new store")
	cmd.Flags().StringVar(&scenario, "scenario", "testdata/pos/demo.pos", "POS scenario to run")
	cmd.Flags().BoolVar(&exit, "exit", false, "stop after the scenario instead of serving on")
	return cmd
}

// demoBanner says where the host listens and whether the store is new or
// continues from an earlier run (with what it holds, and how to start over).
func demoBanner(ctx context.Context, out io.Writer, m *Main, demoFile string) error {
	c := m.Config
	lc := c.Gateway.Listeners[0]
	fmt.Fprintf(out, "cardcenter host on %s (%s, %s), admin API on %s, data in %s\n",
		m.Gateway.Addrs()[0], lc.Framing, lc.Packager, m.adminLn.Addr(), c.DataDir)
	cards, txns, err := storeCounts(ctx, m.Store)
	if err != nil {
		return err
	}
	if m.Imported {
		fmt.Fprintf(out, "new store in %s: imported %s (%d cards)\n", c.DataDir, demoFile, cards)
		return nil
	}
	fmt.Fprintf(out, "continuing the existing store in %s: %d cards, %d transactions (to start over: stop it, rm -rf %s)\n",
		c.DataDir, cards, txns, c.DataDir)
	return nil
}

// storeCounts counts cards and journal entries: a full scan, fine for the
// demo's store.
func storeCounts(ctx context.Context, st *ledger.Store) (cards, txns int, err error) {
	after := ""
	for {
		page, err := st.Cards(after, 1000)
		if err != nil {
			return 0, 0, err
		}
		cards += len(page)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].PAN
	}
	err = st.ScanJournal(ctx, func(*ledger.Txn) error { txns++; return nil })
	return cards, txns, err
}

// demoStop drains and stops the host, and says so: Ctrl-C is answered.
func demoStop(out io.Writer, m *Main) error {
	fmt.Fprintf(out, "\nstopping: draining in-flight requests, committing, closing the store in %s\n", m.Config.DataDir)
	if err := m.Close(); err != nil {
		fmt.Fprintf(out, "stopped with errors: %v\n", err)
		return err
	}
	fmt.Fprintf(out, "stopped cleanly; run it again to continue where it stopped\n")
	return nil
}

// cardsOf turns a provisioning file's card aliases into POS cards.
func cardsOf(f *provision.File) map[string]terminal.Card {
	cards := map[string]terminal.Card{}
	for name, a := range f.Aliases {
		cards[name] = terminal.Card{PAN: a.PAN, Expiry: a.Expiry, ServiceCode: a.ServiceCode}
	}
	return cards
}

type posTerminal struct{ TID, MID string }

type posOptions struct {
	addr, framing, packager string
	tls                     *tls.Config // nil: plain TCP
	stateDir                string
	terminals               []posTerminal
	cards                   map[string]terminal.Card
}

// newTerminals dials one client and puts the terminals on it, each with
// its state file so that STANs and batches continue across runs.
func (o posOptions) newTerminals() ([]*terminal.Terminal, *terminal.Client, error) {
	fr, err := wire.ParseFraming(o.framing)
	if err != nil {
		return nil, nil, err
	}
	pk, err := wire.NewPackager(o.packager)
	if err != nil {
		return nil, nil, err
	}
	dial := terminal.TCPDialer(o.addr)
	if o.tls != nil {
		dial = terminal.TLSDialer(o.addr, o.tls)
	}
	client, err := terminal.NewClient(terminal.ClientConfig{Dial: dial, Framing: fr, Packager: pk})
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		client.Close()
		return nil, nil, err
	}
	var terms []*terminal.Terminal
	for _, t := range o.terminals {
		term, err := terminal.NewTerminal(terminal.TerminalConfig{
			TID: t.TID, MID: t.MID, Conn: client, StatePath: filepath.Join(o.stateDir, t.TID+".json"),
		})
		if err != nil {
			client.Close()
			return nil, nil, err
		}
		terms = append(terms, term)
	}
	return terms, client, nil
}

// newRunner puts the terminals on one client and a scenario runner on
// them that writes one line per request to out; close closes the client.
func (o posOptions) newRunner(out io.Writer) (r *terminal.Runner, close func(), err error) {
	terms, client, err := o.newTerminals()
	if err != nil {
		return nil, nil, err
	}
	r, err = terminal.NewRunner(terminal.RunnerConfig{Terminals: terms, Cards: o.cards, Out: out})
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return r, func() { client.Close() }, nil
}

func runScenario(ctx context.Context, o posOptions, path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc, err := terminal.ParseScenario(f, path)
	if err != nil {
		return err
	}
	r, closeRunner, err := o.newRunner(out)
	if err != nil {
		return err
	}
	defer closeRunner()
	if err := r.Run(ctx, sc); err != nil {
		return err
	}
	if fails := r.Failures(); len(fails) > 0 {
		return &unexpectedAnswers{fails}
	}
	return nil
}

// unexpectedAnswers: a scenario ran, and some steps were not answered as
// their expect= said.
type unexpectedAnswers struct{ fails []string }

func (u *unexpectedAnswers) Error() string {
	return fmt.Sprintf("%d steps did not get the expected answer:\n%s", len(u.fails), strings.Join(u.fails, "\n"))
}
