package main

import (
	"context"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// nightlyRetry is the wait before a failed nightly run is tried again.
const nightlyRetry = time.Minute

// nightly is how serve runs a job once a business date has ended (the
// expiry job, settlement): at start, so that a host that was down
// catches up, then each time the current business date ends (the
// store's cut-off in its business zone), until ctx is done. A run that
// fails is logged under what and tried again after nightlyRetry. The
// clock is the host's (now); the waits are real time.
func nightly(ctx context.Context, st *ledger.Store, now func() time.Time, log zerolog.Logger, what string, run func(context.Context) error) {
	for {
		wait := nightlyRetry
		err := run(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error().Err(err).Msg(what + " failed; retrying")
		default:
			today := st.LastEndedBusinessDate(now())
			wait = st.BusinessDayEnd(today).AddDate(0, 0, 1).Sub(now())
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

// catchUpDates is how a nightly job catches up past business dates: it
// runs job for each date of dates, oldest first, and stops at the first
// that fails (or when ctx is done), so that a date runs only once the
// dates before it are done and the next try resumes with the failed
// one. job's error names the date.
func catchUpDates(ctx context.Context, dates []uint32, job func(ctx context.Context, d uint32) error) error {
	for _, d := range dates {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := job(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
