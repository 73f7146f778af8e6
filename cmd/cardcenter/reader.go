package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// reader.go: `cardcenter reader`, a PC/SC checkout reader acting as a
// terminal against the host (terminal.Checkout over terminal.PCSC).

// readerOptions is one run of the reader.
type readerOptions struct {
	pos    posOptions
	prefix string // reader name prefix; "" = the first reader
	amount terminal.Fen
	aid    []byte
	count  int // purchases before returning; 0 = until interrupted
	out    io.Writer
	log    zerolog.Logger
}

func newReaderCmd(g *globalFlags) *cobra.Command {
	p := posFlags{g: g}
	var list bool
	var prefix, amount, aid string
	var count int
	cmd := &cobra.Command{
		Use:   "reader",
		Short: "Act as a checkout terminal with a PC/SC card reader",
		Long: `Act as a checkout terminal with a PC/SC card reader (pcscd): wait for a
card, buy --amount with it against the host, print the outcome, wait for
the card to be taken out, and again (--count N stops after N cards).

  cardcenter reader --list
  cardcenter reader --amount 12.50
  cardcenter reader --amount 12.50 --reader "ACS ACR122U" --count 1

A chip card goes through a minimal EMV flow: SELECT (PPSE, else --aid),
GET PROCESSING OPTIONS, READ RECORD (track 2 equivalent), GENERATE AC for
an ARQC, the 0200 with field 55, then the host's ARPC (tag 91) back to the
card (EXTERNAL AUTHENTICATE) and the second GENERATE AC. A card without
the program's application is read for its UID (FF CA 00 00 00) and, when
a card of --cards has that uid, sent as a magstripe-style purchase.

When the request went out and its outcome is unknown (no answer from the
host, or the card gone, declining or rejecting the ARPC after an approval),
the reader sends a reversal (0400) and says why. docs/devices.md has the
wiring and what each line means. The terminal flags are pos's.

Exit status: 0 approved, 1 declined or reversed, 2 could not run.`,
		Args: posArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := zerolog.New(cmd.ErrOrStderr()).With().Timestamp().Str("component", "reader").Logger()
			if list {
				return posUsage(listReaders(cmd.OutOrStdout()))
			}
			p.resolve(cmd)
			o, err := p.options()
			if err != nil {
				return posUsage(err)
			}
			ro := readerOptions{pos: o, prefix: prefix, count: count, out: cmd.OutOrStdout(), log: log}
			if ro.amount, err = terminal.ParseYuan(amount); err != nil || ro.amount <= 0 {
				return posUsage(fmt.Errorf("--amount %q: want yuan above 0, e.g. 12.50", amount))
			}
			if ro.aid, err = hex.DecodeString(aid); err != nil || len(ro.aid) < 5 || len(ro.aid) > 16 {
				return posUsage(fmt.Errorf("--aid %q: want 5 to 16 bytes of hex", aid))
			}
			if count < 0 {
				return posUsage(fmt.Errorf("--count %d: want 0 (no end) or more", count))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runReader(ctx, ro)
		},
	}
	p.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&list, "list", false, "list the readers pcscd knows and exit")
	f.StringVar(&prefix, "reader", "", "use the first reader whose name starts with this (default: the first reader)")
	f.StringVar(&amount, "amount", "", "purchase amount in yuan, e.g. 12.50")
	f.StringVar(&aid, "aid", strings.ToUpper(hex.EncodeToString(terminal.DefaultAID)), "the program's application identifier (hex)")
	f.IntVar(&count, "count", 0, "stop after this many cards (0: until Ctrl-C)")
	return cmd
}

func listReaders(out io.Writer) error {
	pc, err := terminal.OpenPCSC()
	if err != nil {
		return err
	}
	defer pc.Close()
	rs, err := pc.Readers()
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		fmt.Fprintln(out, "no readers (is the reader plugged in and its driver installed? see docs/devices.md)")
		return nil
	}
	for _, r := range rs {
		fmt.Fprintln(out, r)
	}
	return nil
}

// runReader serves cards until count purchases were made or ctx ends.
func runReader(ctx context.Context, o readerOptions) error {
	terms, client, err := o.pos.newTerminals()
	if err != nil {
		return posUsage(err)
	}
	defer client.Close()
	term := terms[0]
	if o.pos.terminals[0].TMK != nil && !term.HasKeys() {
		res, err := term.SignOn(ctx)
		if err != nil || !res.Approved() {
			rc := ""
			if res != nil {
				rc = res.RC
			}
			return posUsage(fmt.Errorf("sign-on of %s: answered %q: %v", term.TID(), rc, err))
		}
	}
	co := &terminal.Checkout{Term: term, AID: o.aid, LookupUID: o.lookupUID}
	pc, err := terminal.OpenPCSC()
	if err != nil {
		o.log.Error().Str("event", "no_pcsc").Str("error", err.Error()).Msg("no PC/SC service")
		return posUsage(err)
	}
	defer pc.Close()
	reader, err := pc.FindReader(o.prefix)
	if err != nil {
		o.log.Error().Str("event", "no_reader").Str("error", err.Error()).Msg("no reader")
		return posUsage(err)
	}
	var last error
	for n := 0; o.count == 0 || n < o.count; n++ {
		o.log.Info().Str("event", "waiting").Str("reader", reader).Msg("waiting for a card")
		if err := pc.WaitCard(ctx, reader); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			o.log.Error().Str("event", "card_error").Str("reader", reader).Str("error", err.Error()).Msg("card not usable")
			return posUsage(err)
		}
		o.log.Info().Str("event", "card_in").Str("reader", reader).Msg("card inserted")
		last = o.serveCard(ctx, pc, reader, co)
		if o.count != 0 && n+1 == o.count {
			break
		}
		if err := pc.WaitRemoved(ctx, reader); err != nil {
			return nil // interrupted
		}
	}
	return last
}

