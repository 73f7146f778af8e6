package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
)

// The loyalty scenarios (testdata/scenarios/loyalty/*.txt) run on the
// base fixture plus two programs with rules, provisioned only for them
// so that the other files' RRNs stay as they are:
//
//   - p3, "Loyal mall": 1 point a yuan; tiers over a 1-month window
//     (Pearl 0 ×1.0, Ruby from 1000.00 ×1.5 with a 2 % discount);
//     december-double ×2,
//     anniversary ×3 at LOYL00000000002 (Dec 7–13), sixth-visit ×2
//     from the 6th visit, birthday 500 once a year (±3 days), first
//     visit 50 at LOYL00000000003; lots rolling 30 days; a point pays
//     for 0.10 yuan.
//   - p4, "Big spender": 100 points a yuan, one tier ×2, an always-on
//     ×3: amount × three rates overflows int64 long before the points
//     do.
var loyaltyTerminals = []ledger.Terminal{
	{TID: "L0000101", MID: "LOYL00000000001", Enabled: true},
	{TID: "L0000201", MID: "LOYL00000000002", Enabled: true},
	{TID: "L0000301", MID: "LOYL00000000003", Enabled: true},
	{TID: "H0000101", MID: "HIGH00000000001", Enabled: true},
	// Opted in to field 63 (the member's tier), and keyed, so that 63
	// is seen under the MAC: 11_tier_field.txt.
	{TID: "L0000102", MID: "LOYL00000000001", Enabled: true, LoyaltyInfo: true},
}

var loyaltyCards = []fixtureCard{
	{"lina", panFor(101), "2912", ledger.CardActive, 400000, func(c *ledger.Card) { c.Member.Birthday = "1990-12-05" }},
	{"max", panFor(102), "2912", ledger.CardActive, 200000, nil},
	{"lola", panFor(103), "2912", ledger.CardLost, 1000, nil},
	{"whale", panFor(104), "2912", ledger.CardActive, 0, func(c *ledger.Card) { c.ProgramID, c.HomeMID = "p4", "HIGH00000000001" }},
}

