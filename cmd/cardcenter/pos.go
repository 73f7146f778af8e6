package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/spf13/cobra"
)

// posFlags say which host and which terminal the simulator acts as.
type posFlags struct {
	g                       *globalFlags
	addr, framing, packager string
	tid, mid                string
	cardsFile               string
	stateDir                string
	tls                     tlsconf.Client // used when tlsCA or tls.Cert is set
	serial                  string         // a serial device instead of --addr
	baud                    int
}

func (p *posFlags) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&p.addr, "addr", defaultGatewayAddr, "host gateway address")
	f.StringVar(&p.framing, "framing", "len2", "len2, ascii4, len2+tpdu or ascii4+tpdu; with --serial stx-bcd (its default), stx-binary, stx-bcd+tpdu or stx-binary+tpdu")
	f.StringVar(&p.serial, "serial", "", "drive a serial line (e.g. /dev/ttyUSB0) instead of --addr: STX, length, message, ETX, LRC with ACK/NAK (docs/devices.md)")
	f.IntVar(&p.baud, "baud", 9600, "with --serial: the line speed")
	f.StringVar(&p.packager, "packager", "ascii", "ascii, ascii-hexbitmap or bcd")
	f.StringVar(&p.tid, "tid", "T0000101", "terminal id (field 41)")
	f.StringVar(&p.mid, "mid", "", "merchant id (field 42; default: the terminal's in --cards)")
	f.StringVar(&p.cardsFile, "cards", "testdata/demo.yaml", "provisioning file whose card names (card=alice) and terminals the simulator uses")
	f.StringVar(&p.stateDir, "state-dir", "", "where the simulated terminals keep STAN and batch state (default DATA/pos: the demo's, var/demo/pos, while make run runs)")
	f.StringVar(&p.tls.CA, "tls-ca", "", "dial the host over TLS, trusting this CA (PEM)")
	f.StringVar(&p.tls.Cert, "tls-cert", "", "client certificate (PEM) for a host that asks for one; implies TLS")
	f.StringVar(&p.tls.Key, "tls-key", "", "the client certificate's key (PEM)")
	f.StringVar(&p.tls.ServerName, "tls-server-name", "", "name to check the host's certificate against (default: the host of --addr)")
}

// resolve fills what the flags leave open from the host running from the
// data directory (--data, else var/data or var/demo): its first gateway
// listener, and DATA/pos as the terminals' state, which is where the demo
// keeps them, so a one-shot command continues the demo terminal's STAN and
// batch instead of reusing a batch the demo closed (answered 12).
func (p *posFlags) resolve(cmd *cobra.Command) {
	dir := p.g.dataDir()
	if p.stateDir == "" {
		p.stateDir = filepath.Join(dir, "pos")
	}
	if p.serial != "" {
		if !cmd.Flag("framing").Changed {
			p.framing = wire.DefaultLineFraming
		}
		return // a serial line: the host file's addresses do not apply
	}
	h, err := readHostFile(dir)
	if err != nil || len(h.Listeners) == 0 || cmd.Flag("addr").Changed {
		return
	}
	l := h.Listeners[0]
	p.addr = l.Addr
	if l.Framing != "" && !cmd.Flag("framing").Changed {
		p.framing = l.Framing
	}
	if l.Packager != "" && !cmd.Flag("packager").Changed {
		p.packager = l.Packager
	}
}

// options resolves the flags against the provisioning file.
func (p *posFlags) options(extraTIDs ...string) (posOptions, error) {
	o := posOptions{addr: p.addr, framing: p.framing, packager: p.packager, stateDir: p.stateDir, cards: map[string]terminal.Card{},
		serial: p.serial, baud: p.baud}
	if p.serial != "" && p.tls != (tlsconf.Client{}) {
		return o, fmt.Errorf("--serial and --tls-*: TLS is for TCP; give one")
	}
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
		o.cards, o.pin = cardsOf(f), cardholderPIN(f)
	}
	o.prov, o.provName = file, p.cardsFile
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
		o.terminals = append(o.terminals, posTerminal{TID: tid, MID: mid, TMK: tmkOf(file, tid)})
	}
	return o, nil
}

