package settlement

// files_billing.go: the invoice of a month-end date in a merchant's
// files: `invoice` rows in its CSV (one per invoice item) and the
// `invoice` object of its JSON (docs/settlement.md, "Merchant billing").

import (
	"slices"

	"github.com/cardcenter/cardcenter/ledger"
)

// InvoiceFile is the invoice in a merchant's JSON file.
type InvoiceFile struct {
	Month       string        `json:"month"` // YYYY-MM
	BillingRRN  string        `json:"billing_rrn"`
	MerchantFee ledger.Amount `json:"merchant_fee_fen"`
	TerminalFee ledger.Amount `json:"terminal_fee_fen"`
	Terminals   int           `json:"terminals"`
	Total       ledger.Amount `json:"total_fen"`
	Items       []InvoiceItem `json:"items"`
}

func invoiceFile(p *Position, rrn string) *InvoiceFile {
	inv := p.Invoice
	if inv == nil {
		return nil
	}
	return &InvoiceFile{Month: inv.Month, BillingRRN: rrn, MerchantFee: inv.MerchantFee, TerminalFee: inv.TerminalFee,
		Terminals: len(inv.Terminals), Total: inv.Total, Items: inv.Items()}
}

// invoiceMonth is the billing_month of a merchant's total row.
func invoiceMonth(p *Position) string {
	if p.Invoice == nil {
		return ""
	}
	return p.Invoice.Month
}

// csvColumn is the index of a merchant file's column.
func csvColumn(name string) int { return slices.Index(csvLineColumns, name) }

// appendInvoiceCSV appends the invoice rows of a merchant's CSV: one per
// item, its fee in amount_fen and billing_fen, minus it in net_fen (the
// total row's net_fen is the sum of the line and invoice rows').
func appendInvoiceCSV(b []byte, p *Position, date, rrn string) []byte {
	if p.Invoice == nil {
		return b
	}
	for _, it := range p.Invoice.Items() {
		row := make([]string, len(csvLineColumns))
		for name, v := range map[string]string{
			"record": "invoice", "date": date, "program": p.Program, "mid": p.MID, "rrn": rrn, "kind": it.Item,
			"tid": it.TID, "amount_fen": itoa(int64(it.Amount)), "net_fen": itoa(-int64(it.Amount)),
			"billing_month": p.Invoice.Month, "billing_fen": itoa(int64(it.Amount)), "billing_rrn": rrn,
		} {
			row[csvColumn(name)] = v
		}
		b = csvRow(b, row...)
	}
	return b
}
