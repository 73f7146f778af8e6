package ledger

import (
	"reflect"
	"testing"
)

// A stored answer keeps the tier it reported and the terminal's field 63
// opt-in (version 3), so that a retransmission renders byte-equal; a
// version 2 record, written before field 63, still decodes, with no tier.
func TestIdemRecordTier(t *testing.T) {
	rec := IdemRecord{
		Fingerprint: [16]byte{1, 2, 3}, MTI: "0200", Kind: KindPurchase, RRN: "000000000017", AuthCode: "239352",
		Balances: &Balances{Ledger: 100, Available: 100, Points: 7, Earned: 7}, Seq: 17, Batch: 1, At: 42,
		Tier: &TierInfo{Index: 1, Name: "Ruby", Discount: 200}, LoyaltyInfo: true,
	}
	e := encoder{}
	rec.encode(&e)
	var got IdemRecord
	if err := got.decode(e.b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("round trip: got %+v, want %+v", got, rec)
	}

	// Version 2: the same record without the tier and the opt-in.
	rec.Tier, rec.LoyaltyInfo = nil, false
	e = encoder{}
	rec.encode(&e)
	v2 := append([]byte{2}, e.b[1:len(e.b)-2]...) // drop the two false flags
	var old IdemRecord
	old.Tier = &TierInfo{Name: "stale"} // decode must reset it
	if err := old.decode(v2); err != nil {
		t.Fatalf("version 2 record: %v", err)
	}
	if !reflect.DeepEqual(old, rec) {
		t.Fatalf("version 2: got %+v, want %+v", old, rec)
	}

	// An index past any program's tiers is corruption.
	bad := IdemRecord{Tier: &TierInfo{Index: 99, Name: "x"}}
	e = encoder{}
	bad.encode(&e)
	if err := new(IdemRecord).decode(e.b); err == nil {
		t.Fatal("tier index 99 decoded")
	}
}
