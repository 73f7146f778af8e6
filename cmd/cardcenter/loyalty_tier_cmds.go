package main

// The tier and member verbs: `loyalty review-tiers` (the monthly tier
// review, through the running host or on the stopped store), `card
// loyalty` (the member view) and the loyalty section of `card show`;
// and the host's monthly run of the review.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/ledger"
)

// addLoyaltyVerbs puts verbs under the root's `loyalty` command, making
// it when no other file has: the loyalty verbs come from several files.
func addLoyaltyVerbs(root *cobra.Command, verbs ...*cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "loyalty" {
			c.AddCommand(verbs...)
			return
		}
	}
	parent := &cobra.Command{Use: "loyalty", Short: "Loyalty jobs and reports"}
	parent.AddCommand(verbs...)
	root.AddCommand(parent)
}

func newReviewTiersCmd(g *globalFlags) *cobra.Command {
	var month, config string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "review-tiers [--month YYYY-MM]",
		Short: "Run the monthly tier review (down one tier at most): through the running host, else on the stopped store",
		Long: `Run the monthly tier review of a month that has ended (default: the last
one, in the business time zone): every member's tier follows the average
monthly spend over the program's tier window ending with that month, up to
the tier it qualifies for or down one tier at most. A month is reviewed
once: a rerun changes nothing (docs/loyalty.md, The monthly tier review).

With a running host the review goes through its admin API; without one the
store in --data is opened and reviewed here (--config gives the business
time zone and data directory of a host with a configuration file).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if month != "" {
				if _, err := ledger.ParseMonth(month); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
			defer cancel()
			st, via, err := reviewTiers(ctx, g, config, month)
			if err != nil {
				return err
			}
			if asJSON {
				return adminPrintJSON(cmd.OutOrStdout(), st)
			}
			printReview(cmd.OutOrStdout(), st, via)
			return nil
		},
	}
	cmd.Flags().StringVar(&month, "month", "", "the month to review, YYYY-MM (default: the last month that has ended)")
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration file (business time zone, data_dir), for a review without a running host")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// reviewTiers runs the review through the running host, else on the
// store; via says which.
func reviewTiers(ctx context.Context, g *globalFlags, config, month string) (*ledger.ReviewStats, string, error) {
	if _, err := readHostFile(g.dataDir()); err == nil || g.AdminAddr != "" {
		c, err := g.client()
		if err == nil {
			var st *ledger.ReviewStats
			st, err = c.ReviewTiers(ctx, monthOrLast(month, nil))
			if err == nil {
				return st, "the running host at " + c.BaseURL, nil
			}
		}
		if !adminHostDown(ctx, g, err) {
			return nil, "", err
		}
	}
	opts := ledger.Options{}
	dataDir := g.dataDir()
	if config != "" {
		c, err := keysConfig(g, config)
		if err != nil {
			return nil, "", err
		}
		dataDir = c.DataDir
		if opts.Location, err = time.LoadLocation(c.Business.TimeZone); err != nil {
			return nil, "", fmt.Errorf("config business.time_zone: %w", err)
		}
	}
	dir, err := storeDirOf(dataDir)
	if err != nil {
		return nil, "", err
	}
	st, err := ledger.Open(dir, opts)
	if err != nil {
		return nil, "", fmt.Errorf("open store %s (is a host running?): %w", dir, err)
	}
	res, err := st.ReviewTiers(ctx, monthOrLast(month, st))
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", err
	}
	return &res, "the store " + dir + " (no host runs)", nil
}

// monthOrLast is month, else the last month that has ended: the store's
// business zone when it is open here; through the API, the CLI's clock
// in the default business zone (UTC+8), which the host checks again.
func monthOrLast(month string, st *ledger.Store) string {
	if month != "" {
		return month
	}
	if st != nil {
		return st.LastEndedMonth()
	}
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location()).AddDate(0, -1, 0).Format("2006-01")
}

func printReview(w io.Writer, st *ledger.ReviewStats, via string) {
	if st.AlreadyDone {
		fmt.Fprintf(w, "tier review %s was already done (nothing changed now): ", st.Month)
	} else {
		fmt.Fprintf(w, "tier review %s through %s: ", st.Month, via)
	}
	fmt.Fprintf(w, "%d members, %d reviewed, %d skipped, %d up, %d down\n", st.Members, st.Reviewed, st.Skipped, st.Upgraded, st.Downgraded)
}

// newCardLoyaltyCmd is `card loyalty CARD`: the member view.
func newCardLoyaltyCmd(g *globalFlags, cardsFile *string) *cobra.Command {
	var limit int
	cmd := cardViewCmd(g, cardsFile, "loyalty CARD", "Show a card's loyalty: tier and history, points by lot, spend, visits, earning history",
		func(ctx context.Context, c *admin.Client, pan string) (*admin.MemberView, error) {
			return c.CardLoyalty(ctx, pan, limit)
		},
		func(_ context.Context, w io.Writer, _ *admin.Client, _ string, v *admin.MemberView) error {
			printMemberView(w, v, true)
			return nil
		})
	cmd.Flags().IntVar(&limit, "limit", ledger.DefaultMemberEarnings, fmt.Sprintf("at most this many earning entries (1..%d)", ledger.MaxMemberEarnings))
	return cmd
}

// printMemberView prints the loyalty section of `card show` and, with
// full, the tier history and the earning history.
func printMemberView(w io.Writer, v *admin.MemberView, full bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if !v.HasRules {
		fmt.Fprintf(tw, "loyalty\tprogram %s has no loyalty rules\n", v.ProgramID)
		return
	}
	fmt.Fprintf(tw, "tier\t%s\tmultiplier %s, discount %s, rules v%d%s\n", adminDash(v.TierName, v.TierName),
		bpText(int64(v.MultiplierBP)), bpText(int64(v.DiscountBP)), v.RulesVersion, reviewedText(v.ReviewedMonth))
	debt := ""
	if v.Debt > 0 {
		debt = fmt.Sprintf(", debt %d", v.Debt)
	}
	fmt.Fprintf(tw, "points\t%d\tavailable %d%s, %d lots\n", v.Points, v.Available, debt, len(v.Lots))
	for _, l := range v.Lots {
		exp := "never"
		if l.Expires != nil {
			exp = l.Expires.Format(time.RFC3339)
		}
		if l.Expired {
			exp += " (expired)"
		}
		fmt.Fprintf(tw, "  lot %s\t%d of %d\texpires %s\n", l.RRN, l.Remaining, l.Points, exp)
	}
	fmt.Fprintf(tw, "spend\tlifetime %s\tlast %d months %s, average %s a month\n", v.LifetimeFen, v.WindowMonths, v.WindowFen, v.AverageFen)
	fmt.Fprintf(tw, "visits\tthis month %d\tlifetime %d\n", v.VisitsMonth, v.VisitsTotal)
	if !full {
		return
	}
	fmt.Fprintln(tw, "tier history:")
	for _, h := range v.TierHistory {
		fmt.Fprintf(tw, "  %s\t%s -> %s\t%s %s\n", h.At.Format(time.RFC3339), h.From, h.To, h.Reason, h.RRN)
	}
	fmt.Fprintf(tw, "earnings (newest first, at most %d):\n", v.Limit)
	fmt.Fprintln(tw, "  RRN\tTIME\tKIND\tAMOUNT\tEARNED\tDEBITED\tRULES\tCAMPAIGNS")
	for _, e := range v.Earnings {
		rules := "-"
		if e.RulesVersion > 0 {
			rules = fmt.Sprintf("v%d", e.RulesVersion)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.RRN, e.At.Format(time.RFC3339), e.Kind, e.AmountFen,
			e.Earned, e.Debited, rules, adminDash(len(e.Campaigns), strings.Join(e.Campaigns, ",")))
	}
}

func bpText(bp int64) string { return fmt.Sprintf("%d.%02d %%", bp/100, bp%100) }

func reviewedText(m string) string {
	if m == "" {
		return ""
	}
	return ", reviewed " + m
}

// adminPrintCardLoyalty adds the loyalty section to `card show`; a host
// without the member view (older) prints none.
func adminPrintCardLoyalty(ctx context.Context, w io.Writer, c *admin.Client, pan string) error {
	v, err := c.CardLoyalty(ctx, pan, 1)
	var apiErr *admin.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 404 {
		return nil
	}
	if err != nil {
		return err
	}
	printMemberView(w, v, false)
	return nil
}

// tierReviewCheck is how often a host looks for a month to review: the
// review of a month already done costs one read.
const tierReviewCheck = time.Hour

// startTierReviews runs the tier review of the last ended month now and
// then every tierReviewCheck, so a month is reviewed within the hour
// after it ends (or when the host starts, if it was down). The returned
// stop ends the loop and waits for a review in progress.
func startTierReviews(st *ledger.Store, log zerolog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(tierReviewCheck)
		defer tick.Stop()
		for {
			month := st.LastEndedMonth()
			res, err := st.ReviewTiers(ctx, month)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Error().Err(err).Str("month", month).Msg("tier review failed; retried within the hour")
			case err == nil && !res.AlreadyDone:
				log.Info().Str("month", month).Int("members", res.Members).Int("reviewed", res.Reviewed).
					Int("upgraded", res.Upgraded).Int("downgraded", res.Downgraded).Msg("tier review done")
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}
