package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

// tierRules: Pearl 0 ×1.0, Ruby 1000.00 ×1.5 (2 % discount), Diamond
// 5000.00 ×2.0 over a one-month window; lots never expire.
func tierRules(rubyFen Amount) *loyalty.Rules {
	return &loyalty.Rules{EarnRateBP: 10000, TierWindowMonths: 1,
		Tiers: []loyalty.Tier{
			{Name: "Pearl", MultiplierBP: 10000},
			{Name: "Ruby", ThresholdFen: rubyFen, MultiplierBP: 15000, DiscountBP: 200},
			{Name: "Diamond", ThresholdFen: 500000, MultiplierBP: 20000, DiscountBP: 500},
		},
		Lots: loyalty.LotPolicy{Kind: loyalty.LotNever}}
}

func openTiers(t *testing.T) (*Store, *fixedClock) {
	t.Helper()
	s, clk := openTest(t)
	ctx := context.Background()
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: tierRules(100000)}))
	if _, err := s.Adjust(ctx, testPAN, 490000, "top up"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	return s, clk
}

func memberTier(t *testing.T, s *Store) MemberView {
	t.Helper()
	v, err := s.Member(testPAN, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReviewTiersDowngradesOneTier: a purchase that crosses two
// thresholds upgrades at once (and earns at the new tier); after a
// quiet month the review takes the member down one tier, not two; a
// rerun changes nothing, even after the completion marker is lost (a
// run stopped before its end); the next month's review takes the next
// tier. The tier history records each move with its reason.
func TestReviewTiersDowngradesOneTier(t *testing.T) {
	s, clk := openTiers(t)
	ctx := context.Background()
	p := do(t, s, req(KindPurchase, "0200", "000002", 500000))
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	v := memberTier(t, s)
	if v.Tier != 2 || v.TierName != "Diamond" || v.Points != 10000 {
		t.Fatalf("after 5000.00: tier %d %q, points %d: want Diamond, 10000 (×2 at the new tier)", v.Tier, v.TierName, v.Points)
	}
	if len(v.TierHistory) != 1 || v.TierHistory[0].Reason != "upgrade" || v.TierHistory[0].ToName != "Diamond" || FormatRRN(v.TierHistory[0].Seq) != p.RRN {
		t.Fatalf("history %+v: want one upgrade to Diamond by rrn %s", v.TierHistory, p.RRN)
	}

	if _, err := s.ReviewTiers(ctx, "2026-11"); !errors.Is(err, ErrMonth) {
		t.Fatalf("review of the current month: %v, want ErrMonth", err)
	}
	if _, err := s.ReviewTiers(ctx, "2026-13"); !errors.Is(err, ErrMonth) {
		t.Fatalf("review of 2026-13: %v, want ErrMonth", err)
	}
	// November's own review: still Diamond (qualified).
	clk.t = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	st, err := s.ReviewTiers(ctx, "2026-11")
	if err != nil || st.Reviewed != 1 || st.Downgraded != 0 || memberTier(t, s).Tier != 2 {
		t.Fatalf("review 2026-11: %+v %v", st, err)
	}
	// A quiet December: down one tier, to Ruby.
	clk.t = time.Date(2027, 1, 2, 1, 0, 0, 0, time.UTC)
	st, err = s.ReviewTiers(ctx, "2026-12")
	if err != nil || st.Members != 1 || st.Reviewed != 1 || st.Downgraded != 1 {
		t.Fatalf("review 2026-12: %+v %v", st, err)
	}
	if v := memberTier(t, s); v.Tier != 1 || v.TierName != "Ruby" || v.DiscountBP != 200 || v.ReviewedMonth != "2026-12" {
		t.Fatalf("after the review: %+v: want Ruby", v)
	}
	st, err = s.ReviewTiers(ctx, "2026-12")
	if err != nil || !st.AlreadyDone || memberTier(t, s).Tier != 1 {
		t.Fatalf("rerun: %+v %v: want already done, still Ruby", st, err)
	}
	must(t, s.update(ctx, func(tx *tx) error { tx.del(keyTierJob("2026-12")); return nil }))
	st, err = s.ReviewTiers(ctx, "2026-12")
	if err != nil || st.AlreadyDone || st.Skipped != 1 || st.Reviewed != 0 || memberTier(t, s).Tier != 1 {
		t.Fatalf("rerun without the marker: %+v %v: want the card skipped, still Ruby", st, err)
	}
	// An earlier month after a later one is skipped too.
	if st, err = s.ReviewTiers(ctx, "2026-10"); err != nil || st.Skipped != 1 {
		t.Fatalf("review of an earlier month: %+v %v", st, err)
	}
	clk.t = time.Date(2027, 2, 1, 1, 0, 0, 0, time.UTC)
	if st, err = s.ReviewTiers(ctx, "2027-01"); err != nil || st.Downgraded != 1 {
		t.Fatalf("review 2027-01: %+v %v", st, err)
	}
	v = memberTier(t, s)
	if v.Tier != 0 || len(v.TierHistory) != 3 {
		t.Fatalf("after January: %+v", v)
	}
	for i, want := range []TierStep{{From: 0, To: 2, Reason: "upgrade"}, {From: 2, To: 1, Reason: "review"}, {From: 1, To: 0, Reason: "review"}} {
		if h := v.TierHistory[i]; h.From != want.From || h.To != want.To || h.Reason != want.Reason {
			t.Fatalf("history[%d] %+v: want %+v", i, h, want)
		}
	}
	if rep, err := s.Check(ctx); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

// TestReviewTiersUpgrades: a member who qualifies for a higher tier at
// the review (the thresholds were lowered since the purchase) moves up
// at the review; one whose current month already earns a tier keeps
// it although the reviewed month did not.
func TestReviewTiersUpgrades(t *testing.T) {
	s, clk := openTiers(t)
	ctx := context.Background()
	if res := do(t, s, req(KindPurchase, "0200", "000002", 50000)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if v := memberTier(t, s); v.Tier != 0 {
		t.Fatalf("500.00: tier %d, want Pearl", v.Tier)
	}
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: tierRules(40000)}))
	clk.t = time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	st, err := s.ReviewTiers(ctx, "2026-11")
	if err != nil || st.Upgraded != 1 {
		t.Fatalf("review: %+v %v", st, err)
	}
	v := memberTier(t, s)
	if v.Tier != 1 || v.RulesVersion != 2 || v.TierHistory[0].Reason != "review" {
		t.Fatalf("after the review: %+v: want Ruby by review under rules v2", v)
	}
	// A quiet December, but January (when December is reviewed late)
	// already earns Ruby: the review does not take it away.
	clk.t = time.Date(2027, 1, 20, 1, 0, 0, 0, time.UTC)
	if res := do(t, s, req(KindPurchase, "0200", "000003", 44000, func(r *Request) { r.Time = "0120010000" })); res.Err != nil {
		t.Fatal(res.Err)
	}
	if st, err = s.ReviewTiers(ctx, "2026-12"); err != nil || st.Reviewed != 1 || st.Downgraded != 0 {
		t.Fatalf("review 2026-12: %+v %v", st, err)
	}
	if v := memberTier(t, s); v.Tier != 1 {
		t.Fatalf("after the late review: tier %d, want Ruby (January qualifies)", v.Tier)
	}
}

// TestMemberView: the view's lots, spend, visits and earning history
// (newest first, with the rules version), and ErrNotFound for an
// unknown card.
func TestMemberView(t *testing.T) {
	s, _ := openTiers(t)
	p1 := do(t, s, req(KindPurchase, "0200", "000002", 12345))
	p2 := do(t, s, req(KindPurchase, "0200", "000003", 100000))
	if p1.Err != nil || p2.Err != nil {
		t.Fatal(p1.Err, p2.Err)
	}
	v := memberTier(t, s)
	// 123.45 at Pearl: 123; then 1000.00 crosses Ruby: 1500.
	if !v.HasRules || v.Points != 1623 || v.Available != 1623 || len(v.Lots) != 2 || v.Lots[0].Remaining+v.Lots[1].Remaining != 1623 {
		t.Fatalf("points: %+v", v)
	}
	if v.LifetimeSpend != 112345 || v.WindowSpend != 112345 || v.AverageSpend != 112345 || v.WindowMonths != 1 {
		t.Fatalf("spend: lifetime %d window %d avg %d", v.LifetimeSpend, v.WindowSpend, v.AverageSpend)
	}
	if v.VisitsMonth != 1 || v.LifetimeVisits != 1 {
		t.Fatalf("visits: month %d lifetime %d: want 1, 1 (one date)", v.VisitsMonth, v.LifetimeVisits)
	}
	if len(v.Earnings) != 2 || FormatRRN(v.Earnings[0].Seq) != p2.RRN || v.Earnings[0].Earned != 1500 || v.Earnings[0].RulesVersion != 1 {
		t.Fatalf("earnings: %+v", v.Earnings)
	}
	if v, err := s.Member(testPAN, 1); err != nil || len(v.Earnings) != 1 {
		t.Fatalf("limit 1: %d earnings, %v", len(v.Earnings), err)
	}
	if _, err := s.Member("6210000000000000018", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown card: %v", err)
	}
}
