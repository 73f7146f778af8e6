package settlement

// files.go: the settlement files of a date (docs/settlement.md documents
// every column): per merchant <mid>.csv and <mid>.json, and
// summary.csv and summary.json. Byte for byte a function of the Day, the
// close time and the posting seqs; each written atomically.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/cardcenter/cardcenter/internal/privdir"
	"github.com/cardcenter/cardcenter/ledger"
)

// Header is what every file of a date carries besides its figures: the
// date and the close time the ledger recorded once (the only timestamp).
type Header struct {
	Date     uint32
	ClosedAt string
}

// csvLineColumns are the columns of a merchant file (docs/settlement.md).
var csvLineColumns = []string{
	"record", "date", "program", "mid", "role", "rrn", "kind", "status", "tid", "card", "amount_fen",
	"late", "late_from", "orig_rrn", "orig_date", "excluded_with",
	"sales_fen", "refunds_fen", "loads_fen", "redeemed_value_fen", "points_earned", "points_redeemed",
	"mdr_fee_fen", "interchange_paid_fen", "interchange_received_fen", "load_commission_fen", "point_cost_fen",
	"net_fen", "lines", "closed_at", "posting_rrn", "billing_month", "billing_fen", "billing_rrn",
}

// csvSummaryColumns are the columns of summary.csv.
var csvSummaryColumns = []string{
	"record", "date", "program", "mid", "merchants", "counted", "excluded", "adjustments", "late", "home_lines",
	"sales_fen", "refunds_fen", "loads_fen", "redeemed_value_fen", "points_earned", "points_redeemed",
	"mdr_fee_fen", "interchange_paid_fen", "interchange_received_fen", "load_commission_fen", "point_cost_fen",
	"net_fen", "closed_at", "posting_rrn", "billing_fen", "billing_rrn",
}

// Line is one line of a merchant's JSON file.
type Line struct {
	Role         string `json:"role"` // acquirer or home
	RRN          string `json:"rrn"`
	Kind         string `json:"kind"`
	Status       string `json:"status"`
	TID          string `json:"tid"`
	Card         string `json:"card"` // masked PAN
	Amount       int64  `json:"amount_fen"`
	Late         bool   `json:"late"`
	LateFrom     string `json:"late_from,omitempty"`
	OrigRRN      string `json:"orig_rrn,omitempty"`
	OrigDate     string `json:"orig_date,omitempty"`
	ExcludedWith string `json:"excluded_with,omitempty"`
	Figures
	InterchangeReceived ledger.Amount `json:"interchange_received_fen"`
	Net                 ledger.Amount `json:"net_fen"`
}

// MerchantFile is a merchant's JSON file.
type MerchantFile struct {
	Date       string       `json:"date"`
	Program    string       `json:"program"`
	MID        string       `json:"mid"`
	ClosedAt   string       `json:"closed_at"`
	PostingRRN string       `json:"posting_rrn,omitempty"`
	Totals     Totals       `json:"totals"`
	Invoice    *InvoiceFile `json:"invoice,omitempty"`
	Lines      []Line       `json:"lines"` // last: merchantJSON splices them in
}

// Posted are the RRNs of the journal entries that posted a merchant's
// position for a date: its settlement entry (empty for a zero net of
// the lines) and, on a month's last business date, its billing entry.
type Posted struct {
	Settlement string
	Billing    string
}

// SummaryFile is summary.json.
type SummaryFile struct {
	Date      string           `json:"date"`
	ClosedAt  string           `json:"closed_at"`
	Merchants []SummaryLine    `json:"merchants"`
	Programs  []SummaryProgram `json:"programs"`
}

// SummaryLine is a merchant's line of the summary.
type SummaryLine struct {
	Program    string `json:"program"`
	MID        string `json:"mid"`
	PostingRRN string `json:"posting_rrn,omitempty"`
	BillingRRN string `json:"billing_rrn,omitempty"`
	Totals
}

// SummaryProgram is a program's line: Net is its own position.
type SummaryProgram struct {
	Program   string        `json:"program"`
	Merchants int           `json:"merchants"`
	Sums      Totals        `json:"merchant_sums"`
	Net       ledger.Amount `json:"net_fen"`
}

