package main

// The card verbs: show, history, state and adjust, through the admin API.
// A card is named by PAN or by a card name of a provisioning file, as in
// `pos --card`.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// adminCardArg resolves a card argument as `pos --card` does: a PAN, or a
// card name (alice) of the provisioning file cardsFile. Errors show a PAN
// masked and never echo card data.
func adminCardArg(arg, cardsFile string) (string, error) {
	if arg != "" && strings.Trim(arg, "0123456789") == "" {
		return arg, adminPANArg(arg)
	}
	shown := cardnum.Scrub(arg)
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	if cardsFile == "" {
		return "", fmt.Errorf("no card %q: give a PAN (12 to 19 digits)", shown)
	}
	f, err := provision.Load(cardsFile)
	if err != nil {
		return "", fmt.Errorf("card %q is not a PAN, and the card names in --cards %s do not load: %w", shown, cardsFile, err)
	}
	if a, ok := f.Alias(arg); ok {
		return a.PAN, nil
	}
	return "", fmt.Errorf("no card %q: give a PAN (12 to 19 digits) or a card name from %s", shown, cardsFile)
}

func adminPrintCard(w io.Writer, c *admin.CardView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "card\t%s\n", c.PAN)
	fmt.Fprintf(tw, "program\t%s\thome merchant %s\n", c.ProgramID, c.HomeMID)
	fmt.Fprintf(tw, "product\t%s\tservice code %s, psn %s\n", c.Product, adminDash(c.ServiceCode, c.ServiceCode), adminDash(c.PSN, c.PSN))
	state := c.State
	if c.Blacklisted {
		state += ", blacklisted"
	}
	exp := c.Expiry
	if c.Expired {
		exp += " (expired)"
	}
	fmt.Fprintf(tw, "state\t%s\texpiry %s\n", state, exp)
	m := c.Member
	reg := "anonymous"
	if m.Registered {
		reg = "registered"
	}
	fmt.Fprintf(tw, "member\t%s\t%s, phone %s, birthday %s\n", adminDash(m.Name, m.Name), reg, adminDash(m.Phone, m.Phone), adminDash(m.Birthday, m.Birthday))
	fmt.Fprintf(tw, "limits\tmax balance %s\tper txn %s, daily %s, daily count %s\n", c.MaxBalanceFen,
		adminDash(c.PerTxnLimitFen, c.PerTxnLimitFen.String()), adminDash(c.DailyLimitFen, c.DailyLimitFen.String()),
		adminDash(c.DailyCountLimit, strconv.Itoa(c.DailyCountLimit)))
	if b := c.Balances; b != nil {
		fmt.Fprintf(tw, "balance\t%s\tavailable %s, points %d\n", b.LedgerFen, b.AvailableFen, b.Points)
	}
	if c.PIN != nil {
		fmt.Fprintf(tw, "pin\t%s\n", pinSummary(c))
	}
}

