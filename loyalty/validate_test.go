package loyalty

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/money"
)

// mallRules are valid rules using every feature.
func mallRules() *Rules {
	return &Rules{
		EarnRateBP:       10000,
		TierWindowMonths: 3,
		Tiers: []Tier{
			{Name: "Pearl", ThresholdFen: 0, MultiplierBP: 10000},
			{Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 15000, DiscountBP: 300},
			{Name: "Diamond", ThresholdFen: 500000, MultiplierBP: 20000, DiscountBP: 800},
		},
		Campaigns: []Campaign{
			{ID: "december-double", Kind: CampaignPeriod, MultiplierBP: 20000, From: "2026-12-01", To: "2026-12-31"},
			{ID: "sixth-visit", Kind: CampaignVisit, MultiplierBP: 20000, VisitFrom: 6, Priority: 1},
			{ID: "birthday", Kind: CampaignBirthday, BonusPoints: 500, WindowDays: 7},
			{ID: "birthday-x", Kind: CampaignBirthday, MultiplierBP: 30000},
			{ID: "coffee-first", Kind: CampaignFirstVisit, BonusPoints: 50, Merchants: []string{"MALL00000000003"}},
		},
		Lots:       LotPolicy{Kind: LotEndOfMonth, Months: 12},
		NoticeDays: 30,
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, r := range map[string]*Rules{
		"mall":          mallRules(),
		"minimal":       {EarnRateBP: 0, Lots: LotPolicy{Kind: LotNever}},
		"rolling":       {EarnRateBP: MaxEarnRateBP, Lots: LotPolicy{Kind: LotRollingDays, Days: MaxLotDays}, NoticeDays: MaxNoticeDays},
		"one-day-camp":  {Lots: LotPolicy{Kind: LotNever}, Campaigns: []Campaign{{ID: "d", Kind: CampaignPeriod, MultiplierBP: 10001, From: "2026-02-28", To: "2026-02-28"}}},
		"open-from":     {Lots: LotPolicy{Kind: LotNever}, Campaigns: []Campaign{{ID: "d", Kind: CampaignPeriod, MultiplierBP: 20000, To: "2026-02-28"}}},
		"unicode-tier":  {Lots: LotPolicy{Kind: LotNever}, TierWindowMonths: 1, Tiers: []Tier{{Name: "珍珠", MultiplierBP: 10000}, {Name: "Cat's-eye", ThresholdFen: 1, MultiplierBP: 12000}}},
		"window-0-bday": {Lots: LotPolicy{Kind: LotNever}, Campaigns: []Campaign{{ID: "b", Kind: CampaignBirthday, BonusPoints: 1}}},
	} {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestValidateRefuses: every refusal names the field and says what is
// wanted; one bad field gives exactly one error.
func TestValidateRefuses(t *testing.T) {
	many := func(n int, f func(i int) Campaign) []Campaign {
		var cs []Campaign
		for i := 0; i < n; i++ {
			cs = append(cs, f(i))
		}
		return cs
	}
	cases := []struct {
		name   string
		mutate func(r *Rules)
		path   string
		msg    string
	}{
		{"version", func(r *Rules) { r.Version = -1 }, "version", "must not be negative"},
		{"earn negative", func(r *Rules) { r.EarnRateBP = -1 }, "earn_rate_bp", "want 0..1000000"},
		{"earn too high", func(r *Rules) { r.EarnRateBP = MaxEarnRateBP + 1 }, "earn_rate_bp", "want 0..1000000"},
		{"notice", func(r *Rules) { r.NoticeDays = 366 }, "notice_days", "want 0..365"},
		{"notice negative", func(r *Rules) { r.NoticeDays = -1 }, "notice_days", "want 0..365"},
		// Tiers.
		{"too many tiers", func(r *Rules) {
			r.Tiers = nil
			for i := 0; i <= MaxTiers; i++ {
				r.Tiers = append(r.Tiers, Tier{Name: fmt.Sprintf("t%d", i), ThresholdFen: money.Amount(i * 100), MultiplierBP: 10000})
			}
		}, "tiers", "at most 16"},
		{"window missing", func(r *Rules) { r.TierWindowMonths = 0 }, "tier_window_months", "want 1..24"},
		{"window long", func(r *Rules) { r.TierWindowMonths = 25 }, "tier_window_months", "want 1..24"},
		{"window without tiers", func(r *Rules) { r.Tiers = nil; r.TierWindowMonths = -1 }, "tier_window_months", "want 0..24"},
		{"tier name missing", func(r *Rules) { r.Tiers[1].Name = "" }, "tiers[1].name", "missing"},
		{"tier name padded", func(r *Rules) { r.Tiers[1].Name = " Ruby" }, "tiers[1].name", "printable"},
		{"tier name control", func(r *Rules) { r.Tiers[1].Name = "Ru\x01by" }, "tiers[1].name", "printable"},
		{"tier name long", func(r *Rules) { r.Tiers[1].Name = strings.Repeat("x", 33) }, "tiers[1].name", "1 to 32"},
		{"tier name twice", func(r *Rules) { r.Tiers[2].Name = "Pearl" }, "tiers[2].name", `"Pearl" given twice (first at tiers[0])`},
		{"first threshold", func(r *Rules) { r.Tiers[0].ThresholdFen = 1 }, "tiers[0].threshold_fen", "must be 0"},
		{"threshold equal", func(r *Rules) { r.Tiers[2].ThresholdFen = 100000 }, "tiers[2].threshold_fen", "must be above tiers[1]'s 100000"},
		{"threshold falls", func(r *Rules) { r.Tiers[2].ThresholdFen = 50000 }, "tiers[2].threshold_fen", "rise strictly"},
		{"threshold negative", func(r *Rules) { r.Tiers[1].ThresholdFen = -1 }, "tiers[1].threshold_fen", "want 0.."},
		{"tier multiplier", func(r *Rules) { r.Tiers[1].MultiplierBP = 100001 }, "tiers[1].multiplier_bp", "want 0..100000"},
		{"tier multiplier negative", func(r *Rules) { r.Tiers[1].MultiplierBP = -1 }, "tiers[1].multiplier_bp", "want 0..100000"},
		{"tier discount", func(r *Rules) { r.Tiers[2].DiscountBP = 10001 }, "tiers[2].discount_bp", "want 0..10000"},
		{"tier discount negative", func(r *Rules) { r.Tiers[2].DiscountBP = -5 }, "tiers[2].discount_bp", "want 0..10000"},
		// Campaigns.
		{"too many campaigns", func(r *Rules) {
			r.Campaigns = many(MaxCampaigns+1, func(i int) Campaign {
				return Campaign{ID: fmt.Sprintf("c%d", i), Kind: CampaignPeriod, MultiplierBP: 20000}
			})
		}, "campaigns", "at most 64"},
		{"id missing", func(r *Rules) { r.Campaigns[1].ID = "" }, "campaigns[1].id", "missing"},
		{"id bad", func(r *Rules) { r.Campaigns[1].ID = "sixth visit" }, "campaigns[1].id", "letters, digits"},
		{"id long", func(r *Rules) { r.Campaigns[1].ID = strings.Repeat("a", 33) }, "campaigns[1].id", "1 to 32"},
		{"id twice", func(r *Rules) { r.Campaigns[2].ID = "sixth-visit" }, "campaigns[2].id", "given twice (first at campaigns[1])"},
		{"kind missing", func(r *Rules) { r.Campaigns[0].Kind = "" }, "campaigns[0].kind", "missing"},
		{"kind unknown", func(r *Rules) { r.Campaigns[0].Kind = "weekend" }, "campaigns[0].kind", `"weekend": want period, visit, birthday or first_visit`},
		{"both rewards", func(r *Rules) { r.Campaigns[2].MultiplierBP = 20000 }, "campaigns[2].bonus_points", "not both"},
		{"period bonus", func(r *Rules) { r.Campaigns[0].MultiplierBP = 0; r.Campaigns[0].BonusPoints = 5 }, "campaigns[0].bonus_points", "a period campaign multiplies"},
		{"visit bonus", func(r *Rules) { r.Campaigns[1].MultiplierBP = 0; r.Campaigns[1].BonusPoints = 5 }, "campaigns[1].bonus_points", "a visit campaign multiplies"},
		{"first-visit multiplier", func(r *Rules) { r.Campaigns[4].BonusPoints = 0; r.Campaigns[4].MultiplierBP = 20000 }, "campaigns[4].multiplier_bp", "gives a fixed bonus"},
		{"period no reward", func(r *Rules) { r.Campaigns[0].MultiplierBP = 0 }, "campaigns[0].multiplier_bp", "missing: a period campaign needs multiplier_bp"},
		{"birthday no reward", func(r *Rules) { r.Campaigns[2].BonusPoints = 0 }, "campaigns[2].multiplier_bp", "needs multiplier_bp or bonus_points"},
		{"first-visit no reward", func(r *Rules) { r.Campaigns[4].BonusPoints = 0 }, "campaigns[4].bonus_points", "missing"},
		{"multiplier ×1", func(r *Rules) { r.Campaigns[0].MultiplierBP = 10000 }, "campaigns[0].multiplier_bp", "want 10001..100000"},
		{"multiplier high", func(r *Rules) { r.Campaigns[0].MultiplierBP = 100001 }, "campaigns[0].multiplier_bp", "want 10001..100000"},
		{"multiplier negative", func(r *Rules) { r.Campaigns[3].MultiplierBP = -20000 }, "campaigns[3].multiplier_bp", "want 10001..100000"},
		{"bonus negative", func(r *Rules) { r.Campaigns[2].BonusPoints = -1 }, "campaigns[2].bonus_points", "want 1..1000000"},
		{"bonus high", func(r *Rules) { r.Campaigns[4].BonusPoints = MaxBonusPoints + 1 }, "campaigns[4].bonus_points", "want 1..1000000"},
		{"from bad", func(r *Rules) { r.Campaigns[0].From = "2026-12-1" }, "campaigns[0].from", "want a date YYYY-MM-DD"},
		{"from impossible", func(r *Rules) { r.Campaigns[0].From = "2026-02-30" }, "campaigns[0].from", "want a date YYYY-MM-DD"},
		{"to bad", func(r *Rules) { r.Campaigns[0].To = "31.12.2026" }, "campaigns[0].to", "want a date"},
		{"to before from", func(r *Rules) { r.Campaigns[0].To = "2026-11-30" }, "campaigns[0].to", "2026-11-30 is before from 2026-12-01"},
		{"merchant short", func(r *Rules) { r.Campaigns[4].Merchants = []string{"MALL1"} }, "campaigns[4].merchants[0]", "exactly 15"},
		{"merchant chars", func(r *Rules) { r.Campaigns[4].Merchants = []string{"MALL0000000000/"} }, "campaigns[4].merchants[0]", "exactly 15"},
		{"merchant twice", func(r *Rules) {
			r.Campaigns[4].Merchants = []string{"MALL00000000003", "MALL00000000001", "MALL00000000003"}
		}, "campaigns[4].merchants[2]", "given twice (first at merchants[0])"},
		{"too many merchants", func(r *Rules) {
			for i := 0; i <= MaxCampaignMerchants; i++ {
				r.Campaigns[4].Merchants = append(r.Campaigns[4].Merchants, fmt.Sprintf("M%014d", i))
			}
		}, "campaigns[4].merchants", "at most 256"},
		{"priority negative", func(r *Rules) { r.Campaigns[1].Priority = -1 }, "campaigns[1].priority", "want 0..1000"},
		{"priority high", func(r *Rules) { r.Campaigns[1].Priority = 1001 }, "campaigns[1].priority", "want 0..1000"},
		{"visit_from missing", func(r *Rules) { r.Campaigns[1].VisitFrom = 0 }, "campaigns[1].visit_from", "want 2..31"},
		{"visit_from 1", func(r *Rules) { r.Campaigns[1].VisitFrom = 1 }, "campaigns[1].visit_from", "want 2..31"},
		{"visit_from 32", func(r *Rules) { r.Campaigns[1].VisitFrom = 32 }, "campaigns[1].visit_from", "want 2..31"},
		{"visit_from elsewhere", func(r *Rules) { r.Campaigns[0].VisitFrom = 6 }, "campaigns[0].visit_from", "only a visit campaign"},
		{"window_days high", func(r *Rules) { r.Campaigns[2].WindowDays = 32 }, "campaigns[2].window_days", "want 0..31"},
		{"window_days negative", func(r *Rules) { r.Campaigns[2].WindowDays = -1 }, "campaigns[2].window_days", "want 0..31"},
		{"window_days elsewhere", func(r *Rules) { r.Campaigns[1].WindowDays = 3 }, "campaigns[1].window_days", "only a birthday campaign"},
		// Lots.
		{"lots missing", func(r *Rules) { r.Lots = LotPolicy{} }, "lots.kind", "missing"},
		{"lots unknown", func(r *Rules) { r.Lots.Kind = "fifo" }, "lots.kind", `"fifo": want end_of_month, rolling_days or never`},
		{"months 0", func(r *Rules) { r.Lots.Months = 0 }, "lots.months", "want 1..60"},
		{"months 61", func(r *Rules) { r.Lots.Months = 61 }, "lots.months", "want 1..60"},
		{"eom days", func(r *Rules) { r.Lots.Days = 5 }, "lots.days", "counts months"},
		{"days 0", func(r *Rules) { r.Lots = LotPolicy{Kind: LotRollingDays} }, "lots.days", "want 1..3650"},
		{"days 3651", func(r *Rules) { r.Lots = LotPolicy{Kind: LotRollingDays, Days: 3651} }, "lots.days", "want 1..3650"},
		{"rolling months", func(r *Rules) { r.Lots = LotPolicy{Kind: LotRollingDays, Days: 30, Months: 1} }, "lots.months", "counts days"},
		{"never with months", func(r *Rules) { r.Lots = LotPolicy{Kind: LotNever, Months: 12} }, "lots.kind", "no months or days"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mallRules()
			tc.mutate(r)
			err := r.Validate()
			var l FieldErrors
			if !errors.As(err, &l) {
				t.Fatalf("Validate: %v, want FieldErrors", err)
			}
			if len(l) != 1 {
				t.Fatalf("want exactly one error, got %d: %v", len(l), l)
			}
			if l[0].Path != tc.path || !strings.Contains(l[0].Msg, tc.msg) {
				t.Fatalf("got %q, want %s: …%s…", l[0].Error(), tc.path, tc.msg)
			}
		})
	}
}

// TestValidateReportsAll: several bad fields are all reported, in field
// order.
func TestValidateReportsAll(t *testing.T) {
	r := mallRules()
	r.EarnRateBP = -1
	r.Tiers[1].DiscountBP = -1
	r.Campaigns[3].Kind = "x"
	r.Lots.Kind = ""
	err := r.Validate()
	var l FieldErrors
	if !errors.As(err, &l) || len(l) != 4 {
		t.Fatalf("got %v", err)
	}
	want := []string{"earn_rate_bp", "tiers[1].discount_bp", "campaigns[3].kind", "lots.kind"}
	for i, w := range want {
		if l[i].Path != w {
			t.Errorf("error %d at %s, want %s", i, l[i].Path, w)
		}
	}
	if !strings.Contains(err.Error(), "earn_rate_bp: -1: want 0..1000000") {
		t.Errorf("message: %v", err)
	}
}
