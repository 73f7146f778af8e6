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
	CloseBusinessDate(ctx context.Context, d uint32, early bool) (ledger.SettlementRecord, error)
	JournalByDate(ctx context.Context, d uint32, fn func(t *ledger.Txn, n int) error) error
	JournalEntry(seq uint64) (*ledger.Txn, error)
	Programs() ([]ledger.Program, error)
	Merchants() ([]ledger.Merchant, error)
	PostSettlement(ctx context.Context, d uint32, ps []ledger.SettlementPosting, progress func(done int)) (int, error)
	SettlementEntry(d uint32, prog, mid string) (seq uint64, posted bool, err error)
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

	progs, err := j.Ledger.Programs()
	if err != nil {
		return res, err
	}
	merchants, err := j.Ledger.Merchants()
	if err != nil {
		return res, err
	}
	c := NewComputer(d, NewRateBook(progs, merchants), j.Ledger.JournalEntry)
	n := 0
	err = j.Ledger.JournalByDate(ctx, d, func(t *ledger.Txn, total int) error {
		if n == 0 {
			c.Grow(total)
		}
		if n++; n%progressEvery == 0 {
			j.report(Progress{Date: d, Step: StepJournal, Done: n, Total: total})
		}
		return c.Add(t)
	})
	if err != nil {
		return res, fmt.Errorf("settlement %s: journal: %w", ledger.FormatBusinessDate(d), err)
	}
	day, err := c.Day()
	if err != nil {
		return res, fmt.Errorf("settlement %s: %w", ledger.FormatBusinessDate(d), err)
	}
	j.report(Progress{Date: d, Step: StepJournal, Done: n, Total: n})
	res.Day, res.Entries, res.Internal, res.Merchants, res.Programs = day, len(day.Contributions), day.Internal, len(day.Positions), day.Programs

	ps := make([]ledger.SettlementPosting, len(day.Positions))
	for i, p := range day.Positions {
		ps[i] = ledger.SettlementPosting{Program: p.Program, MID: p.MID, Net: p.Net}
	}
	res.Posted, err = j.Ledger.PostSettlement(ctx, d, ps, func(done int) {
		j.report(Progress{Date: d, Step: StepPost, Done: done, Total: len(ps)})
	})
	if err != nil {
		return res, fmt.Errorf("settlement %s: postings: %w", ledger.FormatBusinessDate(d), err)
	}
	postings := make(map[string]string, len(ps))
	for _, p := range ps {
		seq, posted, err := j.Ledger.SettlementEntry(d, p.Program, p.MID)
		if err != nil {
			return res, err
		}
		if !posted {
			return res, fmt.Errorf("settlement %s: mid %s: posting marker missing after posting", ledger.FormatBusinessDate(d), p.MID)
		}
		if seq != 0 {
			postings[p.MID] = ledger.FormatRRN(seq)
		}
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
