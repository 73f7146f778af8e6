package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestProgramLoyaltyRules: operators see a program's rules and their
// version; a PUT without rules keeps them (like the IMK); a PUT with
// changed rules makes the next version and the earlier one stays
// readable; bad rules are refused naming the field, changing nothing.
func TestProgramLoyaltyRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pv, err := e.client.Program(ctx, "mallcoalition")
	if err != nil || pv.Loyalty == nil || pv.Loyalty.Version != 1 || len(pv.Loyalty.Tiers) != 3 {
		t.Fatalf("program view: %+v %v", pv, err)
	}
	rules := pv.Loyalty

	// Without rules in the body: kept, same version.
	pv.Loyalty, pv.Name = nil, "Renamed"
	got, err := e.client.PutProgram(ctx, *pv)
	if err != nil || got.Loyalty == nil || got.Loyalty.Version != 1 || got.Name != "Renamed" {
		t.Fatalf("put without rules: %+v %v", got, err)
	}

	// The same rules with another version in the body: unchanged.
	same := *rules
	same.Version = 9
	pv.Loyalty = &same
	if got, err = e.client.PutProgram(ctx, *pv); err != nil || got.Loyalty.Version != 1 {
		t.Fatalf("put of the same rules: %+v %v", got.Loyalty, err)
	}

	// A changed campaign: version 2.
	changed := *rules
	changed.Campaigns = append(changed.Campaigns[:0:0], changed.Campaigns...)
	changed.Campaigns[0].MultiplierBP = 30000
	pv.Loyalty = &changed
	if got, err = e.client.PutProgram(ctx, *pv); err != nil || got.Loyalty.Version != 2 || got.Loyalty.Campaigns[0].MultiplierBP != 30000 {
		t.Fatalf("put of changed rules: %+v %v", got.Loyalty, err)
	}
	if v1, err := e.store.LoyaltyRules("mallcoalition", 1); err != nil || v1.Campaigns[0].MultiplierBP != 20000 {
		t.Fatalf("version 1 after the change: %+v %v", v1, err)
	}

	// Bad rules: 400 naming the field by its JSON path; nothing changes.
	st, eb, _ := e.raw("PUT", "/v1/programs/mallcoalition", e.token,
		strings.NewReader(`{"currency":"156","loyalty":{"earn_rate_bp":10000,"lots":{"kind":"never"},"tiers":[{"name":"Pearl","threshold_fen":100,"multiplier_bp":10000}]}}`))
	if st != http.StatusBadRequest || eb.Field != "loyalty.tier_window_months" || len(eb.Errors) != 2 ||
		eb.Errors[1].Path != "loyalty.tiers[0].threshold_fen" {
		t.Fatalf("bad rules: %d %+v", st, eb)
	}
	if p, _ := e.store.Program("mallcoalition"); p.Loyalty.Version != 2 {
		t.Fatalf("a refused PUT changed the rules: version %d", p.Loyalty.Version)
	}
}
