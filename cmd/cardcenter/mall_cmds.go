package main

// The points mall verbs, through the admin API: a program's catalog
// (mall reward put|list, mall restock) and orders (mall order
// place|show|status|list).
// Every change is sent with --operator (default: the login name) and
// needs --note, the audit record's reason.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cardcenter/cardcenter/admin"
)

func newMallCmd(g *globalFlags) *cobra.Command {
	mall := &cobra.Command{
		Use:   "mall",
		Short: "The points mall: rewards catalog and orders paid with points",
		Long: `The points mall through the admin API: a program's catalog of rewards
(points price, stock) and orders paid with a card's points. An order is
placed, then shipped, then delivered; a placed or shipped order can be
cancelled, which gives the points and the stock back. See docs/loyalty.md.`,
	}
	reward := &cobra.Command{Use: "reward", Short: "A program's catalog of rewards"}
	reward.AddCommand(newMallRewardPutCmd(g), newMallRewardListCmd(g))
	order := &cobra.Command{
		Use:   "order",
		Short: "Orders paid with points",
		Long:  "Orders paid with points. A card is named by its PAN, or by a card name (alice) of the --cards file.",
	}
	var cardsFile string
	order.PersistentFlags().StringVar(&cardsFile, "cards", "testdata/demo.yaml", "provisioning file whose card names (alice) may stand for a PAN")
	order.AddCommand(newMallOrderPlaceCmd(g, &cardsFile), newMallOrderShowCmd(g), newMallOrderStatusCmd(g), newMallOrderListCmd(g, &cardsFile))
	mall.AddCommand(reward, newMallRestockCmd(g), order)
	return mall
}