func provisionLoyalty(t testing.TB, s *ledger.Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutProgram(ctx, ledger.Program{ID: "p3", Name: "Loyal mall", Currency: "156", PointCost: 1, RedemptionValue: 10, HoldDays: 7,
		Loyalty: &loyalty.Rules{
			EarnRateBP: 10000, TierWindowMonths: 1,
			Tiers: []loyalty.Tier{{Name: "Pearl", MultiplierBP: 10000}, {Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 15000, DiscountBP: 200}},
			Campaigns: []loyalty.Campaign{
				{ID: "december-double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, From: "2026-12-01", To: "2026-12-31", Priority: 1},
				{ID: "anniversary", Kind: loyalty.CampaignPeriod, MultiplierBP: 30000, From: "2026-12-07", To: "2026-12-13", Merchants: []string{"LOYL00000000002"}},
				{ID: "sixth-visit", Kind: loyalty.CampaignVisit, MultiplierBP: 20000, VisitFrom: 6, Priority: 2},
				{ID: "birthday", Kind: loyalty.CampaignBirthday, BonusPoints: 500, WindowDays: 3},
				{ID: "first-coffee", Kind: loyalty.CampaignFirstVisit, BonusPoints: 50, Merchants: []string{"LOYL00000000003"}},
			},
			Lots: loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: 30},
		}}))
	must(s.PutProgram(ctx, ledger.Program{ID: "p4", Name: "Big spender", Currency: "156", PointCost: 1, RedemptionValue: 1,
		Loyalty: &loyalty.Rules{
			EarnRateBP: 1_000_000, TierWindowMonths: 1,
			Tiers:     []loyalty.Tier{{Name: "Gold", MultiplierBP: 20000}},
			Campaigns: []loyalty.Campaign{{ID: "always-triple", Kind: loyalty.CampaignPeriod, MultiplierBP: 30000}},
			Lots:      loyalty.LotPolicy{Kind: loyalty.LotNever},
		}}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "LOYL00000000001", ProgramID: "p3", Name: "Dept store", Home: true}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "LOYL00000000002", ProgramID: "p3", Name: "Supermarket", Home: true}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "LOYL00000000003", ProgramID: "p3", Name: "Cafe"}))
	must(s.PutMerchant(ctx, ledger.Merchant{MID: "HIGH00000000001", ProgramID: "p4", Name: "Jeweller", Home: true}))
	for _, term := range loyaltyTerminals {
		if term.LoyaltyInfo {
			var err error
			term.TMK, err = s.SealTMK(term.TID, fixtureTMK)
			must(err)
		}
		must(s.PutTerminal(ctx, term))
	}
	for _, fc := range loyaltyCards {
		c := ledger.Card{PAN: fc.pan, ProgramID: "p3", HomeMID: "LOYL00000000001", Product: "magstripe",
			State: ledger.CardActive, Expiry: fc.expiry, ServiceCode: "101", Member: ledger.Member{Name: fc.name, Registered: true}}
		if fc.mutate != nil {
			fc.mutate(&c)
		}
		must(s.PutCard(ctx, c))
		if fc.balance > 0 {
			if _, err := s.Adjust(ctx, fc.pan, fc.balance, "fixture"); err != nil {
				t.Fatal(err)
			}
		}
		if fc.state != ledger.CardActive {
			must(s.SetCardState(ctx, fc.pan, fc.state, ledger.Operator{Name: "harness", Reason: "scenario setup"}))
		}
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// tierCommand runs the loyalty steps of the loyalty scenarios:
//
//	review-tiers MONTH    the monthly tier review of MONTH (YYYY-MM)
//	tier NAME...          each card's tier and tier history
//	expire DATE           the daily expiry job for business DATE (YYYY-MM-DD)
//	lots NAME...          each card's points, available points, debt and lots
//	birthday NAME DATE    set the member's birthday (YYYY-MM-DD; no journal entry,
//	                      so the RRNs of the other files stay as they are)
func (sc *scenario) tierCommand(d *datadriven.TestData) (string, bool) {
	switch d.Cmd {
	case "expire":
		day, err := ledger.ParseBusinessDate(d.CmdArgs[0].Key)
		if err != nil {
			sc.t.Fatalf("%s: %v", d.Pos, err)
		}
		pr, err := sc.h.store.ExpireLots(context.Background(), day, nil)
		if err != nil {
			return fmt.Sprintf("error: %v\n", err), true
		}
		return fmt.Sprintf("expire %s: cards=%d expired=%d breakage=%d notices=%d already_done=%t\n",
			d.CmdArgs[0].Key, pr.Cards, pr.Expired, pr.Breakage, pr.Notices, pr.AlreadyDone), true
	case "lots":
		var out []string
		for _, a := range d.CmdArgs {
			fc, ok := cardByName(a.Key)
			if !ok {
				sc.t.Fatalf("%s: unknown card %q", d.Pos, a.Key)
			}
			v, err := sc.h.store.Member(fc.pan, 1)
			if err != nil {
				sc.t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s: points=%d available=%d debt=%d", a.Key, v.Points, v.Available, v.Debt))
			for _, l := range v.Lots {
				exp := "never"
				if !l.Expires.IsZero() { // shown in the business zone (UTC+8)
					exp = l.Expires.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04")
				}
				out = append(out, fmt.Sprintf("  lot %s: %d of %d, expires %s expired=%t", ledger.FormatRRN(l.Seq), l.Remaining, l.Points, exp, l.Expired))
			}
		}
		return strings.Join(out, "\n") + "\n", true
	case "birthday":
		fc, ok := cardByName(d.CmdArgs[0].Key)
		if !ok {
			sc.t.Fatalf("%s: unknown card %q", d.Pos, d.CmdArgs[0].Key)
		}
		c, err := sc.h.store.Card(fc.pan)
		if err != nil {
			sc.t.Fatal(err)
		}
		c.Member.Birthday = d.CmdArgs[1].Key
		if err := sc.h.store.PutCard(context.Background(), *c); err != nil {
			sc.t.Fatal(err)
		}
		return "", true
	case "review-tiers":
		st, err := sc.h.store.ReviewTiers(context.Background(), d.CmdArgs[0].Key)
		if err != nil {
			return fmt.Sprintf("error: %v\n", err), true
		}
		return fmt.Sprintf("review %s: members=%d reviewed=%d skipped=%d up=%d down=%d already_done=%t\n",
			st.Month, st.Members, st.Reviewed, st.Skipped, st.Upgraded, st.Downgraded, st.AlreadyDone), true
	case "tier":
		var out []string
		for _, a := range d.CmdArgs {
			fc, ok := cardByName(a.Key)
			if !ok {
				sc.t.Fatalf("%s: unknown card %q", d.Pos, a.Key)
			}
			v, err := sc.h.store.Member(fc.pan, 1)
			if err != nil {
				sc.t.Fatal(err)
			}
			var hist []string
			for _, h := range v.TierHistory {
				step := h.FromName + "->" + h.ToName + " " + h.Reason
				if h.Seq != 0 {
					step += " rrn=" + ledger.FormatRRN(h.Seq)
				}
				hist = append(hist, step)
			}
			out = append(out, fmt.Sprintf("%s: %s avg=%s points=%d history=[%s]", a.Key, v.TierName, v.AverageSpend, v.Points, strings.Join(hist, "; ")))
		}
		return strings.Join(out, "\n") + "\n", true
	}
	return "", false
}
