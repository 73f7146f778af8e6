package loyalty

import (
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// Rules are a program's loyalty rules at one version (shared
// loyalty-rules.md is the normative semantics). They are plain data: the
// provisioning file and the admin API fill them, the ledger stores each
// version, and every earning records the version and the campaigns that
// produced it. Money is in fen, points are whole, rates in basis points.
type Rules struct {
	// Version rises with every change; an earning records the version it
	// was computed under, and a change applies to transactions after it.
	Version int `json:"version"`
	// EarnRateBP is points per yuan × 10000 (10000 = 1 point a yuan).
	EarnRateBP money.BP `json:"earn_rate_bp"`
	// Tiers by average monthly spend over TierWindowMonths, lowest first;
	// the first has threshold 0.
	Tiers            []Tier `json:"tiers,omitempty"`
	TierWindowMonths int    `json:"tier_window_months,omitempty"`
	// Campaigns: at most one multiplier applies (the highest; priority
	// breaks ties), bonuses add.
	Campaigns []Campaign `json:"campaigns,omitempty"`
	// Lots says when the points of one earning expire.
	Lots LotPolicy `json:"lots"`
	// NoticeDays: lots expiring within this many days are reported (and
	// an outbox event written) once per lot.
	NoticeDays int `json:"notice_days,omitempty"`
}

// Tier is a membership level.
type Tier struct {
	Name string `json:"name"`
	// ThresholdFen is the average monthly spend from which a member is in
	// the tier.
	ThresholdFen money.Amount `json:"threshold_fen"`
	// MultiplierBP multiplies the base points (10000 = ×1.0).
	MultiplierBP money.BP `json:"multiplier_bp"`
	// DiscountBP is the member discount reported to the terminal.
	DiscountBP money.BP `json:"discount_bp,omitempty"`
}

// CampaignKind is what a campaign rewards.
type CampaignKind string

const (
	// CampaignPeriod multiplies points in its validity window
	// ("double points in December").
	CampaignPeriod CampaignKind = "period"
	// CampaignVisit multiplies points from the VisitFrom-th visit in a
	// calendar month; a visit is an approved purchase or accrual on a
	// distinct local date at any merchant of the program.
	CampaignVisit CampaignKind = "visit"
	// CampaignBirthday gives a bonus (once a year) or a multiplier on
	// purchases within WindowDays of the member's birthday.
	CampaignBirthday CampaignKind = "birthday"
	// CampaignFirstVisit gives a bonus on the first purchase at a
	// merchant new to the card.
	CampaignFirstVisit CampaignKind = "first_visit"
)

// Campaign is one campaign rule. Exactly one of MultiplierBP and
// BonusPoints is set.
type Campaign struct {
	ID   string       `json:"id"`
	Kind CampaignKind `json:"kind"`
	// MultiplierBP multiplies the points after the tier (20000 = ×2).
	MultiplierBP money.BP `json:"multiplier_bp,omitempty"`
	// BonusPoints are added after rounding.
	BonusPoints money.Points `json:"bonus_points,omitempty"`
	// From and To bound the campaign in local dates (YYYY-MM-DD,
	// inclusive); empty means open.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Merchants it applies to; empty means every merchant of the program.
	Merchants []string `json:"merchants,omitempty"`
	// Priority breaks ties between equal multipliers (higher wins; then
	// the smaller id, so the choice never depends on list order).
	Priority int `json:"priority,omitempty"`
	// VisitFrom: the visit number from which a visit campaign applies.
	VisitFrom int `json:"visit_from,omitempty"`
	// WindowDays: a birthday campaign applies this many days either side
	// of the birthday, counted in local dates (0: the day itself).
	WindowDays int `json:"window_days,omitempty"`
}

// LotPolicyKind says how a lot's expiry is computed.
type LotPolicyKind string

const (
	// LotEndOfMonth: points expire at the end of the Months-th month
	// after the month they were earned in (local time): at the instant
	// the month after it begins. Months 0 is the earning month's end.
	LotEndOfMonth LotPolicyKind = "end_of_month"
	// LotRollingDays: points expire Days local days after the instant
	// they were earned (same wall-clock time, daylight saving aside).
	LotRollingDays LotPolicyKind = "rolling_days"
	// LotNever: points do not expire.
	LotNever LotPolicyKind = "never"
)

// LotPolicy is when the points of one earning expire.
type LotPolicy struct {
	Kind   LotPolicyKind `json:"kind"`
	Months int           `json:"months,omitempty"`
	Days   int           `json:"days,omitempty"`
}

// Member is what the rules need to know of a card's holder and history
// at the moment of a transaction; the ledger keeps it.
type Member struct {
	// Birthday is MM-DD or YYYY-MM-DD; empty for an anonymous card.
	Birthday string
	// Tier is the index of the member's tier in Rules.Tiers.
	Tier int
	// VisitDates are the local dates (YYYY-MM-DD) of the member's visits
	// before this transaction; only those of the transaction's calendar
	// month count and a repeated date counts once, so the ledger may hand
	// over the month's dates without trimming. At most 31 matter.
	VisitDates []string
	// MerchantsSeen says whether the card has visited a merchant before
	// (first-visit bonuses); nil is no history and gives no first-visit
	// bonus.
	MerchantsSeen MerchantHistory
	// BirthdayBonusYear is the year of the last birthday a birthday bonus
	// was given for (0: never); Earning.BirthdayBonusYear is what to
	// record next.
	BirthdayBonusYear int
}

// MerchantHistory is a card's merchants visited before: Seen(mid)
// reports whether mid is one. An interface rather than a func so that
// the ledger hands over its decision without a closure a purchase.
type MerchantHistory interface {
	Seen(mid string) bool
}

// SeenFunc is a MerchantHistory of a func.
type SeenFunc func(mid string) bool

// Seen calls f. A nil SeenFunc is no history, as a nil MerchantsSeen
// is: every merchant counts as seen, so no first-visit bonus (and no
// panic for a caller that converted a nil func).
func (f SeenFunc) Seen(mid string) bool {
	if f == nil {
		return true
	}
	return f(mid)
}

// Purchase is the transaction points are earned on.
type Purchase struct {
	// Amount is the eligible amount: a purchase's or completion's field
	// 4, or an accrual's; a redemption's money value never earns.
	Amount money.Amount
	MID    string
	// At is when the host decided it; Location is the program's time
	// zone, in which visits, birthdays and campaign windows are counted.
	At       time.Time
	Location *time.Location
}

// Earning is what one transaction earns, and why.
type Earning struct {
	// Points = floor(base × tier × campaign multiplier) + bonuses.
	Points money.Points `json:"points"`
	// Base is floor(amount × earn rate), before multipliers, for reports.
	Base         money.Points `json:"base"`
	TierBP       money.BP     `json:"tier_bp"`
	MultiplierBP money.BP     `json:"multiplier_bp"`
	Bonus        money.Points `json:"bonus"`
	// Campaigns are the ids of the campaigns that applied, multiplier
	// first.
	Campaigns    []string `json:"campaigns,omitempty"`
	RulesVersion int      `json:"rules_version"`
	// Visit is the visit number of the transaction in its month (1 for
	// the first distinct date), and BirthdayBonus whether a birthday bonus
	// was given; if so the member's BirthdayBonusYear becomes
	// BirthdayBonusYear, the year of the birthday it was given for (a
	// purchase on Dec 28 near a Jan 2 birthday records the next year).
	Visit             int  `json:"visit"`
	BirthdayBonus     bool `json:"birthday_bonus,omitempty"`
	BirthdayBonusYear int  `json:"birthday_bonus_year,omitempty"`
}