func newMallRestockCmd(g *globalFlags) *cobra.Command {
	var note string
	var add int64
	cmd := &cobra.Command{
		Use:   "restock PROGRAM REWARD --add N --note WHY",
		Short: "Add N items to a reward's stock as it stands (negative N: write off)",
		Long: `Add N items to a reward's stock, or take them away with a negative N
(a write-off). The ledger adds N to the stock as it stands when it
applies the change, after any orders placed since you last read it, so
none is lost (unlike "reward put --stock", which sets it). Refused,
changing nothing, if the stock would go below 0 or above 1,000,000,000.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("add") {
				return errors.New("--add is required: the items to add to the stock (negative to write off)")
			}
			if err := requireNote(note); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				rw, err := c.RestockReward(ctx, args[0], args[1], admin.RestockInput{Add: &add, Note: note})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "reward %s/%s %q: %+d, stock %d, %s\n", rw.ProgramID, rw.ID, rw.Name, add, rw.Stock, activeWord(rw.Active))
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&add, "add", 0, "items to add to the stock, negative to write off (required)")
	cmd.Flags().StringVar(&note, "note", "", "why (required; the audit record's reason)")
	return cmd
}

func newMallRewardPutCmd(g *globalFlags) *cobra.Command {
	var name, note string
	var price, stock int64
	var inactive bool
	cmd := &cobra.Command{
		Use:   "put PROGRAM REWARD --name NAME --price POINTS --stock N --note WHY",
		Short: "Create or replace a reward of a program's catalog (stock is absolute)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !cmd.Flags().Changed("price"):
				return errors.New("--price is required: the points one item costs")
			case !cmd.Flags().Changed("stock"):
				return errors.New("--stock is required: how many items can be ordered")
			}
			if err := requireNote(note); err != nil {
				return err
			}
			active := !inactive
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				rw, err := c.PutReward(ctx, args[0], args[1], admin.RewardInput{Name: name, PointsPrice: &price, Stock: &stock, Active: &active, Note: note})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "reward %s/%s %q: %d points, stock %d, %s\n", rw.ProgramID, rw.ID, rw.Name, rw.Price, rw.Stock, activeWord(rw.Active))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the reward's name (required)")
	cmd.Flags().Int64Var(&price, "price", 0, "points price of one item (required)")
	cmd.Flags().Int64Var(&stock, "stock", 0, "items that can be ordered (required; absolute)")
	cmd.Flags().BoolVar(&inactive, "inactive", false, "keep it in the catalog but refuse orders")
	cmd.Flags().StringVar(&note, "note", "", "why (required; the audit record's reason)")
	return cmd
}

func activeWord(on bool) string {
	if on {
		return "active"
	}
	return "inactive"
}

func newMallRewardListCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list PROGRAM",
		Short: "List a program's catalog",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				res, err := c.Rewards(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), res)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "REWARD\tNAME\tPOINTS\tSTOCK\tSTATE")
				for _, r := range res.Rewards {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.ID, r.Name, r.Price, r.Stock, activeWord(r.Active))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newMallOrderPlaceCmd(g *globalFlags, cardsFile *string) *cobra.Command {
	var rewardID, note string
	var qty int64
	cmd := &cobra.Command{
		Use:   "place CARD --reward ID [--qty N] --note WHY",
		Short: "Order a reward of the card's program, paid with its points",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pan, err := adminCardArg(args[0], *cardsFile)
			if err != nil {
				return err
			}
			if rewardID == "" {
				return errors.New("--reward is required: the id of a reward of the card's program")
			}
			if err := requireNote(note); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				o, err := c.PlaceOrder(ctx, pan, admin.OrderRequest{Reward: rewardID, Qty: qty, Note: note})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "order %d: card %s, %d × %s, %d points, %s\n", o.Seq, o.PAN, o.Qty, o.RewardID, o.Points, o.Status)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&rewardID, "reward", "", "the reward's id (required)")
	cmd.Flags().Int64Var(&qty, "qty", 1, "how many")
	cmd.Flags().StringVar(&note, "note", "", "why (required; the audit record's reason)")
	return cmd
}

func orderSeqArg(s string) (uint64, error) {
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("order %q: want an order number (a whole number above 0)", s)
	}
	return seq, nil
}

func printOrder(w io.Writer, o *admin.OrderView) {
	fmt.Fprintf(w, "order %d: card %s, %s %d × %s (%s), %d points, %s\n", o.Seq, o.PAN, o.ProgramID, o.Qty, o.RewardID, o.RewardName, o.Points, o.Status)
	for _, ev := range o.History {
		fmt.Fprintf(w, "  %-9s by %s: %s\n", ev.Status, ev.Operator, ev.Reason)
	}
}

func newMallOrderShowCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ORDER",
		Short: "Show an order and its history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := orderSeqArg(args[0])
			if err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				o, err := c.Order(ctx, seq)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), o)
				}
				printOrder(cmd.OutOrStdout(), o)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newMallOrderStatusCmd(g *globalFlags) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "status ORDER shipped|delivered|cancelled --note WHY",
		Short: "Move an order on; cancelled gives the points and the stock back",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			seq, err := orderSeqArg(args[0])
			if err != nil {
				return err
			}
			if err := requireNote(note); err != nil {
				return err
			}
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				o, err := c.SetOrderStatus(ctx, seq, args[1], note)
				if err != nil {
					return err
				}
				printOrder(cmd.OutOrStdout(), o)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why (required; the audit record's reason)")
	return cmd
}

func newMallOrderListCmd(g *globalFlags, cardsFile *string) *cobra.Command {
	var limit int
	cmd := cardViewCmd(g, cardsFile, "list CARD", "List a card's orders, newest first",
		func(ctx context.Context, c *admin.Client, pan string) (*admin.OrderList, error) {
			return c.CardOrders(ctx, pan, limit)
		},
		func(_ context.Context, w io.Writer, _ *admin.Client, _ string, res *admin.OrderList) error {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ORDER\tREWARD\tQTY\tPOINTS\tSTATUS")
			for _, o := range res.Orders {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\n", o.Seq, o.RewardID, o.Qty, o.Points, o.Status)
			}
			return tw.Flush()
		})
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many orders (default: the server's)")
	return cmd
}
