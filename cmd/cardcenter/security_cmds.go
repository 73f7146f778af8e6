package main

// The operators' security verbs (contract section 7), through the admin
// API: loading a TMK or IMK from its key custodians' components, showing
// check values, PIN unblock, card and BIN blacklists, and the audit log.
// Every change is sent with --operator (default: the login name) and
// needs --note, the audit record's reason.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// maxComponentLine bounds a line of components read from stdin: "KEY KCV"
// is 39 characters; a longer line is not one.
const maxComponentLine = 256

// operator is --operator, else the login name.
func (g *globalFlags) operator() string {
	if g.Operator != "" {
		return g.Operator
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// requireNote refuses a security change without a reason before anything
// is sent.
func requireNote(note string) error {
	if strings.TrimSpace(note) == "" {
		return errors.New("--note is required: say why (it is the audit record's reason)")
	}
	return nil
}

// componentSource gets the custodians' components: typed at the terminal
// without echo, or read as "KEY KCV" lines from a pipe or file.
type componentSource struct {
	in     io.Reader
	prompt io.Writer // where prompts go (stderr)
	count  int       // components to ask for at a terminal
}

// read returns the components as (key, kcv) pairs. Errors never carry a
// value.
func (s componentSource) read() ([][2]string, error) {
	if f, ok := s.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return s.readTerminal(f)
	}
	var out [][2]string
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 0, maxComponentLine), maxComponentLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 2 {
			return nil, fmt.Errorf("stdin line %d: want KEY KCV (32 and 6 hex digits), got %d words", line, len(f))
		}
		if len(out) == 3 {
			return nil, fmt.Errorf("stdin line %d: more than 3 components", line)
		}
		out = append(out, [2]string{f[0], f[1]})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("stdin line %d: longer than %d characters", line+1, maxComponentLine)
		}
		return nil, fmt.Errorf("read components: %w", err)
	}
	return out, nil
}

func (s componentSource) readTerminal(f *os.File) ([][2]string, error) {
	fd := int(f.Fd())
	var out [][2]string
	for i := 1; i <= s.count; i++ {
		fmt.Fprintf(s.prompt, "custodian %d of %d, key component (32 hex digits, not shown): ", i, s.count)
		key, err := term.ReadPassword(fd)
		fmt.Fprintln(s.prompt)
		if err != nil {
			return nil, fmt.Errorf("read component %d: %w", i, err)
		}
		fmt.Fprintf(s.prompt, "custodian %d of %d, the component's check value (6 hex digits): ", i, s.count)
		kcv, err := term.ReadPassword(fd)
		fmt.Fprintln(s.prompt)
		if err != nil {
			clear(key)
			return nil, fmt.Errorf("read check value %d: %w", i, err)
		}
		out = append(out, [2]string{strings.TrimSpace(string(key)), strings.TrimSpace(string(kcv))})
		clear(key)
	}
	return out, nil
}

// checkComponents checks each component against its check value here,
// printing the result of each, so that a custodian's typing slip is
// caught before anything is sent. A failure names the component.
func checkComponents(w io.Writer, comps [][2]string) error {
	if len(comps) < 2 || len(comps) > 3 {
		return fmt.Errorf("%d components: want 2 or 3, one from each key custodian; nothing was loaded", len(comps))
	}
	for i, c := range comps {
		k, err := cardcrypto.ParseComponent(fmt.Sprintf("components[%d]", i), c[0], c[1])
		if err != nil {
			var fe *cardcrypto.FieldError
			if errors.As(err, &fe) {
				fmt.Fprintf(w, "component %d: %s\n", i+1, fe.Problem)
				return fmt.Errorf("component %d (%s): %s; nothing was loaded", i+1, fe.Field, fe.Problem)
			}
			return err
		}
		clear(k)
		fmt.Fprintf(w, "component %d: check value %s matches\n", i+1, strings.ToUpper(c[1]))
	}
	return nil
}

