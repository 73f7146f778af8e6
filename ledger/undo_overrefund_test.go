package ledger

import (
	"context"
	"errors"
	"testing"
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
