package ledger

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
)

// encodeMembershipV2 renders m as a version 2 membership with the
// merchants seen inside it, as stores written before mbv/<pan> hold it.
func encodeMembershipV2(m *Membership, mids []string) []byte {
	e := encoder{}
	e.u8(2)
	e.uv(uint64(m.Tier))
	e.uv(uint64(len(m.TierHistory)))
	for _, h := range m.TierHistory {
		e.iv(h.At)
		e.uv(uint64(h.From))
		e.uv(uint64(h.To))
		e.uv(h.Seq)
	}
	e.uv(uint64(m.VisitMonth))
	e.bytes(m.VisitDays)
	e.uv(uint64(len(mids)))
	for _, mid := range mids {
		e.str(mid)
	}
	e.boolean(false)
	e.iv(int64(m.BirthdayBonusYear))
	e.uv(uint64(len(m.Spend)))
	for _, s := range m.Spend {
		e.uv(uint64(s.Month))
		e.iv(int64(s.Amount))
	}
	e.iv(int64(m.LifetimeSpend))
	e.iv(m.LifetimeVisits)
	e.uv(uint64(m.ReviewedMonth))
	return e.b
}

// TestMerchantsSeenMoveOutOfTheMembership: a card whose membership
// (version 2) still holds the merchants seen keeps them: a purchase at
// one of them earns no first-visit bonus, and the next write of the
// record moves them to mbv/<pan>; a purchase at a new merchant earns
// the bonus once and adds the merchant; the checker agrees throughout.
func TestMerchantsSeenMoveOutOfTheMembership(t *testing.T) {
	s, _, pans := propStore(t)
	ctx := context.Background()
	pan := pans[1]
	for _, tid := range []string{testTID, propTID2} {
		r := req(KindSignOn, "0800", "000001", 0, func(r *Request) { r.TID, r.MID = tid, terminalMIDOf(tid) })
		if res := do(t, s, r); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	stan := 10
	buy := func(tid string) *Txn {
		t.Helper()
		stan++
		r := &Request{Kind: KindPurchase, MTI: "0200", ProcCode: "000000", TID: tid, MID: terminalMIDOf(tid),
			STAN: fmt.Sprintf("%06d", stan), Time: "1123100000", PAN: pan, Amount: 1000, Batch: 1}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s|%d", tid, stan))
		r.Fingerprint = [16]byte(sum[:16])
		res := do(t, s, r)
		if res.Err != nil {
			t.Fatalf("purchase at %s: %v", tid, res.Err)
		}
		x, err := s.TxnByRRN(res.RRN)
		if err != nil || x == nil {
			t.Fatalf("journal entry %s: %v", res.RRN, err)
		}
		return x
	}
	first := func(x *Txn) bool { return slices.Contains(x.Campaigns, "first") }

	if x := buy(testTID); first(x) {
		t.Fatalf("a purchase at %s, outside the campaign's merchants, got the first-visit bonus", testMID)
	}
	// Rewrite the membership as a version 2 record naming propMID2 as
	// seen, as an older build would have after a visit there.
	raw, err := s.dbGet(keyWallet(pan))
	must(t, err)
	mbr, wal, _, err := loyaltyParts(raw)
	must(t, err)
	var m Membership
	must(t, m.decode(mbr))
	must(t, s.update(ctx, func(tx *tx) error {
		e := encoder{}
		appendLoyaltyRecord(&e, encodeMembershipV2(&m, []string{testMID, propMID2}), wal)
		tx.set(keyWallet(pan), e.b)
		tx.del(keyVisited(pan))
		return nil
	}))
	if x := buy(propTID2); first(x) {
		t.Fatal("a merchant the legacy membership had seen gave a first-visit bonus again")
	}
	v, err := s.dbGet(keyVisited(pan))
	must(t, err)
	var got visitedMerchants
	must(t, got.decode(v))
	if !slices.Equal(got.MIDs, []string{testMID, propMID2}) {
		t.Fatalf("merchants seen after the move: %v", got.MIDs)
	}
	raw, err = s.dbGet(keyWallet(pan))
	must(t, err)
	if mbr, _, _, _ = loyaltyParts(raw); mbr[0] != 3 {
		t.Fatalf("membership written as version %d, want 3 (without the merchants)", mbr[0])
	}

	// A card never seen at propMID2 gets the bonus once.
	pan = pans[2]
	if x := buy(propTID2); !first(x) {
		t.Fatal("a first purchase at the campaign's merchant got no first-visit bonus")
	}
	if x := buy(propTID2); first(x) {
		t.Fatal("a second purchase at the same merchant got the first-visit bonus again")
	}
	rep, err := s.Check(ctx)
	must(t, err)
	if !rep.OK() {
		t.Fatalf("checker: %v", rep.Problems)
	}
}

// TestVisitedHasMatchesDecode: the no-decode lookup agrees with the
// decoded record, and a record past maxMerchantsSeen counts as full.
func TestVisitedHasMatchesDecode(t *testing.T) {
	v := &visitedMerchants{}
	for i := range maxMerchantsSeen + 2 {
		v.add(fmt.Sprintf("M%014d", i))
	}
	if len(v.MIDs) != maxMerchantsSeen || !v.Full {
		t.Fatalf("%d merchants, full %v: want %d and full", len(v.MIDs), v.Full, maxMerchantsSeen)
	}
	e := encoder{}
	v.encode(&e)
	for _, mid := range []string{"M00000000000000", "M00000000000255", "M00000000000999", "other"} {
		got, err := visitedHas(e.b, mid)
		if err != nil || got != v.seen(mid) {
			t.Fatalf("visitedHas(%s) = %v, %v; decoded says %v", mid, got, err, v.seen(mid))
		}
	}
	if _, err := visitedHas(e.b[:len(e.b)-1], "x"); err == nil {
		t.Fatal("a cut record was read")
	}
}
