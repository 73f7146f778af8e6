package ledger

// tier_review.go: the monthly tier review. Upgrades happen on the
// transaction that crosses a threshold (loyalty.go's earn); downgrades
// only here, once a month, by one tier at most (loyalty.Review).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

// ErrMonth: the month given to ReviewTiers is not a YYYY-MM month that
// has ended in the business zone. The admin API answers it 400.
var ErrMonth = errors.New("month not reviewable")

// reviewChunk bounds the memberships one writer op reviews, so that a
// review of a million members is many short ledger changes between
// transactions, and holds at most this many PANs in memory.
const reviewChunk = 500

// ReviewStats says what one run of the monthly tier review did.
type ReviewStats struct {
	Month string `json:"month"` // YYYY-MM
	// Members: memberships (mbr/ records) seen; Reviewed: reviewed by
	// this run; Skipped: already reviewed for this month or a later
	// one (an earlier run that was stopped), or of a program without
	// rules.
	Members    int `json:"members"`
	Reviewed   int `json:"reviewed"`
	Skipped    int `json:"skipped"`
	Upgraded   int `json:"upgraded"`
	Downgraded int `json:"downgraded"`
	// AlreadyDone: a complete run of this month was recorded
	// (job/tiers/<month>); this run read nothing else and changed
	// nothing, and the figures above are that run's.
	AlreadyDone bool `json:"already_done"`
}

// ParseMonth reads a YYYY-MM month as yyyymm.
func ParseMonth(s string) (uint32, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, fmt.Errorf("month %q: want YYYY-MM: %w", s, ErrMonth)
	}
	return yyyymm(t), nil
}

func formatMonth(m uint32) string { return fmt.Sprintf("%04d-%02d", m/100, m%100) }

// LastEndedMonth is the month before now's in the business zone: the
// latest month ReviewTiers accepts.
func (s *Store) LastEndedMonth() string {
	return formatMonth(monthsBefore(yyyymm(s.opts.Now().In(s.opts.Location)), 1))
}

// ReviewTiers runs the monthly tier review of month (YYYY-MM, a month
// that has ended in the business zone) over every card with a
// membership. For each, the average monthly spend over its program's
// TierWindowMonths ending with month goes to loyalty.Review: up to the
// qualified tier, or down one tier at most. A member who qualifies now
// for a higher tier than at month's end (an upgrade since) is reviewed
// on that: a review never takes away a tier the current window earns.
// A change is recorded in the tier history with Seq 0 (a review).
//
// The memberships are listed from a snapshot and reviewed in chunks of
// reviewChunk, each one ledger change through the writer, which reads
// each membership again; so the review runs while the host serves. It
// is idempotent per month: every reviewed card records the month
// (Membership.ReviewedMonth) in the same change, so a rerun after a
// stop repeats nothing, and a complete run writes job/tiers/<month>,
// after which a rerun returns at once (AlreadyDone).
func (s *Store) ReviewTiers(ctx context.Context, month string) (ReviewStats, error) {
	st := ReviewStats{Month: month}
	m, err := ParseMonth(month)
	if err != nil {
		return st, err
	}
	if last := s.LastEndedMonth(); month > last {
		return st, fmt.Errorf("month %s has not ended in the business zone (the latest reviewable is %s): %w", month, last, ErrMonth)
	}
	done, err := s.reviewMarker(month)
	if err != nil || done != nil {
		if done != nil {
			done.AlreadyDone = true
			return *done, nil
		}
		return st, err
	}
	snap, release, err := s.snapshot()
	if err != nil {
		return st, err
	}
	defer release()
	chunk := make([]string, 0, reviewChunk)
	review := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.reviewChunk(ctx, m, chunk, &st); err != nil {
			return fmt.Errorf("ledger: tier review %s: %w", month, err)
		}
		chunk = chunk[:0]
		return nil
	}
	err = scanCardParts(snap, partWallet, func(pan string, v []byte) error {
		if !hasMembership(v) {
			return nil
		}
		chunk = append(chunk, pan)
		st.Members++
		if len(chunk) == reviewChunk {
			return review()
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = review()
	}
	if err != nil {
		return st, err
	}
	rec := st
	err = s.update(ctx, func(t *tx) error { return registryPut(t, keyTierJob(month), &rec) })
	return st, err
}

// reviewMarker is the recorded complete run of month, or nil.
func (s *Store) reviewMarker(month string) (*ReviewStats, error) {
	raw, err := s.dbGet(keyTierJob(month))
	if err != nil || raw == nil {
		return nil, err
	}
	var st ReviewStats
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("ledger: decode %s: %w", keyTierJob(month), err)
	}
	return &st, nil
}

// reviewChunk reviews the memberships of pans in one ledger change. The
// counts are added to st only when the change commits.
func (s *Store) reviewChunk(ctx context.Context, month uint32, pans []string, st *ReviewStats) error {
	var part ReviewStats
	err := s.update(ctx, func(t *tx) error {
		part = ReviewStats{}
		now := s.opts.Now()
		current := yyyymm(now.In(s.opts.Location))
		for _, pan := range pans {
			cl, err := readCardLoyalty(t.get, pan)
			if err != nil {
				return err
			}
			mb := &cl.Membership
			if !cl.Stored || mb.ReviewedMonth >= month {
				part.Skipped++
				continue
			}
			rules, err := cardRules(t, pan)
			if err != nil {
				return err
			}
			if rules == nil {
				part.Skipped++
				continue
			}
			from := min(mb.Tier, max(len(rules.Tiers)-1, 0)) // rules may have lost tiers since
			avg := loyalty.AverageMonthlySpend(mb.buckets(month, rules.TierWindowMonths))
			avg = max(avg, loyalty.AverageMonthlySpend(mb.buckets(current, rules.TierWindowMonths)))
			to := loyalty.Review(rules, from, avg)
			switch {
			case to > mb.Tier:
				part.Upgraded++
			case to < mb.Tier:
				part.Downgraded++
			}
			mb.setTier(to, now.UnixNano(), 0)
			mb.ReviewedMonth = month
			cl.write(t, pan)
			part.Reviewed++
		}
		return nil
	})
	if err != nil {
		return err
	}
	st.Reviewed += part.Reviewed
	st.Skipped += part.Skipped
	st.Upgraded += part.Upgraded
	st.Downgraded += part.Downgraded
	return nil
}

// cardRules are the current rules of a card's program (nil: none, or
// the card is gone).
func cardRules(t *tx, pan string) (*loyalty.Rules, error) {
	c, err := registryGet[Card](t, keyCard(pan))
	if err != nil || c == nil {
		return nil, err
	}
	p, err := registryGet[Program](t, keyProgram(c.ProgramID))
	if err != nil {
		return nil, fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
	}
	if p == nil {
		return nil, nil
	}
	return p.Loyalty, nil
}