// newLoadKeyCmd is load-tmk or load-imk.
func newLoadKeyCmd(g *globalFlags, use, short, kind string, load func(ctx context.Context, c *admin.Client, id string, req admin.KeyLoadRequest) (*admin.KeyLoadResult, error)) *cobra.Command {
	var note, kcv string
	var count int
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: short + `.

At a terminal, each key custodian in turn types their component (32 hex
digits, not shown) and its check value (6 hex digits) from their form.
Otherwise stdin holds one "KEY KCV" line per custodian (2 or 3; blank
lines and # comments are skipped). Each component is checked against its
check value here and again by the host, which combines them, keeps the
key sealed under its master key and answers the combined key's check
value. --kcv, when given, is the check value the combined key must have.
Nothing is loaded unless everything matches.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireNote(note); err != nil {
				return err
			}
			if count < 2 || count > 3 {
				return fmt.Errorf("--components %d: want 2 or 3", count)
			}
			out := cmd.OutOrStdout()
			comps, err := componentSource{in: cmd.InOrStdin(), prompt: cmd.ErrOrStderr(), count: count}.read()
			if err != nil {
				return err
			}
			if err := checkComponents(out, comps); err != nil {
				return err
			}
			req := admin.KeyLoadRequest{KCV: kcv, Note: note}
			for _, c := range comps {
				req.Components = append(req.Components, admin.KeyComponent{Key: c[0], KCV: c[1]})
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				res, err := load(ctx, c, args[0], req)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "%s %s loaded from %d components: check value %s\n", kind, res.Target, len(res.ComponentKCVs), res.KCV)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why (required; the audit record's reason)")
	cmd.Flags().StringVar(&kcv, "kcv", "", "the check value the combined key must have (6 hex digits), from the key ceremony's record")
	cmd.Flags().IntVar(&count, "components", 2, "how many custodians type a component at the terminal (2 or 3)")
	return cmd
}

func newLoadTMKCmd(g *globalFlags) *cobra.Command {
	return newLoadKeyCmd(g, "load-tmk TID --note WHY", "Load a terminal's master key (TMK) from its key custodians' components", "TMK of terminal",
		func(ctx context.Context, c *admin.Client, tid string, req admin.KeyLoadRequest) (*admin.KeyLoadResult, error) {
			return c.LoadTMK(ctx, tid, req)
		})
}

func newLoadIMKCmd(g *globalFlags) *cobra.Command {
	return newLoadKeyCmd(g, "load-imk PROGRAM --note WHY", "Load a program's issuer master key (IMK) from its key custodians' components", "IMK of program",
		func(ctx context.Context, c *admin.Client, id string, req admin.KeyLoadRequest) (*admin.KeyLoadResult, error) {
			return c.LoadIMK(ctx, id, req)
		})
}

func newTerminalShowCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show TID",
		Short: "Show a terminal: registration, sign-on, batch, key check values",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				t, err := c.Terminal(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), t)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				defer tw.Flush()
				fmt.Fprintf(tw, "terminal\t%s\tmerchant %s, enabled %v\n", t.TID, t.MID, t.Enabled)
				fmt.Fprintf(tw, "signed on\t%v\topen batch %s\n", t.SignedOn, adminDash(t.OpenBatch, fmt.Sprintf("%06d", t.OpenBatch)))
				fmt.Fprintf(tw, "tmk kcv\t%s\n", adminDash(t.TMKKCV, t.TMKKCV))
				fmt.Fprintf(tw, "working keys\tgeneration %d\ttpk kcv %s, tak kcv %s\n", t.KeyGeneration, adminDash(t.TPKKCV, t.TPKKCV), adminDash(t.TAKKCV, t.TAKKCV))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newProgramShowCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a program: money rules, products and their PIN rules, IMK check value",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				p, err := c.Program(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), p)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				defer tw.Flush()
				fmt.Fprintf(tw, "program\t%s\t%s, currency %s\n", p.ID, adminDash(p.Name, p.Name), p.Currency)
				fmt.Fprintf(tw, "points\tcost %s\tredemption value %s\n", p.PointCost, p.RedemptionValue)
				fmt.Fprintf(tw, "interchange\t%d bp\thold days %d\n", p.InterchangeBP, p.HoldDays)
				fmt.Fprintf(tw, "imk kcv\t%s\n", adminDash(p.IMKKCV, p.IMKKCV))
				for _, pr := range p.Products {
					pin := "no PIN"
					if len(pr.PINRequired) > 0 {
						var rules []string
						for proc, from := range pr.PINRequired {
							rules = append(rules, fmt.Sprintf("%s from %s", proc, from))
						}
						slices.Sort(rules)
						pin = "PIN for " + strings.Join(rules, ", ")
					}
					fmt.Fprintf(tw, "product\t%s\t%s, %s\n", pr.Name, pr.Kind, pin)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

// newCardSecurityCmds are card unblock-pin and card blacklist.
func newCardSecurityCmds(g *globalFlags, cardsFile *string) []*cobra.Command {
	var unblockNote string
	unblock := &cobra.Command{
		Use:   "unblock-pin CARD --note WHY",
		Short: "Lift a card's PIN block (three wrong PINs) and reset its wrong-PIN count",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], *cardsFile)
			if err != nil {
				return err
			}
			if err := requireNote(unblockNote); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				v, err := c.UnblockPIN(ctx, pan, unblockNote)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "card %s: PIN unblocked (%s)\n", v.PAN, pinSummary(v))
				return nil
			})
		},
	}
	unblock.Flags().StringVar(&unblockNote, "note", "", "why (required; the audit record's reason)")

	var blNote string
	var on, off bool
	blacklist := &cobra.Command{
		Use:   "blacklist CARD --on|--off --note WHY",
		Short: "Put a card on the blacklist (answered 62) or take it off",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], *cardsFile)
			if err != nil {
				return err
			}
			if on == off {
				return errors.New("give --on or --off")
			}
			if err := requireNote(blNote); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				v, err := c.SetCardBlacklisted(ctx, pan, on, blNote)
				if err != nil {
					return err
				}
				state := "off the blacklist"
				if v.Blacklisted {
					state = "on the blacklist"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "card %s is %s\n", v.PAN, state)
				return nil
			})
		},
	}
	blacklist.Flags().StringVar(&blNote, "note", "", "why (required; the audit record's reason)")
	blacklist.Flags().BoolVar(&on, "on", false, "put the card on the blacklist")
	blacklist.Flags().BoolVar(&off, "off", false, "take the card off the blacklist")
	return []*cobra.Command{unblock, blacklist}
}

// pinSummary is a card's PIN state in words.
func pinSummary(v *admin.CardView) string {
	p := v.PIN
	if p == nil {
		return "PIN state unknown"
	}
	has := "no PIN"
	if p.HasPIN {
		has = "has a PIN"
	}
	blocked := "not blocked"
	if p.Blocked {
		blocked = "BLOCKED"
	}
	return fmt.Sprintf("%s, %d wrong in a row, %s", has, p.Tries, blocked)
}

// binRangeArgs reads LOW HIGH or LOW-HIGH.
func binRangeArgs(args []string) (string, string, error) {
	if len(args) == 1 {
		low, high, ok := strings.Cut(args[0], "-")
		if !ok {
			return "", "", fmt.Errorf("range %q: want LOW-HIGH or LOW HIGH (6 to 12 digits each)", args[0])
		}
		return low, high, nil
	}
	return args[0], args[1], nil
}

func newBlacklistCmd(g *globalFlags) *cobra.Command {
	var addNote, removeNote string
	add := &cobra.Command{
		Use:   "add LOW HIGH --note WHY",
		Short: "Blacklist every card whose BIN (6 to 12 leading digits) lies in LOW..HIGH",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			low, high, err := binRangeArgs(args)
			if err != nil {
				return err
			}
			if err := requireNote(addNote); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				rs, err := c.AddBINRange(ctx, low, high, addNote)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "BIN range %s-%s is blacklisted (%d ranges)\n", low, high, len(rs))
				return nil
			})
		},
	}
	add.Flags().StringVar(&addNote, "note", "", "why (required; the audit record's reason)")
	remove := &cobra.Command{
		Use:   "remove LOW HIGH --note WHY",
		Short: "Take a BIN range off the blacklist",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			low, high, err := binRangeArgs(args)
			if err != nil {
				return err
			}
			if err := requireNote(removeNote); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				rs, err := c.RemoveBINRange(ctx, low, high, removeNote)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "BIN range %s-%s is off the blacklist (%d ranges)\n", low, high, len(rs))
				return nil
			})
		},
	}
	remove.Flags().StringVar(&removeNote, "note", "", "why (required; the audit record's reason)")
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the blacklisted BIN ranges",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				rs, err := c.BINBlacklist(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), admin.BINList{Ranges: rs})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d blacklisted BIN ranges\n", len(rs))
				for _, r := range rs {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s\n", r)
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	bin := &cobra.Command{Use: "bin", Short: "Blacklisted BIN ranges"}
	bin.AddCommand(add, remove, list)
	cmd := &cobra.Command{Use: "blacklist", Short: "The BIN blacklist, through the admin API (a card's own flag: card blacklist)"}
	cmd.AddCommand(bin)
	return cmd
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	var after uint64
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List operators' security changes (who, when, why, what), oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				res, err := c.Audit(ctx, after, limit)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), res)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tOPERATOR\tACTION\tTARGET\tDETAIL\tREASON")
				for _, r := range res.Records {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", time.Unix(0, r.At).UTC().Format(time.RFC3339), r.Operator,
						r.Action, r.Target, adminDash(r.Detail, r.Detail), r.Reason)
				}
				tw.Flush()
				if res.Next != 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "more: cardcenter audit --after %s\n", strconv.FormatUint(res.Next, 10))
				}
				return nil
			})
		},
	}
	cmd.Flags().Uint64Var(&after, "after", 0, "list records after this seq (the \"more:\" line of the previous page)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many records (1..1000)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}
