package loyalty

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cardcenter/cardcenter/money"
)

// Limits on a program's rules (docs/loyalty.md lists them for operators).
// Every list is bounded because Earn walks all of it for every
// transaction, inside the ledger's single writer.
const (
	// MaxEarnRateBP is 100 points a yuan.
	MaxEarnRateBP = 1_000_000
	// MaxTiers bounds a program's tiers.
	MaxTiers = 16
	// MaxTierNameLen bounds a tier name, in bytes.
	MaxTierNameLen = 32
	// MaxTierMultiplierBP is ×10.
	MaxTierMultiplierBP = 100_000
	// MaxDiscountBP is 100 %.
	MaxDiscountBP = 10_000
	// MaxTierWindowMonths bounds the trailing window of the tier review.
	MaxTierWindowMonths = 24
	// MaxCampaigns bounds a program's campaigns.
	MaxCampaigns = 64
	// MaxCampaignIDLen bounds a campaign id (it is recorded with every
	// earning it produces).
	MaxCampaignIDLen = 32
	// MaxCampaignMultiplierBP is ×10; a campaign multiplier is above
	// 10000 (it raises points, or it would win "the highest" and lower
	// them).
	MaxCampaignMultiplierBP = 100_000
	// MaxBonusPoints bounds a campaign's fixed bonus.
	MaxBonusPoints = 1_000_000
	// MaxCampaignMerchants bounds the merchants one campaign names.
	MaxCampaignMerchants = 256
	// MaxPriority bounds a campaign's priority (0..MaxPriority).
	MaxPriority = 1000
	// MaxVisitFrom: a month has at most 31 distinct dates.
	MaxVisitFrom = 31
	// MaxBirthdayWindowDays bounds a birthday campaign's window either
	// side of the birthday.
	MaxBirthdayWindowDays = 31
	// MaxLotMonths and MaxLotDays bound a lot's life (five and ten years).
	MaxLotMonths = 60
	MaxLotDays   = 3650
	// MaxNoticeDays bounds the expiry-notice window.
	MaxNoticeDays = 365
	// midLen is a merchant id's length (field 42 of the terminal protocol).
	midLen = 15
)

