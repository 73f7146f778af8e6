package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
)

// The POS simulator's wiring, shared by the pos commands and the demo:
// which terminals (with their TMKs) and cards (with their chips) a
// provisioning file gives it, who enters PINs, and the scenario runner
// on one client.

// cardsOf turns a provisioning file's card aliases into POS cards. A
// card whose product is a chip kind (chip, both) and whose program has an
// issuer master key in the file can be presented by chip (entry=chip):
// it carries that IMK and its PSN. PINs are not put in the cards: the
// cardholder enters one when asked (cardholderPIN).
func cardsOf(f *provision.File) map[string]terminal.Card {
	cards := map[string]terminal.Card{}
	for name, a := range f.Aliases {
		c := terminal.Card{PAN: a.PAN, Expiry: a.Expiry, ServiceCode: a.ServiceCode}
		if pr, ok := f.Product(a.ProgramID, a.Product); ok && pr.Kind != "magstripe" && a.IMK != "" {
			if imk, err := cardcrypto.ParseKeyHex("imk", a.IMK); err == nil {
				c.Chip = &terminal.ChipCard{IMK: imk, PSN: a.PSN}
			}
		}
		cards[name] = c
	}
	return cards
}

// cardholderPIN is the simulated cardholder: asked for a PIN, the holder
// of a card named in f enters the card's pin from the file when its
// product wants one for the request (processing code and amount), as a
// real cardholder would when the terminal prompts; otherwise none.
func cardholderPIN(f *provision.File) func(card, procCode string, amount terminal.Fen) string {
	return func(card, procCode string, amount terminal.Fen) string {
		a, ok := f.Alias(card)
		if !ok || a.PIN == "" {
			return ""
		}
		pr, ok := f.Product(a.ProgramID, a.Product)
		if !ok || !pr.NeedsPIN(procCode, ledger.Amount(amount)) {
			return ""
		}
		return a.PIN
	}
}

// checkChipCard says, before anything is sent, why a card cannot be
// presented by chip.
func (o posOptions) checkChipCard(name string) error {
	if name == "" || cardnum.Digits(name) {
		return fmt.Errorf("--entry chip: give a card name from %s (its program's issuer_master_key makes the chip's keys)", o.provName)
	}
	c, ok := o.cards[name]
	if ok && c.Chip == nil {
		return fmt.Errorf("--entry chip: card %s is not a chip card in %s (its product is magstripe, or its program has no issuer_master_key)", name, o.provName)
	}
	return nil // an unknown name is reported by the runner, like any other
}

// posTerminal is one simulated terminal; TMK is nil when the file gives it
// none (then it takes no working keys, sends no MAC and no PIN).
type posTerminal struct {
	TID, MID string
	TMK      []byte
}

type posOptions struct {
	addr, framing, packager string
	tls                     *tls.Config // nil: plain TCP
	stateDir                string
	terminals               []posTerminal
	cards                   map[string]terminal.Card
	pin                     func(card, procCode string, amount terminal.Fen) string
	prov                    *provision.File // the --cards file, nil when none
	provName                string
	serial                  string // a serial device: dial it instead of addr
	baud                    int
}

// newTerminals dials one client and puts the terminals on it, each with
// its state file so that STANs and batches continue across runs.
func (o posOptions) newTerminals() ([]*terminal.Terminal, *terminal.Client, error) {
	pk, err := wire.NewPackager(o.packager)
	if err != nil {
		return nil, nil, err
	}
	cc := terminal.ClientConfig{Packager: pk}
	if o.serial != "" {
		lf, err := wire.ParseLineFraming(o.framing)
		if err != nil {
			return nil, nil, fmt.Errorf("--framing: %w", err)
		}
		// One request at a time: a serial host answers in request order.
		cc.Dial, cc.Framing, cc.MaxInFlight = terminal.SerialDialer(terminal.SerialConfig{Device: o.serial, Baud: o.baud, Framing: lf}), lf.Stream(), 1
	} else {
		if cc.Framing, err = wire.ParseFraming(o.framing); err != nil {
			return nil, nil, err
		}
		cc.Dial = terminal.TCPDialer(o.addr)
		if o.tls != nil {
			cc.Dial = terminal.TLSDialer(o.addr, o.tls)
		}
	}
	client, err := terminal.NewClient(cc)
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
			TID: t.TID, MID: t.MID, TMK: t.TMK, Conn: client, StatePath: filepath.Join(o.stateDir, t.TID+".json"),
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
	r, err = terminal.NewRunner(terminal.RunnerConfig{Terminals: terms, Cards: o.cards, CardholderPIN: o.pin, Out: out})
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

// tmkOf is the terminal's master key from the provisioning file (nil
// when the file gives none, or there is no file): with it the simulated
// terminal takes its sign-on keys, MACs, and encrypts PINs.
func tmkOf(f *provision.File, tid string) []byte {
	if f == nil {
		return nil
	}
	return f.TerminalTMK(tid)
}

// withATCPeers adds, after the terminals already listed, every terminal of
// the file that has a state file in the state directory. A simulated chip
// card keeps its counter (ATC) in each terminal's state; the scenario
// runner carries the highest across the terminals it drives, so a chip
// card used on another terminal earlier (the demo's terminal 2, say)
// still counts up instead of being refused (63).
func (o *posOptions) withATCPeers() {
	f := o.prov
	if f == nil {
		return
	}
	have := map[string]bool{}
	for _, t := range o.terminals {
		have[t.TID] = true
	}
	for _, t := range f.Terminals {
		if have[t.TID] {
			continue
		}
		if _, err := os.Stat(filepath.Join(o.stateDir, t.TID+".json")); err == nil {
			o.terminals = append(o.terminals, posTerminal{TID: t.TID, MID: t.MID, TMK: f.TerminalTMK(t.TID)})
		}
	}
}
