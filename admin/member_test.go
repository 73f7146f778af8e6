package admin

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// TestMemberLoyalty: the member view shows tier, lots and earnings with
// the PAN masked (assertNoSecrets checks every body for a clear PAN);
// the tier review runs through the API once per month and refuses a
// month that has not ended, naming the field.
func TestMemberLoyalty(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pan := e.pan("alice") // the demo gives her 500 points
	if _, err := e.client.Adjust(ctx, pan, AdjustRequest{Points: 250, Note: "welcome"}); err != nil {
		t.Fatal(err)
	}
	v, err := e.client.CardLoyalty(ctx, pan, 10)
	if err != nil {
		t.Fatal(err)
	}
	if v.PAN != cardnum.Mask(pan) || !v.HasRules || v.ProgramID != "mallcoalition" || v.TierName != "Pearl" ||
		v.Points != 750 || v.Available != 750 || len(v.Lots) != 2 || v.Lots[1].Remaining != 250 ||
		v.Lots[1].Expires == nil || v.WindowMonths != 3 || v.Limit != 10 ||
		len(v.Earnings) != 2 || v.Earnings[0].Earned != 250 || v.Earnings[0].Kind != "adjust" {
		t.Fatalf("view: %+v", v)
	}
	if st, eb, _ := e.raw("GET", "/v1/cards/"+pan+"/loyalty?limit=0", e.token, nil); st != http.StatusBadRequest || eb.Field != "limit" {
		t.Fatalf("limit 0: %d %+v", st, eb)
	}
	if st, _, _ := e.raw("GET", "/v1/cards/6210000000009996/loyalty", e.token, nil); st != http.StatusNotFound {
		t.Fatalf("unknown card: %d", st)
	}

	month := e.store.LastEndedMonth()
	st, err := e.client.ReviewTiers(ctx, month)
	// The demo's cards have no memberships yet (no purchase): the
	// review finds none; the ledger's tests cover what it changes.
	if err != nil || st.Month != month || st.Members != 0 || st.AlreadyDone {
		t.Fatalf("review %s: %+v %v", month, st, err)
	}
	if st, err = e.client.ReviewTiers(ctx, month); err != nil || !st.AlreadyDone {
		t.Fatalf("rerun: %+v %v", st, err)
	}
	for _, bad := range []string{`{"month":"2026-13"}`, `{"month":"9999-01"}`, `{}`} {
		if code, eb, _ := e.raw("POST", "/v1/loyalty/review-tiers", e.token, strings.NewReader(bad)); code != http.StatusBadRequest || eb.Field != "month" {
			t.Fatalf("%s: %d %+v", bad, code, eb)
		}
	}
}
