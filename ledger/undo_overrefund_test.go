package ledger

import (
	"context"
	"errors"
	"testing"

	"github.com/cardcenter/cardcenter/loyalty"
)

// Reversing the void of a refund re-applies the refund. When later
// refunds of the same purchase have refunded it since, that would refund
// more than the purchase cost: declined 13, nothing changes (contract
// section 3: the sum of refunds never exceeds the original). Found by
// make soak: the card gained the difference (with points earned the
// points take-back overflowed instead and the host answered 96).
func TestReversalOfAVoidedRefundCannotOverRefund(t *testing.T) {
	s, _ := openTest(t)
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	orig := func(stan string) reqOpt {
		return func(r *Request) { r.Orig = OrigRef{"0200", stan, "1123100000"} }
	}
	p := do(t, s, req(KindPurchase, "0200", "000002", 1000))
	r1 := do(t, s, req(KindRefund, "0200", "000003", 800, func(r *Request) { r.OrigRRN = p.RRN }))
	v := do(t, s, req(KindVoid, "0200", "000004", 800, orig("000003")))
	r2 := do(t, s, req(KindRefund, "0200", "000005", 1000, func(r *Request) { r.OrigRRN = p.RRN }))
	if p.Err != nil || r1.Err != nil || v.Err != nil || r2.Err != nil {
		t.Fatalf("purchase %v, refund %v, its void %v, full refund %v", p.Err, r1.Err, v.Err, r2.Err)
	}
	before, err := s.CardBalances(testPAN)
	must(t, err)
	if res := do(t, s, req(KindReversal, "0400", "000006", 800, orig("000004"))); !errors.Is(res.Err, ErrBadAmount) {
		t.Fatalf("reversal of the refund's void after a full refund: %v, want ErrBadAmount (13)", res.Err)
	}
	after, err := s.CardBalances(testPAN)
	must(t, err)
	if after != before {
		t.Fatalf("balances %+v after the declined reversal, want %+v", after, before)
	}
	rep, err := s.Check(context.Background())
	must(t, err)
	if !rep.OK() {
		t.Fatalf("checker: %v", rep.Problems)
	}

	// Within the purchase's amount the reversal still re-applies the refund.
	s2, _ := openTest(t)
	do(t, s2, req(KindSignOn, "0800", "000001", 0))
	p = do(t, s2, req(KindPurchase, "0200", "000002", 1000))
	do(t, s2, req(KindRefund, "0200", "000003", 300, func(r *Request) { r.OrigRRN = p.RRN }))
	do(t, s2, req(KindVoid, "0200", "000004", 300, orig("000003")))
	do(t, s2, req(KindRefund, "0200", "000005", 700, func(r *Request) { r.OrigRRN = p.RRN }))
	if res := do(t, s2, req(KindReversal, "0400", "000006", 300, orig("000004"))); res.Err != nil {
		t.Fatalf("reversal of the refund's void within the amount: %v", res.Err)
	}
	b, err := s2.CardBalances(testPAN)
	must(t, err)
	if b.Ledger != 10000 {
		t.Fatalf("ledger balance %d after purchase 1000 and refunds 300 + 700, want the opening 10000", b.Ledger)
	}
}

// A refund after an undone refund of the same purchase is approved. The
// void gives back exactly what its refund took back, so the refunds
// still in force can have taken back more than the cumulative
// floor(earned × refunded / original): on 1 point earned by 1.00,
// refunds of 0.50 (0 points) and 0.50 (1 point), the first voided, leave
// 0.50 refunded with 1 point taken back where floor(0.5) is 0. The next
// refund takes back nothing (loyalty.RefundTakeBack). Found by make
// soak, where it was answered 96 ("points already taken back").
func TestRefundAfterAnUndoneRefundIsApproved(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	rules := &loyalty.Rules{EarnRateBP: 10000, Lots: loyalty.LotPolicy{Kind: loyalty.LotNever}}
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	p := do(t, s, req(KindPurchase, "0200", "000002", 100))
	if p.Err != nil || p.Balances.Earned != 1 {
		t.Fatalf("purchase of 1.00: %v, earned %d, want 1 point", p.Err, p.Balances.Earned)
	}
	refund := func(stan string, amount Amount) Result {
		return do(t, s, req(KindRefund, "0200", stan, amount, func(r *Request) { r.OrigRRN = p.RRN }))
	}
	steps := []struct {
		name    string
		res     Result
		debited Points
	}{
		{"refund 0.50", refund("000003", 50), 0},
		{"refund 0.50", refund("000004", 50), 1},
		{"void of the first refund", do(t, s, req(KindVoid, "0200", "000005", 50, func(r *Request) { r.Orig = OrigRef{"0200", "000003", "1123100000"} })), 0},
		{"refund 0.01 after the void", refund("000006", 1), 0},
		{"refund 0.49, in full", refund("000007", 49), 0},
	}
	for _, st := range steps {
		if st.res.Err != nil {
			t.Fatalf("%s: %v", st.name, st.res.Err)
		}
		if st.res.Balances.Debited != st.debited {
			t.Fatalf("%s took back %d points, want %d", st.name, st.res.Balances.Debited, st.debited)
		}
	}
	b, err := s.CardBalances(testPAN)
	must(t, err)
	if b.Points != 0 {
		t.Fatalf("points %d after the purchase's refund in full, want 0 (its 1 point taken back once)", b.Points)
	}
	rep, err := s.Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("checker: %v", rep.Problems)
	}
}
