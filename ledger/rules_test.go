package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

func testRules() *loyalty.Rules {
	return &loyalty.Rules{
		EarnRateBP:       10000,
		TierWindowMonths: 3,
		Tiers: []loyalty.Tier{
			{Name: "Pearl", MultiplierBP: 10000},
			{Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 15000, DiscountBP: 300},
		},
		Campaigns: []loyalty.Campaign{
			{ID: "december-double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, From: "2026-12-01", To: "2026-12-31"},
		},
		Lots:       loyalty.LotPolicy{Kind: loyalty.LotEndOfMonth, Months: 12},
		NoticeDays: 30,
	}
}

// TestRulesVersions: identical rules keep their version; a change gets
// the next one and every earlier version stays readable, across a
// restart; a record without rules keeps the stored ones; the version a
// caller sends is ignored.
func TestRulesVersions(t *testing.T) {
	dir := t.TempDir()
	clk := &fixedClock{time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s, err := Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	version := func(s *Store) int {
		t.Helper()
		p, err := s.Program("p1")
		if err != nil || p.Loyalty == nil {
			t.Fatalf("program: %+v %v", p, err)
		}
		return p.Loyalty.Version
	}

	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156"}))
	if p, _ := s.Program("p1"); p.Loyalty != nil {
		t.Fatalf("rules from nowhere: %+v", p.Loyalty)
	}
	if _, err := s.LoyaltyRules("p1", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 1 before any rules: %v", err)
	}

	r1 := testRules()
	r1.Version = 7 // ignored: the store assigns versions
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Loyalty: r1}))
	if v := version(s); v != 1 {
		t.Fatalf("first rules: version %d, want 1", v)
	}
	if r1.Version != 7 {
		t.Fatalf("PutProgram modified the caller's rules")
	}
	// The same rules again, and a program record without rules (a
	// rename): version 1 stays.
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Loyalty: testRules()}))
	must(t, s.PutProgram(ctx, Program{ID: "p1", Name: "renamed", Currency: "156"}))
	if v := version(s); v != 1 {
		t.Fatalf("unchanged rules: version %d, want 1", v)
	}
	if _, err := s.LoyaltyRules("p1", 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("version 2 of unchanged rules: %v", err)
	}

	// A campaign changes: version 2; version 1 is still there as it was.
	r2 := testRules()
	r2.Campaigns[0].MultiplierBP = 30000
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Loyalty: r2}))
	if v := version(s); v != 2 {
		t.Fatalf("changed rules: version %d, want 2", v)
	}
	must(t, s.Close())

	s, err = Open(dir, Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got1, err := s.LoyaltyRules("p1", 1)
	if err != nil || got1.Version != 1 || got1.Campaigns[0].MultiplierBP != 20000 {
		t.Fatalf("version 1: %+v %v", got1, err)
	}
	got2, err := s.LoyaltyRules("p1", 2)
	if err != nil || got2.Version != 2 || got2.Campaigns[0].MultiplierBP != 30000 {
		t.Fatalf("version 2: %+v %v", got2, err)
	}
	if p, _ := s.Program("p1"); p.Name != "" || p.Loyalty.Campaigns[0].MultiplierBP != 30000 {
		t.Fatalf("current: %+v", p)
	}
	// Back to the first rules is a change too: version 3, not 1 again
	// (earnings under 2 happened in between).
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Loyalty: testRules()}))
	if v := version(s); v != 3 {
		t.Fatalf("rules back to the first: version %d, want 3", v)
	}
	for _, v := range []int{0, -1, 4} {
		if _, err := s.LoyaltyRules("p1", v); !errors.Is(err, ErrNotFound) {
			t.Errorf("version %d: %v, want not found", v, err)
		}
	}
	if _, err := s.LoyaltyRules("p2", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown program: %v", err)
	}
}

// TestPutProgramRefusesBadRules: the store refuses rules that do not
// validate, naming the field, and keeps what it had.
func TestPutProgramRefusesBadRules(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	bad := testRules()
	bad.Tiers[1].ThresholdFen = 0
	err := s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Loyalty: bad})
	var fe loyalty.FieldErrors
	if !errors.As(err, &fe) || fe[0].Path != "tiers[1].threshold_fen" {
		t.Fatalf("bad rules: %v", err)
	}
	if p, _ := s.Program("p1"); p.Loyalty != nil {
		t.Fatalf("bad rules stored: %+v", p.Loyalty)
	}
	if _, err := s.LoyaltyRules("p1", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bad rules kept in the history: %v", err)
	}
}
