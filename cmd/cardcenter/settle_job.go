package main

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
	"github.com/rs/zerolog"
)

// settleJob runs the settlement job (package settlement) into
// DATA/settlement, one run at a time: serve's daily loop and POST
// /v1/settlement/settle share it.
type settleJob struct {
	store *ledger.Store
	root  string // DATA/settlement
	now   func() time.Time
	log   zerolog.Logger
	mu    sync.Mutex
}

func newSettleJob(st *ledger.Store, dataDir string, now func() time.Time, log zerolog.Logger) *settleJob {
	if now == nil {
		now = time.Now // the store's default too
	}
	return &settleJob{store: st, root: settlementDir(dataDir), now: now, log: log}
}

// settlementDir is where the files of each date go, beside the ledger
// and the outbox.
func settlementDir(dataDir string) string { return filepath.Join(dataDir, "settlement") }

// run settles business date d; progress, if not nil, sees every step.
func (j *settleJob) run(ctx context.Context, d uint32, early bool, progress func(settlement.Progress)) (settlement.Result, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job := &settlement.Job{Ledger: j.store, Root: j.root, Progress: progress}
	return job.Settle(ctx, d, early)
}

// catchUp settles, in order, every date up to the last ended business
// date that has journal entries and is not settled yet.
func (j *settleJob) catchUp(ctx context.Context) error {
	last := j.store.LastEndedBusinessDate(j.now())
	dates, err := j.store.JournalDates(0, last)
	if err != nil {
		return err
	}
	return catchUpDates(ctx, dates, func(ctx context.Context, d uint32) error {
		rec, err := j.store.SettlementRecord(d)
		if err != nil || rec != nil && rec.Settled {
			return err
		}
		res, err := j.run(ctx, d, false, nil)
		if err != nil {
			return err // it names the date
		}
		j.log.Info().Str("date", ledger.FormatBusinessDate(d)).Int("entries", res.Entries).Int("merchants", res.Merchants).
			Int("posted", res.Posted).Msg("settlement done")
		return nil
	})
}

// loop is serve's nightly settlement: every ended date not yet settled,
// at start and each time a business date ends (nightly).
func (j *settleJob) loop(ctx context.Context) {
	nightly(ctx, j.store, j.now, j.log, "settlement", j.catchUp)
}
