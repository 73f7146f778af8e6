package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// expiryJob runs the loyalty expiry job (ledger.ExpireLots) and then
// drains the outbox to DATA/outbox, one run at a time: serve's daily
// loop and POST /v1/loyalty/expire share it.
type expiryJob struct {
	store  *ledger.Store
	outbox string // DATA/outbox
	now    func() time.Time
	log    zerolog.Logger
	mu     sync.Mutex
}

func newExpiryJob(st *ledger.Store, dataDir string, now func() time.Time, log zerolog.Logger) *expiryJob {
	if now == nil {
		now = time.Now // the store's default too
	}
	return &expiryJob{store: st, outbox: outboxDir(dataDir), now: now, log: log}
}

// outboxDir is where the drain writes notices-<date>.jsonl.
func outboxDir(dataDir string) string { return filepath.Join(dataDir, "outbox") }

// run expires business date d and drains the outbox; progress, if not
// nil, sees every chunk.
func (j *expiryJob) run(ctx context.Context, d uint32, progress func(ledger.ExpiryProgress)) (ledger.ExpiryProgress, int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	p, err := j.store.ExpireLots(ctx, d, progress)
	if err != nil {
		return p, 0, err
	}
	n, err := j.store.DrainOutbox(ctx, j.outbox)
	if err != nil {
		return p, n, fmt.Errorf("outbox: %w", err)
	}
	return p, n, nil
}

// loop is serve's daily expiry: the last business date that has ended
// (a run for a day the host was down for expires everything due by
// then), at start and each time a business date ends (nightly).
func (j *expiryJob) loop(ctx context.Context) {
	nightly(ctx, j.store, j.now, j.log, "expiry job", func(ctx context.Context) error {
		d := j.store.LastEndedBusinessDate(j.now())
		p, n, err := j.run(ctx, d, nil)
		if err != nil {
			return fmt.Errorf("date %s: %w", ledger.FormatBusinessDate(d), err)
		}
		if !p.AlreadyDone || n > 0 {
			j.log.Info().Str("date", ledger.FormatBusinessDate(d)).Int("cards", p.Cards).Int("expired_lots", p.Expired).
				Int64("breakage", int64(p.Breakage)).Int("notices", p.Notices).Int("drained", n).Msg("expiry job done")
		}
		return nil
	})
}
