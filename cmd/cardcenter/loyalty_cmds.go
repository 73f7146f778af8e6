package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// expireCallTimeout bounds `loyalty expire` through the admin API: the
// job visits every wallet (about a minute per million on a laptop).
const expireCallTimeout = time.Hour

func newLoyaltyCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "loyalty", Short: "Loyalty jobs: points expiry and expiry notices"}
	cmd.AddCommand(newLoyaltyExpireCmd(g), newLoyaltyNoticesCmd(g))
	return cmd
}

// loyaltyOffline reports whether a loyalty verb runs on the stopped
// store: an explicit --data without a host running from it, or no host
// answering. With a host the verb goes through its admin API.
func loyaltyOffline(ctx context.Context, g *globalFlags) (*admin.Client, bool) {
	if g.DataDir != "" && g.AdminAddr == "" {
		if _, err := readHostFile(g.DataDir); err != nil {
			return nil, true
		}
	}
	c, err := g.client()
	if err != nil {
		return nil, adminHostDown(ctx, g, err)
	}
	if adminHostDown(ctx, g, nil) {
		return nil, true
	}
	return c, false
}

// openStoreFor opens the stopped store of --data with the business zone
// and cut-off of --config (the host's), which decide where a date ends.
func openStoreFor(g *globalFlags, config string, readOnly bool) (*ledger.Store, error) {
	c, err := keysConfig(g, config)
	if err != nil {
		return nil, err
	}
	if g.DataDir == "" && config == "" {
		c.DataDir = g.dataDir()
	}
	loc, err := time.LoadLocation(c.Business.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("config business.time_zone %q: %v", c.Business.TimeZone, err)
	}
	dir, err := storeDirOf(c.DataDir)
	if err != nil {
		return nil, err
	}
	g.DataDir = c.DataDir
	return ledger.Open(dir, ledger.Options{Location: loc, CutoffHour: c.Business.CutoffHour, ReadOnly: readOnly, PruneInterval: -1})
}

// dateArg is --date as yyyymmdd; empty: the last business date that has
// ended, the one serve's daily job runs.
func dateArg(s string, st *ledger.Store) (uint32, error) {
	if s == "" {
		return st.LastEndedBusinessDate(time.Now()), nil
	}
	return ledger.ParseBusinessDate(s)
}

func newLoyaltyExpireCmd(g *globalFlags) *cobra.Command {
	var date, config string
	cmd := &cobra.Command{
		Use:   "expire --date YYYY-MM-DD",
		Short: "Run the expiry job for a business date: through the running host, or on the stopped store",
		Long: `Expire the points lots due by the end of a business date (breakage),
write the expiry notices of the lots due within each program's
notice_days to the outbox, and drain the outbox to
DATA/outbox/notices-<date>.jsonl. Idempotent per date; a run stopped
anywhere is finished by running it again. serve runs it every day after
the cut-off (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if date == "" {
				return fmt.Errorf("--date: missing (YYYY-MM-DD, a business date that has ended)")
			}
			if _, err := ledger.ParseBusinessDate(date); err != nil {
				return fmt.Errorf("--date: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), expireCallTimeout)
			defer cancel()
			if c, offline := loyaltyOffline(ctx, g); !offline {
				res, err := c.ExpireLots(ctx, date)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "expiry %s through the admin API at %s: %d cards, %d lots expired (%d points), %d notices, %d outbox lines written%s\n",
					res.Date, c.BaseURL, res.Cards, res.Expired, res.Breakage, res.Notices, res.Drained, doneNote(res.AlreadyDone))
				return nil
			}
			st, err := openStoreFor(g, config, false)
			if err != nil {
				return fmt.Errorf("open store: %w", err)
			}
			defer st.Close()
			d, _ := ledger.ParseBusinessDate(date)
			job := newExpiryJob(st, g.DataDir, time.Now, zerolog.Nop())
			p, n, err := job.run(ctx, d, func(p ledger.ExpiryProgress) {
				if !p.Done {
					fmt.Fprintf(out, "expiry %s: %d cards\n", date, p.Cards)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "expiry %s done: %d cards, %d lots expired (%d points), %d notices, %d outbox lines written%s\n",
				date, p.Cards, p.Expired, p.Breakage, p.Notices, n, doneNote(p.AlreadyDone))
			return st.Close()
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "the business date, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration (business zone and cut-off), for the stopped store")
	return cmd
}

func doneNote(already bool) string {
	if already {
		return " (already done for this date: nothing to do)"
	}
	return ""
}

func newLoyaltyNoticesCmd(g *globalFlags) *cobra.Command {
	var date, config string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "notices [--date YYYY-MM-DD] [--json]",
		Short: "The expiry-notice report: lots expiring within their program's notice window after a business date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
			defer cancel()
			var res admin.NoticesResult
			if c, offline := loyaltyOffline(ctx, g); !offline {
				if date == "" {
					return fmt.Errorf("--date: missing (the host's business date is the host's)")
				}
				r, err := c.ExpiryNotices(ctx, date)
				if err != nil {
					return err
				}
				res = *r
			} else {
				st, err := openStoreFor(g, config, true)
				if err != nil {
					return fmt.Errorf("open store: %w", err)
				}
				defer st.Close()
				d, err := dateArg(date, st)
				if err != nil {
					return fmt.Errorf("--date: %w", err)
				}
				res.Date = ledger.FormatBusinessDate(d)
				if res.Notices, err = st.ExpiryNotices(ctx, d); err != nil {
					return err
				}
			}
			if asJSON {
				return adminPrintJSON(out, res)
			}
			return printNotices(out, res)
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "the business date, YYYY-MM-DD (default: the last that has ended)")
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration (business zone and cut-off), for the stopped store")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printNotices(w io.Writer, res admin.NoticesResult) error {
	fmt.Fprintf(w, "expiry notices after %s: %d lots\n", res.Date, len(res.Notices))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CARD\tPROGRAM\tLOT\tPOINTS\tEXPIRES\tNOTICED")
	for _, n := range res.Notices {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%v\n", n.Card, n.Program, n.Lot, n.Points, n.Expires.Format(time.RFC3339), n.Noticed)
	}
	return tw.Flush()
}