// serveCard makes one purchase with the card in reader and prints it.
func (o readerOptions) serveCard(ctx context.Context, pc *terminal.PCSC, reader string, co *terminal.Checkout) error {
	card, err := pc.Connect(reader)
	if err != nil {
		o.log.Error().Str("event", "card_error").Str("reader", reader).Str("error", err.Error()).Msg("card mute or removed")
		fmt.Fprintf(o.out, "%s: card not read: %v\n", reader, err)
		return &exitError{code: posExitDeclined, err: err}
	}
	defer card.Close()
	res, err := co.Purchase(ctx, card, o.amount)
	line := outcomeLine(reader, o.amount, res, err)
	fmt.Fprintln(o.out, line)
	ev := o.log.Info()
	if err != nil || res == nil || !res.Approved {
		ev = o.log.Warn()
	}
	if err != nil {
		ev = ev.Str("error", err.Error())
	}
	if res != nil {
		ev = ev.Str("kind", string(res.Kind)).Str("pan", res.MaskedPAN).Bool("approved", res.Approved)
		if res.Result != nil {
			ev = ev.Str("stan", res.Result.Txn.STAN).Str("rrn", res.Result.RRN).Str("rc", res.Result.RC)
		}
		if res.ReversedBy != "" {
			ev = ev.Str("reversal", res.ReversedBy)
		}
	}
	ev.Str("event", "outcome").Str("reader", reader).Int64("amount_fen", int64(o.amount)).Msg("checkout")
	switch {
	case res != nil && res.Approved:
		return nil
	case err != nil && (res == nil || res.Result == nil) && !errors.Is(err, terminal.ErrBadCard):
		return &exitError{code: posExitDeclined, err: fmt.Errorf("card not read: %w", err)}
	case err != nil:
		return &exitError{code: posExitDeclined, err: err}
	}
	return &exitError{code: posExitDeclined, err: errors.New(line)}
}

// outcomeLine is the printed outcome: reader, kind, masked PAN, amount,
// the host's code and meaning, the chip's counter and ARPC, and any
// reversal with its reason.
func outcomeLine(reader string, amount terminal.Fen, res *terminal.CheckoutResult, err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", reader)
	if res == nil {
		fmt.Fprintf(&b, " card not read: %v", err)
		return b.String()
	}
	fmt.Fprintf(&b, " %s %s purchase %s", res.Kind, res.MaskedPAN, amount)
	if r := res.Result; r != nil && r.RC != "" {
		fmt.Fprintf(&b, "  %s %s rrn %s", r.RC, terminal.RCMeaning(r.RC), r.RRN)
		if r.Chip != nil {
			fmt.Fprintf(&b, " atc=%d", r.Chip.ATC)
		}
	} else if r != nil {
		fmt.Fprintf(&b, "  no answer (stan %s)", r.Txn.STAN)
	}
	if res.Kind == terminal.KindChip && res.Result != nil && res.Result.RC != "" {
		switch {
		case res.End.ARPCVerified:
			b.WriteString(" arpc=ok")
		case res.End.ARPCRejected:
			b.WriteString(" arpc=rejected")
		}
		if res.End.TC {
			b.WriteString(" card=tc")
		} else if res.ReversedBy == "" {
			b.WriteString(" card=aac")
		}
	}
	if res.ReversedBy != "" {
		fmt.Fprintf(&b, "; %s: reversal", res.ReversedBy)
		if rv := res.Reversal; rv != nil {
			fmt.Fprintf(&b, " stan %s %s", rv.Txn.STAN, rv.RC)
		}
	}
	if err != nil && res.ReversedBy == "" {
		fmt.Fprintf(&b, "; %v", err)
	} else if err != nil {
		fmt.Fprintf(&b, " (%v)", err)
	}
	return b.String()
}

// lookupUID maps a UID to the --cards file's card with that uid.
func (o readerOptions) lookupUID(uid string) (terminal.Card, bool) {
	if o.pos.prov == nil {
		return terminal.Card{}, false
	}
	a, ok := o.pos.prov.CardByUID(uid)
	if !ok {
		return terminal.Card{}, false
	}
	return terminal.Card{PAN: a.PAN, Expiry: a.Expiry, ServiceCode: a.ServiceCode}, true
}
