package gateway

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

func TestFormatBalances(t *testing.T) {
	got, err := formatBalances(&ledger.Balances{Ledger: 97500, Available: -1, Points: ledger.MaxAmount, Earned: 3, Debited: 2})
	want := "0001156C000000097500" + "0002156D000000000001" + "9002999C999999999999" + "9090999C000000000003" + "9091999D000000000002"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	// Past 12 digits either way, and the int64 ends (math.MinInt64 has no
	// absolute value), in every entry: refused, never clamped or cut.
	for _, v := range []int64{ledger.MaxAmount + 1, -ledger.MaxAmount - 1, math.MaxInt64, math.MinInt64} {
		for i, b := range []ledger.Balances{
			{Ledger: ledger.Amount(v)}, {Available: ledger.Amount(v)}, {Points: ledger.Points(v)},
			{Earned: ledger.Points(v)}, {Debited: ledger.Points(v)},
		} {
			if s, err := formatBalances(&b); !errors.Is(err, errField54) || s != "" {
				t.Errorf("entry %d = %d: got %q, %v", i, v, s, err)
			}
		}
	}
}

// An approval whose balances field 54 cannot carry is answered 96 without
// 37, 38 or 54; one that fits is answered 00 with them.
func TestBuildResponseUnrepresentableBalance(t *testing.T) {
	req := wire.NewMessage("0200")
	req.Fields[3], req.Fields[4], req.Fields[11] = "000000", "000000000100", "000001"
	res := ledger.Result{RRN: "000000000001", AuthCode: "123456", Balances: &ledger.Balances{Ledger: math.MinInt64}}
	out := buildResponse(req, res)
	if out.Fields[39] != "96" || out.Fields[37] != "" || out.Fields[38] != "" || out.Fields[54] != "" {
		t.Errorf("unrepresentable balance: %v", out.Fields)
	}
	res.Balances = &ledger.Balances{Ledger: ledger.MaxAmount, Available: ledger.MaxAmount}
	out = buildResponse(req, res)
	if out.Fields[39] != "00" || out.Fields[37] != res.RRN || len(out.Fields[54]) != 60 {
		t.Errorf("balance at the top: %v", out.Fields)
	}
}

func TestOutOfRangeIsADecline(t *testing.T) {
	err := fmt.Errorf("batch 000001 of tid T0000101 totals: %w", ledger.ErrOutOfRange)
	if rc := ResponseCode(err); rc != "13" {
		t.Errorf("ErrOutOfRange → %s, want 13", rc)
	}
}
