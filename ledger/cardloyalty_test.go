package ledger

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
)

// TestLoyaltyRecordMovesLegacyMembership: a card stored before the
// loyalty record held the membership (wallet alone at wal/<pan>,
// membership at mbr/<pan>) reads the same, and its next purchase writes
// one version 3 record and deletes mbr/<pan>, losing nothing of either.
func TestLoyaltyRecordMovesLegacyMembership(t *testing.T) {
	s, _, pans := propStore(t)
	ctx := context.Background()
	pan := pans[1]
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	buy := func(stan string, amount Amount) {
		t.Helper()
		r := &Request{Kind: KindPurchase, MTI: "0200", ProcCode: "000000", TID: testTID, MID: testMID, STAN: stan,
			Time: "1123100000", PAN: pan, Amount: amount, Batch: 1}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d", stan, amount))
		r.Fingerprint = [16]byte(sum[:16])
		if res := do(t, s, r); res.Err != nil {
			t.Fatalf("purchase %s: %v", stan, res.Err)
		}
	}
	buy("000002", 1000)

	// Rewrite the record as an older build left it.
	raw, err := s.dbGet(keyWallet(pan))
	must(t, err)
	mbr, wal, legacy, err := loyaltyParts(raw)
	if err != nil || legacy {
		t.Fatalf("a new record is version 3: legacy=%v %v", legacy, err)
	}
	w, _, err := decodeWallet(wal, pagesFrom(nil))
	must(t, err)
	must(t, s.update(ctx, func(tx *tx) error {
		tx.set(keyWallet(pan), encodeWalletV2(w)) // what builds before the pages wrote
		tx.set(keyMembership(pan), append([]byte(nil), mbr...))
		return nil
	}))
	old, err := readCardLoyalty(s.dbGet, pan)
	must(t, err)
	if !old.Legacy || old.Membership.LifetimeSpend != 1000 || len(old.Wallet.Lots) != 1 {
		t.Fatalf("legacy record read as legacy=%v spend %d lots %d", old.Legacy, old.Membership.LifetimeSpend, len(old.Wallet.Lots))
	}

	buy("000003", 2500)
	cl, err := readCardLoyalty(s.dbGet, pan)
	must(t, err)
	if cl.Legacy || cl.Membership.LifetimeSpend != 3500 || len(cl.Wallet.Lots) != 2 {
		t.Fatalf("after a purchase: legacy=%v spend %d lots %d; want the membership moved in, spend 3500, 2 lots",
			cl.Legacy, cl.Membership.LifetimeSpend, len(cl.Wallet.Lots))
	}
	if gone, err := s.dbGet(keyMembership(pan)); err != nil || gone != nil {
		t.Fatalf("mbr/<pan> still stored after the move (%v)", err)
	}
	rep, err := s.Check(ctx)
	must(t, err)
	if len(rep.Problems) != 0 {
		t.Fatalf("checker: %v", rep.Problems)
	}
}

func TestVisitDates(t *testing.T) {
	var md monthDates
	var out [maxVisitDays]string
	m := Membership{VisitMonth: 202612, VisitDays: []uint8{1, 15, 31}}
	got := m.visitDatesInto(&md, &out, 202612)
	if want := []string{"2026-12-01", "2026-12-15", "2026-12-31"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("visit dates %v, want %v", got, want)
	}
	if got := m.visitDatesInto(&md, &out, 202701); got != nil {
		t.Fatalf("another month's visits: %v", got)
	}
	// The writer's dates of one month serve the next month's too, and a
	// corrupt day is spelled as recorded, for the rules to refuse.
	next := Membership{VisitMonth: 202701, VisitDays: []uint8{2, 0}}
	got = next.visitDatesInto(&md, &out, 202701)
	if want := []string{"2027-01-02", "2027-01-00"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("next month's dates %v, want %v", got, want)
	}
}
