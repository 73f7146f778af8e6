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

// maxExpiryCatchUp bounds the business dates one pass of serve's expiry
// loop runs after downtime: two months. Each date is a pass over every
// wallet (about a minute per million cards), so a pass stays within an
// hour or so on a large store; a longer gap is left to the operator,
// with the commands to run (expiryDates).
const maxExpiryCatchUp = 62

// maxLoggedExpiryCommands bounds the commands the catch-up logs for the
// dates it left out: a year of them; the log line says how many more.
const maxLoggedExpiryCommands = 366

// loop is serve's daily expiry (catchUp), at start and each time a
// business date ends (nightly).
func (j *expiryJob) loop(ctx context.Context) {
	nightly(ctx, j.store, j.now, j.log, "expiry job", j.catchUp)
}

// catchUp runs the expiry job for every business date after the last
// one done through the last that has ended, oldest first (expiryDates),
// draining the outbox after each: after downtime every date gets its
// marker and its notices, in the order a host that ran every day would
// have written them, so each lot that expired meanwhile was noticed by
// an earlier date's run (docs/loyalty.md, "Downtime"). On a store
// without any done date it runs the last ended date alone.
func (j *expiryJob) catchUp(ctx context.Context) error {
	last := j.store.LastEndedBusinessDate(j.now())
	done, err := j.store.LastExpiryDone()
	if err != nil {
		return err
	}
	dates, skipFrom, skipTo := expiryDates(done, last)
	if skipFrom != 0 {
		j.logSkipped(skipFrom, skipTo, dates[0])
	}
	return catchUpDates(ctx, dates, func(ctx context.Context, d uint32) error {
		p, n, err := j.run(ctx, d, nil)
		if err != nil {
			return fmt.Errorf("expiry job for %s: %w", ledger.FormatBusinessDate(d), err)
		}
		if !p.AlreadyDone || n > 0 {
			j.log.Info().Str("date", ledger.FormatBusinessDate(d)).Int("cards", p.Cards).Int("expired_lots", p.Expired).
				Int64("breakage", int64(p.Breakage)).Int("notices", p.Notices).Int("drained", n).Msg("expiry job done")
		}
		return nil
	})
}

// expiryDates is what one pass of the expiry loop runs, oldest first:
// the business dates after lastDone (the latest date done; 0: none)
// through last (the last ended date), at most maxExpiryCatchUp of them,
// the latest; skipFrom..skipTo (0 when none) are the older dates it
// leaves out. Without a done date, or with one not before last (a clock
// set back), it is last alone, as before any catch-up.
func expiryDates(lastDone, last uint32) (dates []uint32, skipFrom, skipTo uint32) {
	if lastDone == 0 || lastDone >= last {
		return []uint32{last}, 0, 0
	}
	// A date a day of the gap since the last done date: a few thousand
	// at worst (years of downtime), cut to the limit below.
	for d := ledger.NextBusinessDate(lastDone); d <= last; d = ledger.NextBusinessDate(d) {
		dates = append(dates, d)
	}
	if skip := len(dates) - maxExpiryCatchUp; skip > 0 {
		return dates[skip:], dates[0], dates[skip-1]
	}
	return dates, 0, 0
}

// logSkipped tells the operator about the dates a catch-up left out
// (from..to, before first, the oldest date it runs): first's run
// expires their lots, so the breakage is whole, but the lots that
// expired within them get no notice (a notice that late would be
// moot), and their markers are missing. Running the commands logged
// writes the markers (and, their lots being gone, nothing else).
func (j *expiryJob) logSkipped(from, to, first uint32) {
	var cmds []string
	n := 0
	for d := from; d <= to; d = ledger.NextBusinessDate(d) {
		if n++; len(cmds) < maxLoggedExpiryCommands {
			cmds = append(cmds, "cardcenter loyalty expire --date "+ledger.FormatBusinessDate(d))
		}
	}
	j.log.Error().Str("skipped_from", ledger.FormatBusinessDate(from)).Str("skipped_to", ledger.FormatBusinessDate(to)).
		Int("skipped_dates", n).Int("max_catch_up", maxExpiryCatchUp).Str("first_run", ledger.FormatBusinessDate(first)).
		Strs("commands", cmds).Int("commands_not_listed", n-len(cmds)).
		Msg("expiry catch-up: dates beyond the catch-up limit left out; the first date run expires their lots, " +
			"but lots that expired within them get no notice; run the commands to record them as done")
}