// line is the Line of contribution cb in a merchant's file.
func line(cb *Contribution, home bool) Line {
	l := Line{Role: "acquirer", RRN: cb.RRN(), Kind: cb.Kind.String(), Status: cb.Status.String(), TID: cb.TID,
		Card: cb.Card, Amount: int64(cb.Amount), Late: cb.Late(), Figures: cb.Figures, Net: cb.MerchantNet}
	if cb.LateFrom != 0 {
		l.LateFrom = ledger.FormatBusinessDate(cb.LateFrom)
	}
	if cb.OrigSeq != 0 {
		l.OrigRRN, l.OrigDate = ledger.FormatRRN(cb.OrigSeq), ledger.FormatBusinessDate(cb.OrigDate)
	}
	if cb.ExcludedWith != 0 {
		l.ExcludedWith = ledger.FormatRRN(cb.ExcludedWith)
	}
	if home {
		// The home merchant's side: only the interchange it receives.
		l.Role, l.Figures, l.InterchangeReceived, l.Net = "home", Figures{}, cb.HomeNet, cb.HomeNet
	}
	return l
}

// csvRow appends one CSV record (RFC 4180): a field holding a comma, a
// quote or a line break is quoted; ids, digits, masked PANs and dates
// never are.
func csvRow(b []byte, fields ...string) []byte {
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if needsQuote(f) {
			b = append(b, '"')
			b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
			b = append(b, '"')
			continue
		}
		b = append(b, f...)
	}
	return append(b, '\n')
}

// needsQuote: a byte loop; strings.ContainsAny cost seconds over a
// million rows.
func needsQuote(f string) bool {
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// appendCSVField appends one field and its separator.
func appendCSVField(b []byte, f string) []byte {
	b = csvRow(b, f)
	b[len(b)-1] = ','
	return b
}

func appendCSVInt(b []byte, v int64) []byte {
	return append(strconv.AppendInt(b, v, 10), ',')
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func figureFields(f Figures, received, net ledger.Amount) []string {
	return []string{
		itoa(int64(f.Sales)), itoa(int64(f.Refunds)), itoa(int64(f.Loads)), itoa(int64(f.RedeemedValue)),
		itoa(int64(f.PointsEarned)), itoa(int64(f.PointsRedeemed)), itoa(int64(f.MDRFee)), itoa(int64(f.Interchange)),
		itoa(int64(received)), itoa(int64(f.LoadCommission)), itoa(int64(f.PointCost)), itoa(int64(net)),
	}
}

// validName refuses an id that cannot be a file name or a bare CSV field.
func validName(what, s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("%s %q: want 1 to 64 characters", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-' || c == '_') {
			return fmt.Errorf("%s %q: only letters, digits, - and _ can name a settlement file", what, s)
		}
	}
	return nil
}

// merchantLines are the lines of a merchant's file, built once for both
// of its files.
func merchantLines(day *Day, p *Position) []Line {
	ls := make([]Line, len(p.Lines))
	for i, idx := range p.Lines {
		ls[i] = line(&day.Contributions[idx], p.Home[i])
	}
	return ls
}

// merchantCSV renders a merchant's CSV file; the line rows are appended
// field by field (no []string a row: a million rows).
func merchantCSV(p *Position, ls []Line, h Header, posted Posted) []byte {
	date := ledger.FormatBusinessDate(h.Date)
	b := make([]byte, 0, 256*(len(ls)+2))
	b = csvRow(b, csvLineColumns...)
	tot := append([]string{"total", date, p.Program, p.MID, "", "", "", "", "", "", "", "", "", "", "", ""},
		figureFields(p.Figures, p.InterchangeReceived, p.Net)...)
	b = csvRow(b, append(tot, strconv.Itoa(len(ls)), h.ClosedAt, posted.Settlement, invoiceMonth(p),
		itoa(int64(p.Billing)), posted.Billing)...)
	var lead []byte // date, program, mid: the same on every row
	for _, f := range []string{date, p.Program, p.MID} {
		lead = appendCSVField(lead, f)
	}
	for i := range ls {
		l := &ls[i]
		// Only the registry's ids can hold a character CSV quotes; the
		// rest are digits, dates and the words this file writes.
		b = append(b, "line,"...)
		b = append(b, lead...)
		for _, f := range []string{l.Role, l.RRN, l.Kind, l.Status} {
			b = append(append(b, f...), ',')
		}
		b = appendCSVField(b, l.TID)
		b = append(append(b, l.Card...), ',')
		b = appendCSVInt(b, l.Amount)
		b = append(strconv.AppendBool(b, l.Late), ',')
		for _, f := range []string{l.LateFrom, l.OrigRRN, l.OrigDate, l.ExcludedWith} {
			b = append(append(b, f...), ',')
		}
		f := &l.Figures
		for _, v := range []int64{int64(f.Sales), int64(f.Refunds), int64(f.Loads), int64(f.RedeemedValue),
			int64(f.PointsEarned), int64(f.PointsRedeemed), int64(f.MDRFee), int64(f.Interchange),
			int64(l.InterchangeReceived), int64(f.LoadCommission), int64(f.PointCost), int64(l.Net)} {
			b = appendCSVInt(b, v)
		}
		b = append(b, ",,,,,\n"...) // lines … billing_rrn: total and invoice rows only
	}
	return appendInvoiceCSV(b, p, date, posted.Billing)
}

// merchantJSON renders a merchant's JSON file: one line of the file per
// transaction, so that it diffs and greps like the CSV. The lines are
// appended by hand (appendLineJSON), in the field order of Line's JSON
// tags: a million lines through reflection cost seconds.
func merchantJSON(p *Position, ls []Line, h Header, posted Posted) ([]byte, error) {
	head, err := json.Marshal(MerchantFile{Date: ledger.FormatBusinessDate(h.Date), Program: p.Program, MID: p.MID,
		ClosedAt: h.ClosedAt, PostingRRN: posted.Settlement, Totals: p.Totals, Invoice: invoiceFile(p, posted.Billing)})
	if err != nil {
		return nil, err
	}
	// head ends in "lines":null}: splice the lines in.
	const tail = `"lines":null}`
	b := make([]byte, 0, 512*(len(ls)+1))
	b = append(b, head[:len(head)-len(tail)]...)
	b = append(b, "\"lines\":["...)
	for i := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = appendLineJSON(b, &ls[i])
	}
	return append(b, "\n]}\n"...), nil
}

