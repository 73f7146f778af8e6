package settlement

// billing.go: merchant billing. A program's monthly fees to its
// merchants (ledger.Program.Billing: a fee per merchant and one per
// enabled terminal) are invoiced with the settlement of the month's last
// business date: an Invoice per merchant, which lowers its position for
// that date (the merchant owes it), posted beside its settlement posting
// and listed as invoice rows in its files.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/money"
)

// Invoice is a merchant's bill for a month: the program's merchant fee
// once and its terminal fee for each terminal registered and enabled at
// the merchant when the month was billed (whole months, no proration).
type Invoice struct {
	Program     string        `json:"program"`
	MID         string        `json:"mid"`
	Month       string        `json:"month"` // YYYY-MM
	MerchantFee ledger.Amount `json:"merchant_fee_fen"`
	TerminalFee ledger.Amount `json:"terminal_fee_fen"` // per terminal
	Terminals   []string      `json:"terminals"`        // TIDs, sorted
	Total       ledger.Amount `json:"total_fen"`
}

// InvoiceItem is one row of an invoice: the merchant fee, or one
// terminal's fee (TID set).
type InvoiceItem struct {
	Item   string        `json:"item"` // merchant_fee or terminal_fee
	TID    string        `json:"tid,omitempty"`
	Amount ledger.Amount `json:"amount_fen"`
}

// Item names of invoice rows (docs/settlement.md).
const (
	ItemMerchantFee = "merchant_fee"
	ItemTerminalFee = "terminal_fee"
)

// Items are the invoice's rows: the merchant fee (when not zero), then
// each terminal's, in TID order. They sum to Total.
func (inv *Invoice) Items() []InvoiceItem {
	var out []InvoiceItem
	if inv.MerchantFee != 0 {
		out = append(out, InvoiceItem{Item: ItemMerchantFee, Amount: inv.MerchantFee})
	}
	if inv.TerminalFee != 0 {
		for _, tid := range inv.Terminals {
			out = append(out, InvoiceItem{Item: ItemTerminalFee, TID: tid, Amount: inv.TerminalFee})
		}
	}
	return out
}

// Invoices are the invoices of billing month (yyyymm) from the registry
// as it is now: for every merchant of a program with billing, its
// program's merchant fee plus the terminal fee times the terminals
// registered and enabled at it. A merchant whose invoice is zero gets
// none. Sorted by program, then MID.
func Invoices(month uint32, progs []ledger.Program, merchants []ledger.Merchant, terms []ledger.Terminal) ([]Invoice, error) {
	billing := map[string]*ledger.Billing{}
	for _, p := range progs {
		if p.Billing != nil {
			billing[p.ID] = p.Billing
		}
	}
	enabled := map[string][]string{}
	for _, t := range terms {
		if t.Enabled {
			enabled[t.MID] = append(enabled[t.MID], t.TID)
		}
	}
	var out []Invoice
	for _, m := range merchants {
		b := billing[m.ProgramID]
		if b == nil {
			continue
		}
		tids := enabled[m.MID]
		slices.Sort(tids)
		inv := Invoice{Program: m.ProgramID, MID: m.MID, Month: ledger.FormatMonth(month), MerchantFee: b.MerchantMonthlyFee,
			TerminalFee: b.TerminalMonthlyFee, Terminals: tids}
		if inv.Terminals == nil {
			inv.Terminals = []string{}
		}
		tf, err := money.Scale(int64(b.TerminalMonthlyFee), []int64{int64(len(tids))}, 1, money.Floor)
		if err == nil {
			var total int64
			if total, err = money.AddInt64(int64(b.MerchantMonthlyFee), tf); err == nil {
				inv.Total = ledger.Amount(total)
			}
		}
		if err != nil || !ledger.InRange(int64(inv.Total)) {
			return nil, fmt.Errorf("billing %s: mid %s: %d terminals at %d fen and %d fen: out of range", inv.Month, m.MID,
				len(tids), b.TerminalMonthlyFee, b.MerchantMonthlyFee)
		}
		if inv.Total != 0 {
			out = append(out, inv)
		}
	}
	slices.SortFunc(out, func(a, b Invoice) int {
		if c := strings.Compare(a.Program, b.Program); c != 0 {
			return c
		}
		return strings.Compare(a.MID, b.MID)
	})
	return out, nil
}

// decodeInvoices reads a month's invoices as the ledger recorded them.
func decodeInvoices(month uint32, raw json.RawMessage) ([]Invoice, error) {
	var invs []Invoice
	if err := json.Unmarshal(raw, &invs); err != nil {
		return nil, fmt.Errorf("billing %s: recorded invoices: %w", ledger.FormatMonth(month), err)
	}
	return invs, nil
}

// Bill adds a month's invoices to the date being computed: each lowers
// its merchant's position by its total, and a merchant with an invoice
// and no transaction still gets a position (and files).
func (c *Computer) Bill(invs []Invoice) { c.invoices = invs }
