package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/spf13/cobra"
)

// posFlags say which host and which terminal the simulator acts as.
type posFlags struct {
	addr, framing, packager string
	tid, mid                string
	cardsFile               string
	stateDir                string
	tls                     tlsconf.Client // used when tlsCA or tls.Cert is set
}

func (p *posFlags) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&p.addr, "addr", defaultGatewayAddr, "host gateway address")
	f.StringVar(&p.framing, "framing", "len2", "len2, ascii4, len2+tpdu or ascii4+tpdu")
	f.StringVar(&p.packager, "packager", "ascii", "ascii, ascii-hexbitmap or bcd")
	f.StringVar(&p.tid, "tid", "T0000101", "terminal id (field 41)")
	f.StringVar(&p.mid, "mid", "", "merchant id (field 42; default: the terminal's in --cards)")
	f.StringVar(&p.cardsFile, "cards", "testdata/demo.yaml", "provisioning file whose card names (card=alice) and terminals the simulator uses")
	f.StringVar(&p.stateDir, "state-dir", "var/pos", "where the simulated terminals keep STAN and batch state")
	f.StringVar(&p.tls.CA, "tls-ca", "", "dial the host over TLS, trusting this CA (PEM)")
	f.StringVar(&p.tls.Cert, "tls-cert", "", "client certificate (PEM) for a host that asks for one; implies TLS")
	f.StringVar(&p.tls.Key, "tls-key", "", "the client certificate's key (PEM)")
	f.StringVar(&p.tls.ServerName, "tls-server-name", "", "name to check the host's certificate against (default: the host of --addr)")
}

// options resolves the flags against the provisioning file.
func (p *posFlags) options(extraTIDs ...string) (posOptions, error) {
	o := posOptions{addr: p.addr, framing: p.framing, packager: p.packager, stateDir: p.stateDir, cards: map[string]terminal.Card{}}
	if p.tls != (tlsconf.Client{}) {
		cfg, err := p.tls.Config()
		if err != nil {
			return o, fmt.Errorf("--tls-*: %w", err)
		}
		o.tls = cfg
	}
	var file *provision.File
	if p.cardsFile != "" {
		f, err := provision.Load(p.cardsFile)
		if err != nil {
			return o, err
		}
		file = f
		o.cards = cardsOf(f)
	}
	midOf := func(tid string) string {
		if file != nil {
			for _, t := range file.Terminals {
				if t.TID == tid {
					return t.MID
				}
			}
		}
		return ""
	}
	for _, tid := range append([]string{p.tid}, extraTIDs...) {
		mid := midOf(tid)
		if tid == p.tid && p.mid != "" {
			mid = p.mid
		}
		if mid == "" {
			return o, fmt.Errorf("--mid: terminal %s is not in %s; give its merchant id", tid, p.cardsFile)
		}
		o.terminals = append(o.terminals, posTerminal{TID: tid, MID: mid})
	}
	return o, nil
}

func newPOSCmd() *cobra.Command {
	var p posFlags
	cmd := &cobra.Command{
		Use:   "pos",
		Short: "Act as a POS terminal against a running host",
		Long: `Act as a POS terminal: run a scenario file, or one operation.

  cardcenter pos run testdata/pos/demo.pos
  cardcenter pos signon
  cardcenter pos purchase --card alice --amount 12.50
  cardcenter pos refund --card alice --rrn 000000000042 --amount 2.50
  cardcenter pos settle

The terminal's STAN, batch and open transactions persist in --state-dir,
so one-shot commands continue one sequence. Scenario format: go doc ./terminal.`,
	}
	p.register(cmd)
	run := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a POS scenario file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := p.options(secondTerminal(p.cardsFile, p.tid)...)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runScenario(ctx, o, args[0], cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(run)
	for _, op := range []string{"signon", "signoff", "echo", "balance", "preauth", "complete", "purchase",
		"refund", "load", "void", "reverse", "accrual", "redeem", "settle"} {
		cmd.AddCommand(newPOSOpCmd(&p, op))
	}
	return cmd
}

// secondTerminal returns another enabled terminal of the same merchant,
// which scenarios address as "terminal 2".
func secondTerminal(cardsFile, tid string) []string {
	f, err := provision.Load(cardsFile)
	if err != nil {
		return nil
	}
	mid := ""
	for _, t := range f.Terminals {
		if t.TID == tid {
			mid = t.MID
		}
	}
	for _, t := range f.Terminals {
		if t.MID == mid && t.TID != tid && t.Enabled {
			return []string{t.TID}
		}
	}
	return nil
}

func newPOSOpCmd(p *posFlags, op string) *cobra.Command {
	var card, amount, rrn, ref, expect string
	cmd := &cobra.Command{
		Use:   op,
		Short: "Send one " + op + " request",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			words := []string{op}
			if ref != "" {
				words = append(words, ref)
			}
			for _, kv := range [][2]string{{"card", card}, {"amount", amount}, {"rrn", rrn}, {"expect", expect}} {
				if kv[1] != "" {
					words = append(words, kv[0]+"="+kv[1])
				}
			}
			st, ok, err := terminal.ParseStep(strings.Join(words, " "))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("nothing to do")
			}
			o, err := p.options()
			if err != nil {
				return err
			}
			r, closeRunner, err := o.newRunner(cmd.OutOrStdout())
			if err != nil {
				return err
			}
			defer closeRunner()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := r.Exec(ctx, st); err != nil {
				return err
			}
			if f := r.Failures(); len(f) > 0 {
				return fmt.Errorf("%s", strings.Join(f, "; "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&card, "card", "", "card name from --cards, or a PAN")
	f.StringVar(&amount, "amount", "", "amount in yuan, e.g. 12.50")
	f.StringVar(&rrn, "rrn", "", "RRN of the purchase (refund)")
	f.StringVar(&ref, "ref", "", "original (complete, void, reverse): @last, or its RRN")
	f.StringVar(&expect, "expect", "", "expected response code; a different one is an error")
	return cmd
}