// Exit status of the pos commands: 0 approved (or answered as --expect
// said), 1 answered with another code (the code is printed), 2 the
// command could not run: bad flags or arguments, a state or card file
// that does not load, no connection, no answer.
const (
	posExitDeclined = 1
	posExitUsage    = 2
)

func newPOSCmd(g *globalFlags) *cobra.Command {
	p := posFlags{g: g}
	cmd := &cobra.Command{
		Use:   "pos",
		Short: "Act as a POS terminal against a running host",
		Long: `Act as a POS terminal: run a scenario file, or one operation.

  cardcenter pos run testdata/pos/demo.pos
  cardcenter pos signon
  cardcenter pos purchase --card alice --amount 12.50
  cardcenter pos purchase --card alice --amount 8.00 --entry chip
  cardcenter pos purchase --card mei --amount 150.00            # her PIN from --cards
  cardcenter pos purchase --card mei --amount 150.00 --pin 0000 # a wrong PIN: 55
  cardcenter pos refund --card alice --rrn 000000000042 --amount 2.50
  cardcenter pos settle
  cardcenter pos --serial /dev/ttyUSB0 purchase --card alice --amount 12.50
  cardcenter pos purchase --track '%B6210...^MEMBER/ALICE^2912101?;6210...=2912101?' --amount 12.50
  cardcenter pos purchase --track - --amount 12.50   # swipe into stdin (a USB reader in keyboard mode)

Keys, MAC, PIN and chip (contract section 7) come from the --cards file:
a terminal with a tmk there takes working keys at signon (printed
keys=ok), MACs every request after it and checks the host's MAC (mac=ok);
the cardholder enters the card's pin from the file whenever its product
asks for one (pin=entered), or --pin's, or none with --no-pin; --entry
chip presents a chip card with its program's issuer_master_key and its
psn, counting its ATC up and checking the host's ARPC (atc=N arpc=ok).

The terminal's STAN, batch and open transactions persist in --state-dir
(default DATA/pos, so while make run runs the demo's terminals in
var/demo/pos), so one-shot commands continue one sequence. Without --addr
the simulator talks to the gateway of the host running from DATA;
with --serial it drives that serial device instead (framing stx-bcd
unless --framing says otherwise), one request at a time.
Scenario format: go doc ./terminal.

Exit status: 0 when the host approved (00), or answered what --expect
names; 1 when it answered another code (printed with its meaning); 2 when
the request could not be made (bad flags, files, no connection).`,
	}
	p.register(cmd)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return posUsage(err) })
	run := &cobra.Command{
		Use:   "run FILE",
		Short: "Run a POS scenario file",
		Args:  posArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.resolve(cmd)
			o, err := p.options(secondTerminal(p.cardsFile, p.tid)...)
			if err != nil {
				return posUsage(err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = runScenario(ctx, o, args[0], cmd.OutOrStdout())
			var un *unexpectedAnswers
			if errors.As(err, &un) {
				return &exitError{code: posExitDeclined, err: err}
			}
			return posUsage(err)
		},
	}
	cmd.AddCommand(run)
	for _, op := range []string{"signon", "signoff", "echo", "balance", "preauth", "complete", "purchase",
		"refund", "load", "void", "reverse", "accrual", "redeem", "settle"} {
		cmd.AddCommand(newPOSOpCmd(&p, op))
	}
	return cmd
}

// posUsage marks err as "the command could not run" (exit 2); nil stays nil.
func posUsage(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: posExitUsage, err: err}
}

