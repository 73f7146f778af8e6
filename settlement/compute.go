package settlement

// compute.go: a business date's settlement from its frozen journal: each
// entry's Contribution, then every merchant's position and each
// program's. Pure: a function of the entries, the lookup of originals
// and the rate book.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/money"
)

// Totals are the sums of a merchant's lines. Figures sum its acquirer
// lines (transactions at the merchant); InterchangeReceived sums the
// interchange other merchants paid it for its cards; Billing is its
// invoice for the month on a month's last business date (billing.go);
// Net is its position: what the program owes it (negative: what it owes
// the program), the lines' net less Billing.
type Totals struct {
	Figures
	InterchangeReceived ledger.Amount `json:"interchange_received_fen"`
	Billing             ledger.Amount `json:"billing_fen"`
	Net                 ledger.Amount `json:"net_fen"`
	Counted             int           `json:"counted"`
	Excluded            int           `json:"excluded"`
	Adjustments         int           `json:"adjustments"`
	Late                int           `json:"late"`
	HomeLines           int           `json:"home_lines"`
}

// Position is one merchant's settlement for the date.
type Position struct {
	Program string
	MID     string
	Totals
	// Lines are indexes into Day.Contributions of the entries in the
	// merchant's file, in seq order: its acquirer lines and its home
	// lines (Home[i] says which).
	Lines []int32
	Home  []bool
	// Invoice is the merchant's invoice for the month, on a month's last
	// business date (nil: none).
	Invoice *Invoice
}

// ProgramPosition is a program's own position for the date: minus the
// sum of its merchants' (section 8), with the sums behind it.
type ProgramPosition struct {
	Program string
	// Merchants sums the merchants' totals (Net is their sum).
	Merchants Totals
	Count     int
	Net       ledger.Amount // −Merchants.Net
}

// Day is a business date's settlement.
type Day struct {
	Date uint32
	// Contributions are the date's merchant entries, in seq order.
	Contributions []Contribution
	// Positions are sorted by program, then MID; Programs by program.
	Positions []Position
	Programs  []ProgramPosition
	// Internal counts the date's program-internal entries (adjustments,
	// mall orders, expiry): not merchant settlement.
	Internal int
}

// Computer builds a Day from a date's journal entries, fed in seq order.
type Computer struct {
	date    uint32
	rb      RateBook
	lookup  Lookup
	day     Day
	lastSeq uint64
	// names interns the MIDs, TIDs and program ids of a million entries.
	names map[string]string
	// invoices are the month's invoices, on its last business date (Bill).
	invoices []Invoice
}

// NewComputer starts the settlement of business date date. lookup reads
// an undo's original from the journal.
func NewComputer(date uint32, rb RateBook, lookup Lookup) *Computer {
	return &Computer{date: date, rb: rb, lookup: lookup, day: Day{Date: date}, names: map[string]string{}}
}

func (c *Computer) intern(s string) string {
	if v, ok := c.names[s]; ok {
		return v
	}
	c.names[s] = s
	return s
}

// Grow makes room for n more entries (JournalByDate says how many a
// date has): a million Contributions grown by doubling cost a second of
// copying.
func (c *Computer) Grow(n int) { c.day.Contributions = slices.Grow(c.day.Contributions, n) }

// find is the index of seq's contribution, or -1.
func (c *Computer) find(seq uint64) int {
	cs := c.day.Contributions
	i := sort.Search(len(cs), func(i int) bool { return cs[i].Seq >= seq })
	if i < len(cs) && cs[i].Seq == seq {
		return i
	}
	return -1
}

