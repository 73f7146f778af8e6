package ledger

import (
	"context"
	"errors"
	"testing"
)

// A purchase with refunds cannot be voided or reversed: undoing it would
// give back its whole amount although the refunds already gave back part
// of it. The refunds are undone first; then the purchase may be.
func TestUndoOfARefundedPurchase(t *testing.T) {
	s, _ := openTest(t)
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	before, err := s.CardBalances(testPAN)
	must(t, err)
	p := do(t, s, req(KindPurchase, "0200", "000002", 1000))
	rf := do(t, s, req(KindRefund, "0200", "000003", 300, func(r *Request) { r.OrigRRN = p.RRN }))
	if p.Err != nil || rf.Err != nil {
		t.Fatalf("purchase %v, refund %v", p.Err, rf.Err)
	}
	orig := func(stan string) reqOpt {
		return func(r *Request) { r.Orig = OrigRef{"0200", stan, "1123100000"} }
	}
	if res := do(t, s, req(KindVoid, "0200", "000004", 1000, orig("000002"))); !errors.Is(res.Err, ErrNotAllowed) {
		t.Fatalf("void of a refunded purchase: %v, want ErrNotAllowed", res.Err)
	}
	if res := do(t, s, req(KindReversal, "0400", "000005", 1000, orig("000002"))); !errors.Is(res.Err, ErrNotAllowed) {
		t.Fatalf("reversal of a refunded purchase: %v, want ErrNotAllowed", res.Err)
	}
	// Undo the refund, then the purchase: back where the card started.
	if res := do(t, s, req(KindVoid, "0200", "000006", 300, orig("000003"))); res.Err != nil {
		t.Fatalf("void of the refund: %v", res.Err)
	}
	if res := do(t, s, req(KindVoid, "0200", "000007", 1000, orig("000002"))); res.Err != nil {
		t.Fatalf("void of the purchase after its refund's void: %v", res.Err)
	}
	after, err := s.CardBalances(testPAN)
	must(t, err)
	if after.Ledger != before.Ledger || after.Available != before.Available {
		t.Fatalf("balances %+v, want %+v", after, before)
	}
	rep, err := s.Check(context.Background())
	must(t, err)
	if !rep.OK() {
		t.Fatalf("checker: %v", rep.Problems)
	}
}
