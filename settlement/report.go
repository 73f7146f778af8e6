package settlement

// report.go: the report per merchant and business day (sales, refunds,
// loads, points earned and redeemed, fees, net), from the same Day the
// settlement job computes: for a settled date its figures are the
// settlement files'; for an unsettled one they are computed live from
// the journal, and the report says so.

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/ledger"
)

// MerchantDay is one merchant's figures for a business date
// (docs/settlement.md, "Report per merchant and day").
type MerchantDay struct {
	Program string `json:"program"`
	MID     string `json:"mid"`
	Name    string `json:"name"`
	Totals
	// Fees is what the merchant pays in fees, net: MDR + interchange
	// paid + point cost + billing − interchange received − load
	// commission; Net = sales − refunds − loads + redeemed value − Fees.
	Fees ledger.Amount `json:"fees_fen"`
}

// MerchantReport is the report of a date.
type MerchantReport struct {
	Date   string        `json:"date"`
	Source string        `json:"source"` // settled or live
	Note   string        `json:"note"`
	Rows   []MerchantDay `json:"merchants"`
}

// ReportMerchants reports business date d for every merchant with a
// position on it or, mid not empty, for that merchant (a registered
// merchant without activity gets a row of zeros). today is the host's
// current business date; a later d is refused (ErrFutureDate), and an
// unknown mid too (ErrUnknownMerchant).
func ReportMerchants(ctx context.Context, l ReportLedger, d, today uint32, mid string) (*MerchantReport, error) {
	merchants, err := l.Merchants()
	if err != nil {
		return nil, err
	}
	byMID := map[string]ledger.Merchant{}
	for _, m := range merchants {
		byMID[m.MID] = m
	}
	if _, ok := byMID[mid]; mid != "" && !ok {
		return nil, fmt.Errorf("mid %q: %w", mid, ErrUnknownMerchant)
	}
	day, source, note, err := loadDay(ctx, l, d, today, nil)
	if err != nil {
		return nil, err
	}
	rep := &MerchantReport{Date: ledger.FormatBusinessDate(d), Source: source, Note: note, Rows: []MerchantDay{}}
	for i := range day.Positions {
		p := &day.Positions[i]
		if mid != "" && p.MID != mid {
			continue
		}
		row, err := merchantDay(p.Program, p.MID, byMID[p.MID].Name, p.Totals)
		if err != nil {
			return nil, err
		}
		rep.Rows = append(rep.Rows, row)
	}
	if mid != "" && len(rep.Rows) == 0 {
		m := byMID[mid]
		rep.Rows = append(rep.Rows, MerchantDay{Program: m.ProgramID, MID: mid, Name: m.Name})
	}
	return rep, nil
}

func merchantDay(prog, mid, name string, t Totals) (MerchantDay, error) {
	row := MerchantDay{Program: prog, MID: mid, Name: name, Totals: t}
	for _, v := range []ledger.Amount{t.MDRFee, t.Interchange, t.PointCost, t.Billing, -t.InterchangeReceived, -t.LoadCommission} {
		if err := addAmount(&row.Fees, v); err != nil {
			return row, fmt.Errorf("mid %s fees: %w", mid, err)
		}
	}
	return row, nil
}
