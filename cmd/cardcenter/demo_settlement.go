package main

// The settlement part of the demo: after the POS script, each merchant's
// position for today so far, computed live from the journal as tonight's
// settlement will (bin/cardcenter report merchant), so that a newcomer
// sees what the coalition's merchants owe each other. The demo does not
// settle: closing today's date would make its later purchases late.

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/ledger"
)

// demoSettlementPreview prints today's live merchant report.
func demoSettlementPreview(ctx context.Context, out io.Writer, c *admin.Client, st *ledger.Store) error {
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	today := ledger.FormatBusinessDate(st.BusinessDate())
	rep, err := c.MerchantReport(ctx, today, "")
	if err != nil {
		return fmt.Errorf("demo merchant report of %s: %w", today, err)
	}
	fmt.Fprintf(out, "\nToday's settlement so far (%s, %s; bin/cardcenter report merchant --date %s):\n", rep.Date, rep.Source, today)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sales\trefunds\tloads\tpaid in points\tpoints earned\tfees\tnet\t  merchant")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t  %s %s\n", r.Sales, r.Refunds, r.Loads,
			r.RedeemedValue, r.PointsEarned, r.Fees, r.Net, r.MID, r.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "A positive net is paid by the program to the merchant. serve settles the date after its cut-off\n"+
		"(files in %s); docs/settlement.md explains every figure.\n", "DATA/settlement/<date>/")
	return nil
}