func newAdminCardCmd(g *globalFlags) *cobra.Command {
	card := &cobra.Command{
		Use:   "card",
		Short: "Show and change cards through the admin API",
		Long: `Show and change cards through the admin API. A card is named by its PAN,
or, as with pos --card, by a card name (alice) of the --cards file.`,
	}
	var cardsFile string
	card.PersistentFlags().StringVar(&cardsFile, "cards", "testdata/demo.yaml", "provisioning file whose card names (alice) may stand for a PAN")

	show := cardViewCmd(g, &cardsFile, "show CARD", "Show a card: state, member, limits, balances, loyalty",
		func(ctx context.Context, c *admin.Client, pan string) (*admin.CardView, error) {
			return c.Card(ctx, pan)
		},
		func(ctx context.Context, w io.Writer, c *admin.Client, pan string, v *admin.CardView) error {
			adminPrintCard(w, v)
			return adminPrintCardLoyalty(ctx, w, c, pan)
		})

	var limit int
	history := cardViewCmd(g, &cardsFile, "history CARD", "List a card's journal entries, newest first",
		func(ctx context.Context, c *admin.Client, pan string) (*admin.History, error) {
			return c.CardHistory(ctx, pan, limit)
		},
		func(_ context.Context, w io.Writer, _ *admin.Client, _ string, h *admin.History) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			defer tw.Flush()
			fmt.Fprintf(tw, "card %s: %d entries\n", h.PAN, len(h.Txns))
			fmt.Fprintln(tw, "RRN\tTIME\tKIND\tSTATUS\tAMOUNT\tEARNED\tDEBITED\tTID\tMID")
			for _, t := range h.Txns {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", t.RRN, t.At.Format(time.RFC3339),
					t.Kind, t.Status, t.AmountFen, t.Earned, t.Debited, adminDash(t.TID, t.TID), adminDash(t.MID, t.MID))
			}
			return nil
		})
	history.Flags().IntVar(&limit, "limit", 50, "at most this many entries (1..1000)")

	var stateNote string
	state := &cobra.Command{
		Use:   "state CARD STATE",
		Short: "Set a card's state: issued, active, frozen, lost, stolen or closed",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], cardsFile)
			if err != nil {
				return err
			}
			if _, err := ledger.ParseCardState(args[1]); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				v, err := c.SetCardState(ctx, pan, args[1], stateNote)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "card %s is now %s\n", v.PAN, v.State)
				return nil
			})
		},
	}
	state.Flags().StringVar(&stateNote, "note", "", "why (required; the audit record's reason)")

	var adjNote string
	var debit, points bool
	adjust := &cobra.Command{
		Use:   "adjust CARD AMOUNT --note WHY",
		Short: "Credit or debit a card's stored value (yuan, e.g. 12.50) or, with --points, its points",
		Long: `Credit or debit a card by an operator adjustment (a journal entry).

AMOUNT is yuan with at most two decimals ("12.50"); --debit takes it off
instead (or write a negative amount after --: card adjust PAN -- -12.50).
With --points, AMOUNT is a whole number of points. --note is required.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], cardsFile)
			if err != nil {
				return err
			}
			amount := args[1]
			if strings.TrimSpace(adjNote) == "" {
				return errors.New("--note is required: say why")
			}
			req := admin.AdjustRequest{Note: adjNote}
			if points {
				n, err := strconv.ParseInt(amount, 10, 64)
				if err != nil || n == 0 {
					return fmt.Errorf("points %q: want a non-zero whole number", amount)
				}
				if debit {
					n = -n
				}
				req.Points = n
			} else {
				if debit {
					if strings.HasPrefix(amount, "-") {
						return errors.New("--debit with a negative amount: give one or the other")
					}
					amount = "-" + amount
				}
				v := strings.TrimPrefix(amount, "-")
				if a, err := ledger.ParseAmount(v); err != nil || a == 0 {
					return fmt.Errorf("amount %q: want non-zero yuan with at most two decimals, e.g. 12.50", amount)
				}
				req.Amount = amount
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				res, err := c.Adjust(ctx, pan, req)
				if err != nil {
					return err
				}
				b := res.Balances
				fmt.Fprintf(cmd.OutOrStdout(), "adjusted card %s: rrn %s; balance %s, available %s, points %d\n",
					res.PAN, res.RRN, b.LedgerFen, b.AvailableFen, b.Points)
				return nil
			})
		},
	}
	adjust.Flags().StringVar(&adjNote, "note", "", "why (required; logged)")
	adjust.Flags().BoolVar(&debit, "debit", false, "debit instead of credit")
	adjust.Flags().BoolVar(&points, "points", false, "AMOUNT is points, not yuan")

	card.AddCommand(show, history, state, adjust, newCardLoyaltyCmd(g, &cardsFile))
	card.AddCommand(newCardSecurityCmds(g, &cardsFile)...)
	return card
}

// cardViewCmd is a command that shows one card's record through the admin
// API: the card named by PAN or by a card name of the --cards file, the
// record printed as the API's JSON with --json, else by text.
func cardViewCmd[T any](g *globalFlags, cardsFile *string, use, short string,
	fetch func(ctx context.Context, c *admin.Client, pan string) (T, error),
	text func(ctx context.Context, w io.Writer, c *admin.Client, pan string, v T) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], *cardsFile)
			if err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				v, err := fetch(ctx, c, pan)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), v)
				}
				return text(ctx, cmd.OutOrStdout(), c, pan, v)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}
