package gateway

import (
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// Field 63's layout, and when it is rendered: an approval of a 0100,
// 0200 or 0220 to an opted-in terminal with a tier; never otherwise.
func TestFormatTier(t *testing.T) {
	for _, c := range []struct {
		in   ledger.TierInfo
		want string
		ok   bool
	}{
		{ledger.TierInfo{Index: 1, Name: "Ruby", Discount: 200}, "LT0100200Ruby", true},
		{ledger.TierInfo{Index: 15, Name: strings.Repeat("D", 32), Discount: 10000}, "LT1510000" + strings.Repeat("D", 32), true},
		{ledger.TierInfo{Index: 0, Name: "珍珠 Pearl"}, "LT0000000?????? Pearl", true}, // UTF-8 bytes → '?'
		{ledger.TierInfo{Index: 100, Name: "x"}, "", false},
		{ledger.TierInfo{Index: -1, Name: "x"}, "", false},
		{ledger.TierInfo{Name: "x", Discount: 100000}, "", false},
		{ledger.TierInfo{Name: "x", Discount: -1}, "", false},
		{ledger.TierInfo{Name: ""}, "", false},
		{ledger.TierInfo{Name: strings.Repeat("D", 33)}, "", false},
	} {
		if got, ok := formatTier(&c.in); got != c.want || ok != c.ok {
			t.Errorf("%+v: got %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}

	tier := &ledger.TierInfo{Index: 1, Name: "Ruby", Discount: 200}
	approved := ledger.Result{RRN: "000000000017", AuthCode: "239352", Balances: &ledger.Balances{}, Tier: tier, LoyaltyInfo: true}
	for _, c := range []struct {
		name string
		mti  string
		res  ledger.Result
		want bool
	}{
		{"0200 approved, opted in", "0200", approved, true},
		{"0221 approved, opted in", "0221", approved, true},
		{"0100 approved, opted in", "0100", approved, true},
		{"not opted in", "0200", func() ledger.Result { r := approved; r.LoyaltyInfo = false; return r }(), false},
		{"no tier", "0200", func() ledger.Result { r := approved; r.Tier = nil; return r }(), false},
		{"declined", "0200", func() ledger.Result { r := approved; r.Err = ledger.ErrInsufficientFunds; return r }(), false},
		{"reversal", "0400", approved, false},
		{"batch close", "0500", approved, false},
	} {
		req := wire.NewMessage(c.mti).Set(11, "000001")
		_, has := buildResponse(req, c.res).Fields[wire.FieldLoyalty]
		if has != c.want {
			t.Errorf("%s: field 63 present %v, want %v", c.name, has, c.want)
		}
	}
}
