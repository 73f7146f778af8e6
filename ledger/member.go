package ledger

// member.go: the member view, what an operator sees of a card's
// loyalty: tier and its history, points by lot, spend, visits and the
// earning history, read from one snapshot.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
)

const (
	// DefaultMemberEarnings and MaxMemberEarnings bound the earning
	// history of a member view (newest first).
	DefaultMemberEarnings = 50
	MaxMemberEarnings     = 1000
	// memberScanLimit bounds the journal entries a view reads to find
	// them: entries without points (loads, declines) are skipped.
	memberScanLimit = 10_000
)

// MemberView is a card's loyalty as of one instant.
type MemberView struct {
	ProgramID string
	// HasRules: the program has loyalty rules; without them the rest is
	// zero.
	HasRules     bool
	RulesVersion int
	// Tier is the tier index; TierName, its multiplier and discount
	// come from the program's current rules ("" when it has no tiers).
	Tier         int
	TierName     string
	MultiplierBP money.BP
	DiscountBP   money.BP
	TierHistory  []TierStep
	// ReviewedMonth is the last month the tier review applied
	// (YYYY-MM, "" never).
	ReviewedMonth string

	// Points: the points account's balance; Available: the live lots
	// less the debt (lots past expiry wait for the expiry job).
	Points    Points
	Available Points
	Debt      Points
	Lots      []LotView

	LifetimeSpend Amount
	// WindowMonths is the tier window; WindowSpend the spend over it
	// ending with the current month, AverageSpend its monthly average
	// (what an upgrade compares with the thresholds).
	WindowMonths   int
	WindowSpend    Amount
	AverageSpend   Amount
	VisitsMonth    int // distinct local dates with a visit this month
	LifetimeVisits int64

	// Earnings are the card's journal entries that moved points, newest
	// first, at most the limit asked for.
	Earnings []EarningEntry
}

// TierStep is one tier change with the tiers' names.
type TierStep struct {
	At       time.Time
	From, To int
	// FromName and ToName are the tiers' names in the current rules.
	FromName, ToName string
	// Reason: "upgrade" (a transaction crossed a threshold; Seq is it)
	// or "review" (the monthly review).
	Reason string
	Seq    uint64
}

// LotView is one lot of points.
type LotView struct {
	Seq       uint64 // the earning's journal seq (its RRN)
	Points    Points
	Remaining Points
	EarnedAt  time.Time
	Expires   time.Time // zero: never
	Expired   bool      // past expiry, not yet removed by the expiry job
}

// EarningEntry is a journal entry that earned or debited points.
type EarningEntry struct {
	Seq          uint64
	At           time.Time
	Kind         Kind
	Status       TxnStatus
	MID          string
	Amount       Amount
	Earned       Points
	Debited      Points
	RulesVersion int
	Campaigns    []string
}

