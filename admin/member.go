package admin

// member.go: a card's loyalty (the member view) and the monthly tier
// review: GET /v1/cards/{pan}/loyalty, POST /v1/loyalty/review-tiers.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/money"
)

// reviewTimeout bounds one tier review: it is many short ledger changes
// over every member.
const reviewTimeout = 10 * time.Minute

// MemberView is a card's loyalty (GET /v1/cards/{pan}/loyalty): the
// ledger's MemberView with the PAN masked, money in fen, and times in
// RFC 3339.
type MemberView struct {
	PAN           string         `json:"pan"` // masked
	ProgramID     string         `json:"program_id"`
	HasRules      bool           `json:"has_rules"`
	RulesVersion  int            `json:"rules_version,omitempty"`
	Tier          int            `json:"tier"`
	TierName      string         `json:"tier_name,omitempty"`
	MultiplierBP  money.BP       `json:"multiplier_bp,omitempty"`
	DiscountBP    money.BP       `json:"discount_bp"`
	TierHistory   []TierStepView `json:"tier_history"`
	ReviewedMonth string         `json:"reviewed_month,omitempty"`
	Points        ledger.Points  `json:"points"`
	Available     ledger.Points  `json:"available_points"`
	Debt          ledger.Points  `json:"debt_points"`
	Lots          []LotView      `json:"lots"`
	LifetimeFen   ledger.Amount  `json:"lifetime_spend_fen"`
	WindowMonths  int            `json:"tier_window_months"`
	WindowFen     ledger.Amount  `json:"window_spend_fen"`
	AverageFen    ledger.Amount  `json:"average_monthly_spend_fen"`
	VisitsMonth   int            `json:"visits_this_month"`
	VisitsTotal   int64          `json:"visits_lifetime"`
	Earnings      []EarningView  `json:"earnings"`
	Limit         int            `json:"earnings_limit"`
}

// TierStepView is one tier change.
type TierStepView struct {
	At     time.Time `json:"at"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Reason string    `json:"reason"`        // upgrade or review
	RRN    string    `json:"rrn,omitempty"` // the upgrading transaction
}

// LotView is one lot of points.
type LotView struct {
	RRN       string        `json:"rrn"` // the earning's
	Points    ledger.Points `json:"points"`
	Remaining ledger.Points `json:"remaining"`
	EarnedAt  time.Time     `json:"earned_at"`
	Expires   *time.Time    `json:"expires,omitempty"` // absent: never
	Expired   bool          `json:"expired,omitempty"`
}

// EarningView is a journal entry that moved points.
type EarningView struct {
	RRN          string        `json:"rrn"`
	At           time.Time     `json:"at"`
	Kind         string        `json:"kind"`
	Status       string        `json:"status"`
	MID          string        `json:"mid,omitempty"`
	AmountFen    ledger.Amount `json:"amount_fen"`
	Earned       ledger.Points `json:"earned,omitempty"`
	Debited      ledger.Points `json:"debited,omitempty"`
	RulesVersion int           `json:"rules_version,omitempty"`
	Campaigns    []string      `json:"campaigns,omitempty"`
}

// ReviewRequest asks for the tier review of one month (YYYY-MM).
type ReviewRequest struct {
	Month string `json:"month"`
}

func memberView(pan string, m *ledger.MemberView, limit int) MemberView {
	v := MemberView{PAN: cardnum.Mask(pan), ProgramID: m.ProgramID, HasRules: m.HasRules, RulesVersion: m.RulesVersion,
		Tier: m.Tier, TierName: m.TierName, MultiplierBP: m.MultiplierBP, DiscountBP: m.DiscountBP,
		TierHistory: []TierStepView{}, ReviewedMonth: m.ReviewedMonth, Points: m.Points, Available: m.Available,
		Debt: m.Debt, Lots: []LotView{}, LifetimeFen: m.LifetimeSpend, WindowMonths: m.WindowMonths,
		WindowFen: m.WindowSpend, AverageFen: m.AverageSpend, VisitsMonth: m.VisitsMonth,
		VisitsTotal: m.LifetimeVisits, Earnings: []EarningView{}, Limit: limit}
	tierName := func(name string, i int) string {
		if name != "" {
			return name
		}
		return strconv.Itoa(i)
	}
	for _, h := range m.TierHistory {
		s := TierStepView{At: h.At.UTC(), From: tierName(h.FromName, h.From), To: tierName(h.ToName, h.To), Reason: h.Reason}
		if h.Seq != 0 {
			s.RRN = ledger.FormatRRN(h.Seq)
		}
		v.TierHistory = append(v.TierHistory, s)
	}
	for _, l := range m.Lots {
		lv := LotView{RRN: ledger.FormatRRN(l.Seq), Points: l.Points, Remaining: l.Remaining, EarnedAt: l.EarnedAt.UTC(), Expired: l.Expired}
		if !l.Expires.IsZero() {
			e := l.Expires.UTC()
			lv.Expires = &e
		}
		v.Lots = append(v.Lots, lv)
	}
	for _, e := range m.Earnings {
		v.Earnings = append(v.Earnings, EarningView{RRN: ledger.FormatRRN(e.Seq), At: e.At.UTC(), Kind: e.Kind.String(),
			Status: e.Status.String(), MID: e.MID, AmountFen: e.Amount, Earned: e.Earned, Debited: e.Debited,
			RulesVersion: e.RulesVersion, Campaigns: e.Campaigns})
	}
	return v
}

func (s *Server) memberLoyalty(w http.ResponseWriter, r *http.Request) {
	pan, ok := pathPAN(w, r)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", ledger.DefaultMemberEarnings, ledger.MaxMemberEarnings)
	if !ok {
		return
	}
	m, err := s.store.Member(pan, limit)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "card %s not found", cardnum.Mask(pan))
			return
		}
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, memberView(pan, &m, limit))
}

func (s *Server) reviewTiers(w http.ResponseWriter, r *http.Request) {
	var in ReviewRequest
	if !decode(w, r, &in) {
		return
	}
	if in.Month == "" {
		writeError(w, http.StatusBadRequest, "month", "month: missing (YYYY-MM, a month that has ended)")
		return
	}
	ctx, cancel := writeCtx(r, reviewTimeout)
	defer cancel()
	st, err := s.store.ReviewTiers(ctx, in.Month)
	if errors.Is(err, ledger.ErrMonth) {
		writeError(w, http.StatusBadRequest, "month", "month: %v", err)
		return
	}
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, "tier_review").Str("month", st.Month).Int("reviewed", st.Reviewed).Int("upgraded", st.Upgraded).
		Int("downgraded", st.Downgraded).Bool("already_done", st.AlreadyDone).Msg("tier review")
	writeJSON(w, http.StatusOK, st)
}

// CardLoyalty reads a card's loyalty view with at most limit earnings
// (0: the server's default).
func (c *Client) CardLoyalty(ctx context.Context, pan string, limit int) (*MemberView, error) {
	path := cardPath(pan) + "/loyalty"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out MemberView
	if err := c.doJSON(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReviewTiers runs the monthly tier review of month (YYYY-MM).
func (c *Client) ReviewTiers(ctx context.Context, month string) (*ledger.ReviewStats, error) {
	var out ledger.ReviewStats
	if err := c.doJSON(ctx, http.MethodPost, "/v1/loyalty/review-tiers", ReviewRequest{Month: month}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