// FieldError is one problem with one field of a program's rules. Path is
// relative to the rules, in their JSON names: "tiers[1].threshold_fen",
// "campaigns[2].from"; the caller prefixes it ("programs[0].loyalty.").
type FieldError struct {
	Path string `json:"field"`
	Msg  string `json:"message"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldErrors is every problem Validate found, in field order.
type FieldErrors []FieldError

func (l FieldErrors) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Validate checks the rules on their own (not that campaign merchants
// exist: that needs the registry). It returns nil or FieldErrors naming
// every bad field. Version is not checked beyond being non-negative: the
// ledger assigns it.
func (r *Rules) Validate() error {
	var v validator
	v.rules(r)
	if len(v.list) == 0 {
		return nil
	}
	return v.list
}

type validator struct{ list FieldErrors }

func (v *validator) add(path, format string, args ...any) {
	v.list = append(v.list, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// rangeInt checks that n is within min..max (unit follows the bounds).
func (v *validator) rangeInt(path string, n, min, max int64, unit string) {
	if n < min || n > max {
		v.add(path, "%d: want %d..%d%s", n, min, max, unit)
	}
}

func (v *validator) rules(r *Rules) {
	if r.Version < 0 {
		v.add("version", "%d: must not be negative", r.Version)
	}
	v.rangeInt("earn_rate_bp", int64(r.EarnRateBP), 0, MaxEarnRateBP, " basis points (10000 = 1 point a yuan)")
	v.tiers(r)
	v.campaigns(r.Campaigns)
	v.lots(r.Lots)
	v.rangeInt("notice_days", int64(r.NoticeDays), 0, MaxNoticeDays, " days")
}

func (v *validator) tiers(r *Rules) {
	if len(r.Tiers) > MaxTiers {
		v.add("tiers", "%d tiers: at most %d", len(r.Tiers), MaxTiers)
		return
	}
	if len(r.Tiers) > 0 {
		v.rangeInt("tier_window_months", int64(r.TierWindowMonths), 1, MaxTierWindowMonths, " months (the trailing window of average monthly spend)")
	} else {
		v.rangeInt("tier_window_months", int64(r.TierWindowMonths), 0, MaxTierWindowMonths, " months")
	}
	names := map[string]int{}
	for i, t := range r.Tiers {
		p := fmt.Sprintf("tiers[%d].", i)
		switch {
		case t.Name == "":
			v.add(p+"name", "missing")
		case !isRuleName(t.Name, MaxTierNameLen):
			v.add(p+"name", "%q: want 1 to %d printable characters, no leading or trailing space", t.Name, MaxTierNameLen)
		default:
			if j, dup := names[t.Name]; dup {
				v.add(p+"name", "%q given twice (first at tiers[%d])", t.Name, j)
			}
			names[t.Name] = i
		}
		switch {
		case i == 0 && t.ThresholdFen != 0:
			v.add(p+"threshold_fen", "%d: the first tier's threshold must be 0 (every member is in a tier)", t.ThresholdFen)
		case t.ThresholdFen < 0 || t.ThresholdFen > money.MaxAmount:
			v.add(p+"threshold_fen", "%d: want 0..%d fen", t.ThresholdFen, int64(money.MaxAmount))
		case i > 0 && t.ThresholdFen <= r.Tiers[i-1].ThresholdFen:
			v.add(p+"threshold_fen", "%d: must be above tiers[%d]'s %d (thresholds rise strictly, lowest tier first)", t.ThresholdFen, i-1, r.Tiers[i-1].ThresholdFen)
		}
		v.rangeInt(p+"multiplier_bp", int64(t.MultiplierBP), 0, MaxTierMultiplierBP, " basis points (10000 = ×1.0)")
		v.rangeInt(p+"discount_bp", int64(t.DiscountBP), 0, MaxDiscountBP, " basis points")
	}
}

func (v *validator) campaigns(cs []Campaign) {
	if len(cs) > MaxCampaigns {
		v.add("campaigns", "%d campaigns: at most %d", len(cs), MaxCampaigns)
		return
	}
	ids := map[string]int{}
	for i := range cs {
		c := &cs[i]
		p := fmt.Sprintf("campaigns[%d].", i)
		switch {
		case c.ID == "":
			v.add(p+"id", "missing")
		case len(c.ID) > MaxCampaignIDLen || !isRuleID(c.ID):
			v.add(p+"id", "%q: want 1 to %d letters, digits, '-', '_' or '.'", c.ID, MaxCampaignIDLen)
		default:
			if j, dup := ids[c.ID]; dup {
				v.add(p+"id", "%q given twice (first at campaigns[%d])", c.ID, j)
			}
			ids[c.ID] = i
		}
		v.reward(p, c)
		v.window(p, c)
		if len(c.Merchants) > MaxCampaignMerchants {
			v.add(p+"merchants", "%d merchants: at most %d", len(c.Merchants), MaxCampaignMerchants)
		} else {
			mids := map[string]int{}
			for j, mid := range c.Merchants {
				mp := fmt.Sprintf("%smerchants[%d]", p, j)
				if len(mid) != midLen || !isRuleID(mid) {
					v.add(mp, "%q: want a merchant id, exactly %d letters, digits, '-', '_' or '.'", mid, midLen)
				} else if k, dup := mids[mid]; dup {
					v.add(mp, "%q given twice (first at merchants[%d])", mid, k)
				}
				mids[mid] = j
			}
		}
		v.rangeInt(p+"priority", int64(c.Priority), 0, MaxPriority, "")
		if c.Kind == CampaignVisit {
			v.rangeInt(p+"visit_from", int64(c.VisitFrom), 2, MaxVisitFrom, " (the visit in a calendar month from which it applies; 1 would be every visit: use a period campaign)")
		} else if c.VisitFrom != 0 {
			v.add(p+"visit_from", "only a visit campaign has one (this one is %q)", c.Kind)
		}
		if c.Kind == CampaignBirthday {
			v.rangeInt(p+"window_days", int64(c.WindowDays), 0, MaxBirthdayWindowDays, " days either side of the birthday")
		} else if c.WindowDays != 0 {
			v.add(p+"window_days", "only a birthday campaign has one (this one is %q)", c.Kind)
		}
	}
}

// reward checks the kind and that it has the one reward its kind allows:
// period and visit campaigns multiply, first-visit campaigns give a bonus,
// birthday campaigns either.
func (v *validator) reward(p string, c *Campaign) {
	var multiplier, bonus bool
	switch c.Kind {
	case CampaignPeriod, CampaignVisit:
		multiplier = true
	case CampaignFirstVisit:
		bonus = true
	case CampaignBirthday:
		multiplier, bonus = true, true
	case "":
		v.add(p+"kind", "missing: want period, visit, birthday or first_visit")
		return
	default:
		v.add(p+"kind", "%q: want period, visit, birthday or first_visit", c.Kind)
		return
	}
	hasM, hasB := c.MultiplierBP != 0, c.BonusPoints != 0
	switch {
	case hasM && hasB:
		v.add(p+"bonus_points", "a campaign gives a multiplier or a bonus, not both")
	case hasM && !multiplier:
		v.add(p+"multiplier_bp", "a %s campaign gives a fixed bonus: use bonus_points", c.Kind)
	case hasB && !bonus:
		v.add(p+"bonus_points", "a %s campaign multiplies: use multiplier_bp", c.Kind)
	case !hasM && !hasB && multiplier && bonus:
		v.add(p+"multiplier_bp", "missing: a %s campaign needs multiplier_bp or bonus_points", c.Kind)
	case !hasM && !hasB && multiplier:
		v.add(p+"multiplier_bp", "missing: a %s campaign needs multiplier_bp (20000 = ×2)", c.Kind)
	case !hasM && !hasB:
		v.add(p+"bonus_points", "missing: a %s campaign needs bonus_points", c.Kind)
	case hasM:
		v.rangeInt(p+"multiplier_bp", int64(c.MultiplierBP), 10_001, MaxCampaignMultiplierBP, " basis points (20000 = ×2; a campaign raises points)")
	default:
		v.rangeInt(p+"bonus_points", int64(c.BonusPoints), 1, MaxBonusPoints, " points")
	}
}

// window checks the validity window: local dates, inclusive, from ≤ to.
func (v *validator) window(p string, c *Campaign) {
	from, okFrom := v.date(p+"from", c.From)
	to, okTo := v.date(p+"to", c.To)
	if okFrom && okTo && !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.add(p+"to", "%s is before from %s", c.To, c.From)
	}
}

func (v *validator) date(path, s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	d, err := ParseDate(s)
	if err != nil {
		v.add(path, "%v", err)
		return time.Time{}, false
	}
	return d, true
}

// ParseDate reads a local date, YYYY-MM-DD (a campaign's from and to).
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil || len(s) != len(time.DateOnly) {
		return time.Time{}, fmt.Errorf("%q: want a date YYYY-MM-DD", s)
	}
	return d, nil
}

func (v *validator) lots(l LotPolicy) {
	switch l.Kind {
	case LotEndOfMonth:
		v.rangeInt("lots.months", int64(l.Months), 1, MaxLotMonths, " months")
		if l.Days != 0 {
			v.add("lots.days", "an end_of_month policy counts months, not days")
		}
	case LotRollingDays:
		v.rangeInt("lots.days", int64(l.Days), 1, MaxLotDays, " days")
		if l.Months != 0 {
			v.add("lots.months", "a rolling_days policy counts days, not months")
		}
	case LotNever:
		if l.Months != 0 || l.Days != 0 {
			v.add("lots.kind", "points that never expire have no months or days")
		}
	case "":
		v.add("lots.kind", "missing: want end_of_month, rolling_days or never")
	default:
		v.add("lots.kind", "%q: want end_of_month, rolling_days or never", l.Kind)
	}
}

// isRuleID: letters, digits, '-', '_', '.' (safe in keys, URLs, reports).
func isRuleID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// isRuleName: printable UTF-8 of at most max bytes, not padded with spaces
// ("Cat's-eye" and "珍珠" are names).
func isRuleName(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
