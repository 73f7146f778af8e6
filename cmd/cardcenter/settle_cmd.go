package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// settleCallTimeout bounds `settle` through the admin API: a date of a
// million transactions takes seconds, a year of catch-up longer.
const settleCallTimeout = time.Hour

func newSettleCmd(g *globalFlags) *cobra.Command {
	var date, config string
	var early bool
	cmd := &cobra.Command{
		Use:   "settle --date YYYY-MM-DD",
		Short: "Settle a business date: through the running host, or on the stopped store",
		Long: `Close a business date in the ledger, compute every merchant's position
(contract section 8), post each into the merchant's payable account
(mpr/<mid>) against the program's (pst/<program>), and write
DATA/settlement/<yyyymmdd>/: <mid>.csv and <mid>.json per merchant, and
summary.csv and summary.json (docs/settlement.md). Idempotent per date:
a rerun writes the same files and posts nothing; a run stopped anywhere
is finished by running it again. serve settles every ended date after
the cut-off. --early closes today's date before its cut-off: later
transactions of today belong to tomorrow, flagged late.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if date == "" {
				return fmt.Errorf("--date: missing (YYYY-MM-DD, a business date that has ended)")
			}
			d, err := ledger.ParseBusinessDate(date)
			if err != nil {
				return fmt.Errorf("--date: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), settleCallTimeout)
			defer cancel()
			// With a host running, its writer owns the store: the job runs
			// there, so its close is ordered with the host's decisions.
			if c, offline := loyaltyOffline(ctx, g); !offline {
				res, err := c.Settle(ctx, date, early)
				if err != nil {
					return err
				}
				printSettled(out, *res, " through the admin API at "+c.BaseURL)
				return nil
			}
			st, err := openStoreFor(g, config, false)
			if err != nil {
				return fmt.Errorf("open store: %w", err)
			}
			defer st.Close()
			job := newSettleJob(st, g.DataDir, time.Now, zerolog.Nop())
			res, err := job.run(ctx, d, early, settleProgress(out))
			if err != nil {
				return err
			}
			printSettled(out, admin.SettleResultOf(res), "")
			return st.Close()
		},
	}
	cmd.Flags().StringVar(&date, "date", "", "the business date, YYYY-MM-DD (required)")
	cmd.Flags().BoolVar(&early, "early", false, "close today's business date before its cut-off")
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration (business zone and cut-off), for the stopped store")
	return cmd
}

func printSettled(out io.Writer, r admin.SettleResult, how string) {
	note := ""
	if r.AlreadySettled {
		note = " (already settled: files rewritten, nothing posted)"
	}
	fmt.Fprintf(out, "settlement %s%s: %d entries, %d merchants, %d postings, files in %s%s\n",
		r.Date, how, r.Entries, r.Merchants, r.Posted, r.Dir, note)
	for _, p := range r.Programs {
		fmt.Fprintf(out, "program %s position %s yuan\n", p.Program, ledger.Amount(p.Net))
	}
}

// settleProgress shows a progress bar per step on a terminal, and plain
// lines otherwise (a log, a pipe, a test).
func settleProgress(out io.Writer) func(settlement.Progress) {
	f, ok := out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return func(p settlement.Progress) {
			// A line per reported step of the journal and the postings
			// (every 50,000 entries, every 256 merchants), every 50th
			// merchant file, and each step's end.
			if p.Step == settlement.StepDone || (p.Step == settlement.StepFiles && p.Done%50 != 0 && p.Done != p.Total) {
				return
			}
			if p.Total == 0 {
				fmt.Fprintf(out, "settlement %s: %s %d\n", ledger.FormatBusinessDate(p.Date), p.Step, p.Done)
				return
			}
			fmt.Fprintf(out, "settlement %s: %s %d of %d\n", ledger.FormatBusinessDate(p.Date), p.Step, p.Done, p.Total)
		}
	}
	var bar *progressbar.ProgressBar
	step := ""
	return func(p settlement.Progress) {
		if p.Step != step {
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(out)
			}
			step = p.Step
			bar = nil
			if p.Step == settlement.StepDone {
				return
			}
			total := int64(p.Total)
			if total == 0 {
				total = -1 // a spinner: the count is not known in advance
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(out),
				progressbar.OptionSetDescription(ledger.FormatBusinessDate(p.Date)+" "+p.Step),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		if bar != nil {
			bar.Set64(int64(p.Done))
		}
	}
}
