package ledger

import (
	"context"
	"testing"
)

// TestCardsGeneration: it moves once a change to a card record is
// committed, and not for transactions, which change accounts only (the
// gateway keeps card records while it stands still).
func TestCardsGeneration(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	g0 := s.CardsGeneration()
	if g0 == 0 {
		t.Fatal("registering a card did not move the generation")
	}
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	if res := do(t, s, req(KindPurchase, "0200", "000002", 100)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, err := s.Adjust(ctx, testPAN, 100, "test"); err != nil {
		t.Fatal(err)
	}
	if g := s.CardsGeneration(); g != g0 {
		t.Fatalf("a purchase and an adjustment moved the generation %d → %d", g0, g)
	}
	must(t, s.SetCardState(ctx, testPAN, CardFrozen, Operator{Name: "t", Reason: "test"}))
	g1 := s.CardsGeneration()
	if g1 <= g0 {
		t.Fatalf("a state change did not move the generation (%d → %d)", g0, g1)
	}
	c, err := s.Card(testPAN)
	must(t, err)
	c.Member.Name = "renamed"
	must(t, s.PutCard(ctx, *c))
	if g := s.CardsGeneration(); g <= g1 {
		t.Fatalf("re-registering did not move the generation (%d → %d)", g1, g)
	}
}