// appendJSONString appends s as a JSON string. The ids, dates and
// masked PANs of a line are plain ASCII; anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendField(b []byte, name string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

// appendLineJSON appends l as json.Marshal would.
func appendLineJSON(b []byte, l *Line) []byte {
	// Role, RRN, kind, status, card and the dates are digits and plain
	// words this package writes; only the terminal id comes from outside.
	b = append(b, `{"role":"`...)
	b = append(b, l.Role...)
	for _, f := range []struct{ name, v string }{{"rrn", l.RRN}, {"kind", l.Kind}, {"status", l.Status}} {
		b = append(b, `","`...)
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = append(b, f.v...)
	}
	b = append(b, `","tid":`...)
	b = appendJSONString(b, l.TID)
	b = append(b, `,"card":"`...)
	b = append(b, l.Card...)
	b = append(b, '"')
	b = appendField(b, "amount_fen", l.Amount)
	b = append(b, `,"late":`...)
	b = strconv.AppendBool(b, l.Late)
	for _, f := range []struct{ name, v string }{{"late_from", l.LateFrom}, {"orig_rrn", l.OrigRRN}, {"orig_date", l.OrigDate}, {"excluded_with", l.ExcludedWith}} {
		if f.v == "" {
			continue // omitempty
		}
		b = append(b, ',', '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = append(b, f.v...)
		b = append(b, '"')
	}
	f := &l.Figures
	b = appendField(b, "sales_fen", int64(f.Sales))
	b = appendField(b, "refunds_fen", int64(f.Refunds))
	b = appendField(b, "loads_fen", int64(f.Loads))
	b = appendField(b, "redeemed_value_fen", int64(f.RedeemedValue))
	b = appendField(b, "points_earned", int64(f.PointsEarned))
	b = appendField(b, "points_redeemed", int64(f.PointsRedeemed))
	b = appendField(b, "mdr_fee_fen", int64(f.MDRFee))
	b = appendField(b, "interchange_paid_fen", int64(f.Interchange))
	b = appendField(b, "load_commission_fen", int64(f.LoadCommission))
	b = appendField(b, "point_cost_fen", int64(f.PointCost))
	b = appendField(b, "interchange_received_fen", int64(l.InterchangeReceived))
	b = appendField(b, "net_fen", int64(l.Net))
	return append(b, '}')
}

// summaryCSV renders summary.csv: a row per merchant, then per program.
func summaryCSV(day *Day, h Header, postings map[string]Posted) []byte {
	date := ledger.FormatBusinessDate(h.Date)
	b := csvRow(nil, csvSummaryColumns...)
	row := func(rec, prog, mid string, merchants int, t Totals, net ledger.Amount, posted Posted) {
		fields := []string{rec, date, prog, mid, strconv.Itoa(merchants), strconv.Itoa(t.Counted), strconv.Itoa(t.Excluded),
			strconv.Itoa(t.Adjustments), strconv.Itoa(t.Late), strconv.Itoa(t.HomeLines)}
		fields = append(fields, figureFields(t.Figures, t.InterchangeReceived, net)...)
		b = csvRow(b, append(fields, h.ClosedAt, posted.Settlement, itoa(int64(t.Billing)), posted.Billing)...)
	}
	for i := range day.Positions {
		p := &day.Positions[i]
		row("merchant", p.Program, p.MID, 1, p.Totals, p.Net, postings[p.MID])
	}
	for _, pp := range day.Programs {
		row("program", pp.Program, "", pp.Count, pp.Merchants, pp.Net, Posted{})
	}
	return b
}

func summaryJSON(day *Day, h Header, postings map[string]Posted) ([]byte, error) {
	sf := SummaryFile{Date: ledger.FormatBusinessDate(h.Date), ClosedAt: h.ClosedAt,
		Merchants: []SummaryLine{}, Programs: []SummaryProgram{}}
	for i := range day.Positions {
		p := &day.Positions[i]
		pd := postings[p.MID]
		sf.Merchants = append(sf.Merchants, SummaryLine{Program: p.Program, MID: p.MID, PostingRRN: pd.Settlement, BillingRRN: pd.Billing, Totals: p.Totals})
	}
	for _, pp := range day.Programs {
		sf.Programs = append(sf.Programs, SummaryProgram{Program: pp.Program, Merchants: pp.Count, Sums: pp.Merchants, Net: pp.Net})
	}
	b, err := json.MarshalIndent(sf, "", "  ")
	return append(b, '\n'), err
}

// Dir is the directory of a date's files under the settlement root
// (DATA/settlement).
func Dir(root string, date uint32) string {
	return filepath.Join(root, strconv.Itoa(int(date)))
}

// fileWorkers render and write merchant files at once: rendering is
// CPU, each file's fsync waits on the disk, and the two overlap.
const fileWorkers = 8

// WriteFiles writes every file of day into Dir(root, date), each
// atomically (temp file, fsync, rename), then fsyncs the directory.
// postings maps a MID to the RRNs of its entries. progress, if
// not nil, sees the merchants done, from one goroutine at a time.
func WriteFiles(root string, day *Day, h Header, postings map[string]Posted, progress func(done int)) error {
	dir := Dir(root, day.Date)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := range day.Positions {
		if err := validName("mid", day.Positions[i].MID); err != nil {
			return err
		}
	}
	var (
		mu    sync.Mutex
		done  int
		first error
		wg    sync.WaitGroup
	)
	work := make(chan int)
	for range fileWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				err := writeMerchant(dir, day, &day.Positions[i], h, postings[day.Positions[i].MID])
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				done++
				if progress != nil && first == nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range day.Positions {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	if err := privdir.WriteFile(filepath.Join(dir, "summary.csv"), summaryCSV(day, h, postings)); err != nil {
		return err
	}
	js, err := summaryJSON(day, h, postings)
	if err != nil {
		return err
	}
	if err := privdir.WriteFile(filepath.Join(dir, "summary.json"), js); err != nil {
		return err
	}
	return privdir.SyncDir(dir)
}

func writeMerchant(dir string, day *Day, p *Position, h Header, posting Posted) error {
	ls := merchantLines(day, p)
	if err := privdir.WriteFile(filepath.Join(dir, p.MID+".csv"), merchantCSV(p, ls, h, posting)); err != nil {
		return err
	}
	js, err := merchantJSON(p, ls, h, posting)
	if err != nil {
		return err
	}
	return privdir.WriteFile(filepath.Join(dir, p.MID+".json"), js)
}
