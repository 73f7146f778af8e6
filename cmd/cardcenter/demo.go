package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/spf13/cobra"
)

// writeReadyFile records where a running host listens, for scripts and
// tests that start it on ephemeral ports.
func writeReadyFile(path string, m *Main) error {
	ready := struct {
		Gateway []string `json:"gateway"`
		Admin   string   `json:"admin"`
		PID     int      `json:"pid"`
	}{Admin: m.adminLn.Addr().String(), PID: os.Getpid()}
	for _, a := range m.Gateway.Addrs() {
		ready.Gateway = append(ready.Gateway, a.String())
	}
	raw, _ := json.Marshal(ready)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newDemoCmd(g *globalFlags) *cobra.Command {
	var h hostFlags
	var demoFile, scenario string
	var exit bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the host with demo data, drive it with the POS simulator, keep serving",
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.DataDir == "" {
				g.DataDir = "var/demo"
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
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m := &Main{Config: c, Log: log, DemoFile: demoFile}
			defer m.Close()
			if err := m.Run(ctx); err != nil {
				return err
			}
			lc := c.Gateway.Listeners[0]
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cardcenter host on %s (%s, %s), admin API on %s, data in %s\n",
				m.Gateway.Addrs()[0], lc.Framing, lc.Packager, m.adminLn.Addr(), c.DataDir)
			fmt.Fprintf(out, "POS simulator: %s\n\n", scenario)
			var tids []posTerminal
			for _, t := range file.Terminals {
				if t.Enabled {
					tids = append(tids, posTerminal{TID: t.TID, MID: t.MID})
				}
			}
			err = runScenario(ctx, posOptions{
				addr: m.Gateway.Addrs()[0].String(), framing: lc.Framing, packager: lc.Packager,
				stateDir: filepath.Join(c.DataDir, "pos"), terminals: tids, cards: cardsOf(file),
			}, scenario, out)
			if err != nil {
				return err
			}
			if exit {
				return nil
			}
			fmt.Fprintf(out, "\nThe host keeps running; try: bin/cardcenter pos purchase --card alice --amount 3.50 --state-dir %s\nCtrl-C stops it.\n", filepath.Join(c.DataDir, "pos"))
			<-ctx.Done()
			return nil
		},
	}
	h.register(cmd)
	cmd.Flags().StringVar(&demoFile, "demo-file", "testdata/demo.yaml", "provisioning file imported into a new store")
	cmd.Flags().StringVar(&scenario, "scenario", "testdata/pos/demo.pos", "POS scenario to run")
	cmd.Flags().BoolVar(&exit, "exit", false, "stop after the scenario instead of serving on")
	return cmd
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
		return fmt.Errorf("%d steps did not get the expected answer:\n%v", len(fails), fails)
	}
	return nil
}