// posArgs makes an argument check's error a usage error (exit 2).
func posArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error { return posUsage(check(cmd, args)) }
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
	var card, amount, rrn, ref, expect, pin, entry, track string
	var noPIN bool
	cmd := &cobra.Command{
		Use:   op,
		Short: "Send one " + op + " request",
		Args:  posArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			words := []string{op}
			if ref != "" {
				words = append(words, ref)
			}
			if noPIN && pin != "" {
				return posUsage(fmt.Errorf("--pin and --no-pin: give one"))
			}
			if pin == "none" {
				return posUsage(fmt.Errorf("--pin: want 4 to 12 digits (for no PIN, --no-pin)"))
			}
			if noPIN {
				pin = "none"
			}
			var swiped *terminal.Card
			if track != "" {
				if card != "" || (entry != "" && entry != "swipe") {
					return posUsage(fmt.Errorf("--track: the swiped card is the card; give no --card, and no --entry but swipe"))
				}
				c, err := readSwipe(track, cmd.InOrStdin())
				if err != nil {
					return posUsage(fmt.Errorf("--track: %w", err))
				}
				swiped, card = &c, swipedCardName
			}
			for _, kv := range [][2]string{{"card", card}, {"amount", amount}, {"rrn", rrn}, {"expect", expect},
				{"pin", pin}, {"entry", entry}} {
				if kv[1] != "" {
					words = append(words, kv[0]+"="+kv[1])
				}
			}
			st, ok, err := terminal.ParseStep(strings.Join(words, " "))
			if err != nil {
				return posUsage(err)
			}
			if !ok {
				return posUsage(fmt.Errorf("nothing to do"))
			}
			p.resolve(cmd)
			o, err := p.options()
			if err != nil {
				return posUsage(err)
			}
			if swiped != nil {
				o.cards[swipedCardName] = *swiped
			}
			if st.Chip {
				if err := o.checkChipCard(st.Card); err != nil {
					return posUsage(err)
				}
				o.withATCPeers()
			}
			r, closeRunner, err := o.newRunner(cmd.OutOrStdout())
			if err != nil {
				return posUsage(err)
			}
			defer closeRunner()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := r.Exec(ctx, st); err != nil && r.LastRC() == "" {
				return posUsage(err)
			}
			if f := r.Failures(); len(f) > 0 {
				return &exitError{code: posExitDeclined, err: fmt.Errorf("%s", strings.Join(f, "; "))}
			}
			rc := r.LastRC()
			if expect != "" || rc == terminal.RCApproved {
				return nil
			}
			why := terminal.RCMeaning(rc)
			if rc == terminal.RCNotSignedOn && !isNetworkOp(st.Op) {
				why = notSignedOnOrDisabled(ctx, r, o.terminals[0].TID)
			}
			return &exitError{code: posExitDeclined, err: fmt.Errorf("%s answered %s: %s", op, rc, why)}
		},
	}
	f := cmd.Flags()
	f.StringVar(&card, "card", "", "card name from --cards, or a PAN")
	f.StringVar(&amount, "amount", "", "amount in yuan, e.g. 12.50")
	f.StringVar(&rrn, "rrn", "", "RRN of the purchase (refund)")
	f.StringVar(&ref, "ref", "", "original (complete, void, reverse): @last, or its RRN")
	f.StringVar(&expect, "expect", "", "expected response code; a different one is an error")
	f.StringVar(&pin, "pin", "", "PIN the cardholder enters (default: the card's pin from --cards when its product asks for one)")
	f.BoolVar(&noPIN, "no-pin", false, "the cardholder enters no PIN")
	f.StringVar(&entry, "entry", "", "how the card is presented: swipe (default), manual or chip")
	f.StringVar(&track, "track", "", "the card as a magstripe reader types it (%B…^…^…?;…=…?), or - to read one swipe from stdin (a USB reader in keyboard mode)")
	return cmd
}

func isNetworkOp(op terminal.Op) bool {
	switch op {
	case terminal.OpSignOn, terminal.OpSignOff, terminal.OpEcho, terminal.OpKeyChange:
		return true
	}
	return false
}

// notSignedOnOrDisabled tells the two meanings of a 58 apart: the host
// answers an echo (0800) from a terminal that is enabled whether or not it
// is signed on, and 58 only when the terminal is disabled. The echo's line
// is printed like any other request.
func notSignedOnOrDisabled(ctx context.Context, r *terminal.Runner, tid string) string {
	echo, _, _ := terminal.ParseStep("echo")
	if err := r.Exec(ctx, echo); err != nil && r.LastRC() == "" {
		return "terminal disabled or not signed on (" + err.Error() + ")"
	}
	switch r.LastRC() {
	case terminal.RCApproved:
		return "terminal " + tid + " is not signed on: run `cardcenter pos signon` first"
	case terminal.RCNotSignedOn:
		return "terminal " + tid + " is disabled on the host (see `cardcenter terminal list`)"
	}
	return terminal.RCMeaning(terminal.RCNotSignedOn)
}
