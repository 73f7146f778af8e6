package settlement

// job.go: the settlement job of one business date: close → compute from
// the frozen journal → post per merchant → write files → mark settled.
// Every step is idempotent, so a run stopped anywhere (SIGKILL included)
// is finished by running it again, with the same files and postings.

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cardcenter/cardcenter/ledger"
)

// Ledger is what the job needs of the ledger (*ledger.Store).
type Ledger interface {
	Journal
	CloseBusinessDate(ctx context.Context, d uint32, early bool) (ledger.SettlementRecord, error)
	Terminals() ([]ledger.Terminal, error)
	RecordInvoices(ctx context.Context, month uint32, raw json.RawMessage) (json.RawMessage, error)
	PostSettlement(ctx context.Context, d uint32, ps []ledger.SettlementPosting, progress func(done int)) (int, error)
	SettlementEntry(d uint32, prog, mid string) (seq uint64, posted bool, err error)
	BillingEntry(month uint32, prog, mid string) (seq uint64, posted bool, err error)
	MarkSettled(ctx context.Context, d uint32, summary json.RawMessage) error
}

// Steps of a run, as Progress reports them.
const (
	StepClose   = "close"
	StepJournal = "journal"
	StepPost    = "post"
	StepFiles   = "files"
	StepDone    = "done"
)

// Progress is a run's progress: within Step, Done of Total (Total 0:
// not known in advance, as for the journal's entries).
type Progress struct {
	Date  uint32
	Step  string
	Done  int
	Total int
}

// Result is what a run did.
type Result struct {
	Date      uint32
	ClosedAt  string
	Entries   int // merchant entries of the date
	Internal  int // program-internal entries, not settled with merchants
	Merchants int
	// Posted counts the settlement entries this run made (0 on a rerun).
	Posted         int
	AlreadySettled bool
	Programs       []ProgramPosition
	Dir            string
	// Day is the computation, for callers that report on it.
	Day *Day
}

// Job settles business dates of one ledger into Root (DATA/settlement).
type Job struct {
	Ledger Ledger
	Root   string
	// Progress, if not nil, is called as the run goes.
	Progress func(Progress)
}

// progressEvery is how many journal entries pass between reports.
const progressEvery = 50_000

func (j *Job) report(p Progress) {
	if j.Progress != nil {
		j.Progress(p)
	}
}

// summary is what the ledger's job record keeps of a settled date.
type summary struct {
	Entries   int              `json:"entries"`
	Merchants int              `json:"merchants"`
	Programs  []programSummary `json:"programs"`
}

type programSummary struct {
	Program string        `json:"program"`
	Net     ledger.Amount `json:"net_fen"`
}

// bill is the invoices of month (yyyymm): computed from the registry
// the first time the month is billed and recorded in the ledger; every
// later run (a rerun, a run finished after a kill) reads the record, so
// the month is billed once, the same way.
func (j *Job) bill(ctx context.Context, month uint32, progs []ledger.Program, merchants []ledger.Merchant) ([]Invoice, error) {
	terms, err := j.Ledger.Terminals()
	if err != nil {
		return nil, err
	}
	invs, err := Invoices(month, progs, merchants, terms)
	if err != nil {
		return nil, err
	}
	if invs == nil {
		invs = []Invoice{}
	}
	raw, err := json.Marshal(invs)
	if err != nil {
		return nil, err
	}
	if raw, err = j.Ledger.RecordInvoices(ctx, month, raw); err != nil {
		return nil, err
	}
	return decodeInvoices(month, raw)
}

// Settle settles business date d. early allows closing today's date
// before its cut-off (ledger.CloseBusinessDate).
func (j *Job) Settle(ctx context.Context, d uint32, early bool) (Result, error) {
	res := Result{Date: d, Dir: Dir(j.Root, d)}
	j.report(Progress{Date: d, Step: StepClose})
	rec, err := j.Ledger.CloseBusinessDate(ctx, d, early)
	if err != nil {
		return res, err
	}
	res.ClosedAt, res.AlreadySettled = rec.ClosedAt, rec.Settled

	c, progs, merchants, err := readJournal(ctx, j.Ledger, d, func(done, total int) {
		j.report(Progress{Date: d, Step: StepJournal, Done: done, Total: total})
	}, nil)
	if err != nil {
		return res, err
	}
	if ledger.IsMonthEnd(d) {
		invs, err := j.bill(ctx, d/100, progs, merchants)
		if err != nil {
			return res, fmt.Errorf("settlement %s: %w", ledger.FormatBusinessDate(d), err)
		}
		c.Bill(invs)
	}
	day, err := c.Day()
	if err != nil {
		return res, fmt.Errorf("settlement %s: %w", ledger.FormatBusinessDate(d), err)
	}
	res.Day, res.Entries, res.Internal, res.Merchants, res.Programs = day, len(day.Contributions), day.Internal, len(day.Positions), day.Programs

	ps := make([]ledger.SettlementPosting, len(day.Positions))
	for i, p := range day.Positions {
		// The settlement entry moves the lines' net; the billing entry
		// the invoice; together, the position.
		ps[i] = ledger.SettlementPosting{Program: p.Program, MID: p.MID, Net: p.Net + p.Billing, Billing: p.Billing}
	}
	res.Posted, err = j.Ledger.PostSettlement(ctx, d, ps, func(done int) {
		j.report(Progress{Date: d, Step: StepPost, Done: done, Total: len(ps)})
	})
	if err != nil {
		return res, fmt.Errorf("settlement %s: postings: %w", ledger.FormatBusinessDate(d), err)
	}
	postings := make(map[string]Posted, len(ps))
	for _, p := range ps {
		var pd Posted
		seq, posted, err := j.Ledger.SettlementEntry(d, p.Program, p.MID)
		if err != nil {
			return res, err
		}
		if !posted {
			return res, fmt.Errorf("settlement %s: mid %s: posting marker missing after posting", ledger.FormatBusinessDate(d), p.MID)
		}
		if seq != 0 {
			pd.Settlement = ledger.FormatRRN(seq)
		}
		if p.Billing != 0 {
			seq, posted, err := j.Ledger.BillingEntry(d/100, p.Program, p.MID)
			if err != nil {
				return res, err
			}
			if !posted || seq == 0 {
				return res, fmt.Errorf("settlement %s: mid %s: billing marker missing after posting", ledger.FormatBusinessDate(d), p.MID)
			}
			pd.Billing = ledger.FormatRRN(seq)
		}
		postings[p.MID] = pd
	}

	err = WriteFiles(j.Root, day, Header{Date: d, ClosedAt: rec.ClosedAt}, postings, func(done int) {
		j.report(Progress{Date: d, Step: StepFiles, Done: done, Total: len(day.Positions)})
	})
	if err != nil {
		return res, fmt.Errorf("settlement %s: files: %w", ledger.FormatBusinessDate(d), err)
	}

	sum := summary{Entries: len(day.Contributions), Merchants: len(day.Positions), Programs: []programSummary{}}
	for _, pp := range day.Programs {
		sum.Programs = append(sum.Programs, programSummary{Program: pp.Program, Net: pp.Net})
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		return res, err
	}
	if err := j.Ledger.MarkSettled(ctx, d, raw); err != nil {
		return res, fmt.Errorf("settlement %s: mark settled: %w", ledger.FormatBusinessDate(d), err)
	}
	j.report(Progress{Date: d, Step: StepDone, Done: 1, Total: 1})
	return res, nil
}