// Member reads a card's loyalty view with at most limit earnings
// (DefaultMemberEarnings when limit <= 0, at most MaxMemberEarnings).
// Everything comes from one snapshot, so the lots, the balance and the
// history agree. ErrNotFound when there is no such card.
func (s *Store) Member(pan string, limit int) (MemberView, error) {
	if limit <= 0 {
		limit = DefaultMemberEarnings
	}
	limit = min(limit, MaxMemberEarnings)
	snap, done, err := s.snapshot()
	if err != nil {
		return MemberView{}, err
	}
	defer done()
	get := getterOf(snap)
	var v MemberView
	raw, err := get(keyCard(pan))
	if err != nil {
		return v, err
	}
	if raw == nil {
		return v, fmt.Errorf("card %s: %w", cardnum.Mask(pan), ErrNotFound)
	}
	var c Card
	if err := json.Unmarshal(raw, &c); err != nil {
		return v, fmt.Errorf("ledger: decode card: %w", err)
	}
	v.ProgramID = c.ProgramID
	var p Program
	if raw, err = get(keyProgram(c.ProgramID)); err != nil {
		return v, err
	} else if raw != nil {
		if err := json.Unmarshal(raw, &p); err != nil {
			return v, fmt.Errorf("ledger: decode program: %w", err)
		}
	}
	rules := p.Loyalty
	now := s.opts.Now()
	month := yyyymm(now.In(s.opts.Location))

	cl, err := readCardLoyalty(get, pan)
	if err != nil {
		return v, err
	}
	m, w := cl.Membership, cl.Wallet
	acct := Account{ID: accountPoints(pan), Unit: UnitPoints}
	if raw, err = get(keyAccount(acct.ID)); err != nil {
		return v, err
	} else if raw != nil {
		if err := acct.decode(raw); err != nil {
			return v, err
		}
	}
	v.Points = Points(acct.Balance())
	v.fillMembership(rules, &m, month)
	v.Available, v.Debt = w.Available(now), w.Debt
	for _, l := range w.Lots {
		v.Lots = append(v.Lots, LotView{Seq: l.Seq, Points: l.Points, Remaining: l.Remaining,
			EarnedAt: l.EarnedAt, Expires: l.Expires, Expired: !l.Expires.IsZero() && !now.Before(l.Expires)})
	}
	v.Earnings, err = memberEarnings(snap, pan, limit)
	return v, err
}

// fillMembership sets the tier, spend and visit figures.
func (v *MemberView) fillMembership(rules *loyalty.Rules, m *Membership, month uint32) {
	name := func(i int) string { return "" }
	if rules != nil {
		v.HasRules, v.RulesVersion, v.WindowMonths = true, rules.Version, rules.TierWindowMonths
		name = func(i int) string {
			if i >= 0 && i < len(rules.Tiers) {
				return rules.Tiers[i].Name
			}
			return ""
		}
		if m.Tier < len(rules.Tiers) {
			t := rules.Tiers[m.Tier]
			v.MultiplierBP, v.DiscountBP = t.MultiplierBP, t.DiscountBP
		}
	}
	v.Tier, v.TierName = m.Tier, name(m.Tier)
	for _, h := range m.TierHistory {
		reason := "upgrade"
		if h.Seq == 0 {
			reason = "review"
		}
		v.TierHistory = append(v.TierHistory, TierStep{At: time.Unix(0, h.At), From: h.From, To: h.To,
			FromName: name(h.From), ToName: name(h.To), Reason: reason, Seq: h.Seq})
	}
	if m.ReviewedMonth != 0 {
		v.ReviewedMonth = formatMonth(m.ReviewedMonth)
	}
	v.LifetimeSpend, v.LifetimeVisits = m.LifetimeSpend, m.LifetimeVisits
	if m.VisitMonth == month {
		v.VisitsMonth = len(m.VisitDays)
	}
	buckets := m.buckets(month, v.WindowMonths)
	for _, b := range buckets {
		// A window's sum: at most 24 buckets of MaxAmount, far inside
		// int64; past MaxAmount it is shown saturated.
		if sum, err := v.WindowSpend.Add(b); err == nil {
			v.WindowSpend = sum
		}
	}
	v.AverageSpend = loyalty.AverageMonthlySpend(buckets)
}

// memberEarnings reads the card's journal newest first and keeps the
// entries that moved points.
func memberEarnings(snap *pebble.Snapshot, pan string, limit int) ([]EarningEntry, error) {
	var out []EarningEntry
	scanned := 0
	err := cardEntriesNewestFirst(snap, pan, func(t *Txn) (bool, error) {
		scanned++
		if t.Earned != 0 || t.Debited != 0 {
			out = append(out, EarningEntry{Seq: t.Seq, At: time.Unix(0, t.At), Kind: t.Kind, Status: t.Status, MID: t.MID,
				Amount: t.Amount, Earned: t.Earned, Debited: t.Debited, RulesVersion: t.RulesVersion, Campaigns: t.Campaigns})
		}
		return len(out) < limit && scanned < memberScanLimit, nil
	})
	return out, err
}