// Add takes the date's next journal entry.
func (c *Computer) Add(t *ledger.Txn) error {
	if t.BizDate != c.date {
		return fmt.Errorf("rrn %s: booked on %d, not %d", t.RRN(), t.BizDate, c.date)
	}
	if t.Seq <= c.lastSeq {
		return fmt.Errorf("rrn %s: entries out of sequence order", t.RRN())
	}
	c.lastSeq = t.Seq
	if !Merchant(t.Kind) || t.Status == 0 {
		c.day.Internal++
		return nil
	}
	cb := Contribution{
		Seq: t.Seq, Kind: t.Kind, Program: c.intern(t.ProgramID), MID: c.intern(t.MID), HomeMID: c.intern(t.HomeMID),
		TID: c.intern(t.TID), Card: cardnum.Mask(t.PAN), Amount: t.Amount, LateFrom: t.LateFrom, Status: Counted,
	}
	switch {
	case t.Kind == ledger.KindPreAuth:
		cb.Status = Excluded // a hold counts nothing; its completion counts
	case Counts(t.Kind):
		f, err := OwnFigures(t, c.rb)
		if err != nil {
			return err
		}
		cb.Figures = f
	default: // an undo
		o, err := c.lookup(t.OrigSeq)
		if err != nil {
			return err
		}
		if o == nil {
			return fmt.Errorf("rrn %s: its original %s is not in the journal", t.RRN(), ledger.FormatRRN(t.OrigSeq))
		}
		cb.OrigSeq, cb.OrigDate = o.Seq, o.BizDate
		if i := c.find(o.Seq); o.BizDate == c.date && i >= 0 && c.day.Contributions[i].ExcludedWith == 0 {
			// Original and undo on the same date: both out.
			orig := &c.day.Contributions[i]
			orig.Status, orig.ExcludedWith, orig.Figures, orig.MerchantNet, orig.HomeNet = Excluded, t.Seq, Figures{}, 0, 0
			cb.Status, cb.ExcludedWith = Excluded, o.Seq
			break
		}
		f, err := IntrinsicFigures(t, c.rb, c.lookup)
		if err != nil {
			return err
		}
		cb.Figures = f
		if o.BizDate != c.date {
			cb.Status = Adjustment
		}
		// else: it undoes an undo already paired on this date (a reversal
		// of a same-day void): it re-applies the voided entry and counts.
	}
	if cb.Status != Excluded {
		net, err := cb.Figures.Net()
		if err != nil {
			return fmt.Errorf("rrn %s: net: %w", t.RRN(), err)
		}
		cb.MerchantNet = net
		if cb.MID != cb.HomeMID {
			cb.HomeNet = cb.Figures.Interchange
		}
	}
	c.day.Contributions = append(c.day.Contributions, cb)
	return nil
}

// addFigures adds f to t, checked.
func addFigures(t *Figures, f Figures) error {
	pairs := []struct {
		dst *int64
		v   int64
	}{
		{(*int64)(&t.Sales), int64(f.Sales)}, {(*int64)(&t.Refunds), int64(f.Refunds)},
		{(*int64)(&t.Loads), int64(f.Loads)}, {(*int64)(&t.RedeemedValue), int64(f.RedeemedValue)},
		{(*int64)(&t.PointsEarned), int64(f.PointsEarned)}, {(*int64)(&t.PointsRedeemed), int64(f.PointsRedeemed)},
		{(*int64)(&t.MDRFee), int64(f.MDRFee)}, {(*int64)(&t.Interchange), int64(f.Interchange)},
		{(*int64)(&t.LoadCommission), int64(f.LoadCommission)}, {(*int64)(&t.PointCost), int64(f.PointCost)},
	}
	for _, p := range pairs {
		v, err := money.AddInt64(*p.dst, p.v)
		if err != nil {
			return err
		}
		*p.dst = v
	}
	return nil
}

func addAmount(dst *ledger.Amount, v ledger.Amount) error {
	s, err := money.AddInt64(int64(*dst), int64(v))
	*dst = ledger.Amount(s)
	return err
}

