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
	for _, d := range dates {
		rec, err := j.store.SettlementRecord(d)
		if err != nil {
			return err
		}
		if rec != nil && rec.Settled {
			continue
		}
		res, err := j.run(ctx, d, false, nil)
		if err != nil {
			return err
		}
		j.log.Info().Str("date", ledger.FormatBusinessDate(d)).Int("entries", res.Entries).Int("merchants", res.Merchants).
			Int("posted", res.Posted).Msg("settlement done")
	}
	return nil
}

// settleRetry is the wait before a failed catch-up is tried again.
const settleRetry = time.Minute

// loop is serve's nightly settlement: at start it settles every ended
// date not yet settled (a host down for days catches up), then again
// each time a business date ends, until ctx is done. The clock is the
// host's (Main.Now); the waits are real time.
func (j *settleJob) loop(ctx context.Context) {
	for {
		wait := settleRetry
		err := j.catchUp(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			j.log.Error().Err(err).Msg("settlement failed; retrying")
		default:
			today := j.store.LastEndedBusinessDate(j.now())
			wait = j.store.BusinessDayEnd(today).AddDate(0, 0, 1).Sub(j.now())
		}
		t := time.NewTimer(max(wait, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
