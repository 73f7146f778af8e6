package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
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
			if err := demoKeysLoaded(m, file); err != nil {
				m.Close()
				return err
			}
			ac, err := demoAdmin(m)
			if err == nil {
				err = demoCatalog(ctx, out, ac, file)
			}
			if err != nil {
				m.Close()
				return err
			}
			fmt.Fprintf(out, "POS simulator: %s\n%s\n", scenario, demoLegend)
			lc := c.Gateway.Listeners[0]
			err = runScenario(ctx, posOptions{
				addr: m.Gateway.Addrs()[0].String(), framing: lc.Framing, packager: lc.Packager,
				stateDir: filepath.Join(c.DataDir, "pos"), terminals: enabledTerminals(file), cards: cardsOf(file),
				pin: cardholderPIN(file), prov: file, provName: demoFile,
			}, scenario, out)
			if err != nil && ctx.Err() == nil {
				m.Close()
				return err
			}
			if ctx.Err() == nil {
				if err := demoMemberView(ctx, out, ac, file); err != nil {
					m.Close()
					return err
				}
				if err := demoSettlementPreview(ctx, out, ac, m.Store); err != nil {
					m.Close()
					return err
				}
			}
			if exit || ctx.Err() != nil {
				return demoStop(out, m)
			}
			fmt.Fprintf(out, "\nThe host keeps running. In another terminal, try the commands in README.md, e.g.\n"+
				"  bin/cardcenter pos purchase --card alice --amount 3.50\n"+
				"  bin/cardcenter pos purchase --card alice --amount 3.50 --entry chip\n"+
				"  bin/cardcenter pos purchase --card mei --amount 150.00\n"+
				"  bin/cardcenter card show alice\n"+
				"  bin/cardcenter card loyalty alice\n"+
				"  bin/cardcenter mall reward list mallcoalition\n"+
				"  bin/cardcenter report merchant --date %s\n"+
				"Ctrl-C stops it.\n", ledger.FormatBusinessDate(m.Store.BusinessDate()))
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

// enabledTerminals are the file's enabled terminals as the POS
// simulator drives them, each with its master key from the file.
func enabledTerminals(file *provision.File) []posTerminal {
	var out []posTerminal
	for _, t := range file.Terminals {
		if t.Enabled {
			out = append(out, posTerminal{TID: t.TID, MID: t.MID, TMK: file.TerminalTMK(t.TID)})
		}
	}
	return out
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

// demoLegend tells a newcomer what the ends of the POS lines mean.
const demoLegend = `Each line is one request and the host's answer. Contract section 7 shows as:
  keys=ok        signon: the terminal got working keys (TPK, TAK) under its TMK, check values match
  mac=ok         the request went out with a MAC (TAK) and the host's response MAC verified
  pin=entered    the cardholder typed a PIN; it went as a PIN block under the TPK (55: wrong PIN)
  atc=N arpc=ok  chip: the card's counter N and ARQC; the host's ARPC in the response verified
Loyalty (docs/loyalty.md) shows after the balances:
  points=N       the card's points after the request
  earned=N       points the request earned: 1 a yuan x the tier's multiplier x the best campaign's (December: x2)
  debited=N      points it took: a redemption (910000) paid with them, or a void or refund taking back what was earned
`

// demoKeysLoaded refuses a demo store made before the demo file gave
// its terminals master keys: the simulator would expect keys the host
// cannot send. Starting over is the remedy.
func demoKeysLoaded(m *Main, file *provision.File) error {
	for _, t := range file.Terminals {
		if !t.Enabled || file.TerminalTMK(t.TID) == nil {
			continue
		}
		term, _, err := m.Store.Terminal(t.TID)
		if err != nil {
			return err
		}
		if term != nil && term.TMK == nil {
			return fmt.Errorf("the store in %s was made before %s gave terminal %s a master key (tmk); "+
				"to start over: rm -rf %s", m.Config.DataDir, m.DemoFile, t.TID, m.Config.DataDir)
		}
		return nil // one is enough: the file is imported whole
	}
	return nil
}
