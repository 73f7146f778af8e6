package ledger

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Stored responses outlive 48 hours only while their batch is open (and a
// pre-authorization while it can still be completed); then they are
// pruned, and the same request is decided afresh.
func TestPruneIdentities(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	do(t, s, req(KindSignOn, "0800", "000001", 0, func(r *Request) { r.Batch = 0 }))
	closed := do(t, s, req(KindPurchase, "0200", "000002", 100)) // batch 1, closed below
	if closed.Err != nil {
		t.Fatal(closed.Err)
	}
	do(t, s, req(KindBatchClose, "0500", "000003", 0, func(r *Request) { r.Totals = BatchTotals{DebitCount: 1, DebitAmount: 100} }))
	open := do(t, s, req(KindPurchase, "0200", "000004", 200, func(r *Request) { r.Batch = 2 }))
	hold := do(t, s, req(KindPreAuth, "0100", "000005", 300, func(r *Request) { r.Batch = 0 }))
	if open.Err != nil || hold.Err != nil {
		t.Fatal(open.Err, hold.Err)
	}

	st, err := s.PruneIdentities(ctx, "")
	if err != nil || st.Pruned != 0 {
		t.Fatalf("before 48 h: %+v %v", st, err)
	}
	clk.t = clk.t.Add(49 * time.Hour)
	st, err = s.PruneIdentities(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// sign-on (no batch), the closed batch's purchase and its 0500 go;
	// the open batch's purchase and the pre-authorization stay.
	if st.Pruned != 3 || st.Scanned != 5 {
		t.Fatalf("after 49 h: %+v", st)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000004", 200, func(r *Request) { r.Batch = 2 })); !res.Replayed {
		t.Fatalf("open batch's response was pruned: %+v", res)
	}
	again := do(t, s, req(KindPurchase, "0200", "000002", 100))
	if again.Replayed || !errors.Is(again.Err, ErrNotAllowed) {
		t.Fatalf("pruned request in a closed batch: want decided afresh (12), got %+v", again)
	}
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatal(err, rep.Problems)
	}
}