// Day finishes the computation: positions per merchant, then per
// program.
func (c *Computer) Day() (*Day, error) {
	type key struct{ prog, mid string }
	pos := map[key]*Position{}
	get := func(prog, mid string) *Position {
		p := pos[key{prog, mid}]
		if p == nil {
			p = &Position{Program: prog, MID: mid}
			pos[key{prog, mid}] = p
		}
		return p
	}
	for i := range c.day.Contributions {
		cb := &c.day.Contributions[i]
		m := get(cb.Program, cb.MID)
		m.Lines, m.Home = append(m.Lines, int32(i)), append(m.Home, false)
		switch cb.Status {
		case Counted:
			m.Counted++
		case Excluded:
			m.Excluded++
		case Adjustment:
			m.Adjustments++
		}
		if cb.Late() {
			m.Late++
		}
		if err := addFigures(&m.Figures, cb.Figures); err != nil {
			return nil, fmt.Errorf("mid %s totals: %w", cb.MID, err)
		}
		if err := addAmount(&m.Net, cb.MerchantNet); err != nil {
			return nil, fmt.Errorf("mid %s net: %w", cb.MID, err)
		}
		if cb.HomeNet != 0 {
			h := get(cb.Program, cb.HomeMID)
			h.Lines, h.Home = append(h.Lines, int32(i)), append(h.Home, true)
			h.HomeLines++
			if err := addAmount(&h.InterchangeReceived, cb.HomeNet); err != nil {
				return nil, fmt.Errorf("mid %s interchange received: %w", cb.HomeMID, err)
			}
			if err := addAmount(&h.Net, cb.HomeNet); err != nil {
				return nil, fmt.Errorf("mid %s net: %w", cb.HomeMID, err)
			}
		}
	}
	for i := range c.invoices {
		inv := &c.invoices[i]
		m := get(inv.Program, inv.MID)
		if m.Invoice != nil {
			return nil, fmt.Errorf("billing %s: mid %s invoiced twice", inv.Month, inv.MID)
		}
		m.Invoice, m.Billing = inv, inv.Total
		if err := addAmount(&m.Net, -inv.Total); err != nil {
			return nil, fmt.Errorf("mid %s net: %w", inv.MID, err)
		}
	}
	day := c.day
	day.Positions = make([]Position, 0, len(pos))
	for _, p := range pos {
		if len(p.Lines) > 1 && !slices.IsSorted(p.Lines) {
			sortLines(p) // home lines interleave with acquirer lines
		}
		day.Positions = append(day.Positions, *p)
	}
	slices.SortFunc(day.Positions, func(a, b Position) int {
		if c := strings.Compare(a.Program, b.Program); c != 0 {
			return c
		}
		return strings.Compare(a.MID, b.MID)
	})
	for i := range day.Positions {
		p := &day.Positions[i]
		if n := len(day.Programs); n == 0 || day.Programs[n-1].Program != p.Program {
			day.Programs = append(day.Programs, ProgramPosition{Program: p.Program})
		}
		pp := &day.Programs[len(day.Programs)-1]
		pp.Count++
		if err := addTotals(&pp.Merchants, p.Totals); err != nil {
			return nil, fmt.Errorf("program %s totals: %w", p.Program, err)
		}
	}
	for i := range day.Programs {
		day.Programs[i].Net = -day.Programs[i].Merchants.Net
	}
	return &day, nil
}

func addTotals(dst *Totals, t Totals) error {
	if err := addFigures(&dst.Figures, t.Figures); err != nil {
		return err
	}
	if err := addAmount(&dst.InterchangeReceived, t.InterchangeReceived); err != nil {
		return err
	}
	if err := addAmount(&dst.Billing, t.Billing); err != nil {
		return err
	}
	if err := addAmount(&dst.Net, t.Net); err != nil {
		return err
	}
	dst.Counted += t.Counted
	dst.Excluded += t.Excluded
	dst.Adjustments += t.Adjustments
	dst.Late += t.Late
	dst.HomeLines += t.HomeLines
	return nil
}

// sortLines orders a merchant's lines by seq (index order is seq order).
func sortLines(p *Position) {
	idx := make([]int, len(p.Lines))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Lines[idx[a]] < p.Lines[idx[b]] })
	lines, home := make([]int32, len(idx)), make([]bool, len(idx))
	for i, j := range idx {
		lines[i], home[i] = p.Lines[j], p.Home[j]
	}
	p.Lines, p.Home = lines, home
}

// Compute is a Day from entries already in memory (tests, tools).
func Compute(date uint32, entries []*ledger.Txn, rb RateBook, lookup Lookup) (*Day, error) {
	c := NewComputer(date, rb, lookup)
	for _, t := range entries {
		if err := c.Add(t); err != nil {
			return nil, err
		}
	}
	return c.Day()
}
