package ledger

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// A stored answer keeps the tier it reported and the terminal's field 63
// opt-in (version 3), so that a retransmission renders byte-equal; a
// version 2 record, written before field 63, still decodes, with no tier.
// Version 4 leaves out the RRN and approval code, which are its Seq's.
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
	if e.b[0] != 4 {
		t.Fatalf("record version %d, want 4", e.b[0])
	}
	v4 := len(e.b)
	if os.Getenv("CARDCENTER_WRITE_SEEDS") != "" {
		path := filepath.Join(fuzzseed.Dir("FuzzRecordDecode"), "idem-v4")
		must(t, os.WriteFile(path, []byte("go test fuzz v1\n[]byte("+strconv.Quote(string(e.b))+")\n"), 0o644))
	}

	// Version 3: the same record with the strings; the same record with
	// strings not its Seq's is written so.
	head := 1 + 16 + 1 + len(rec.MTI) + 2 // version, fingerprint, MTI, kind, code
	v3 := append([]byte{3}, e.b[1:head]...)
	v3 = append(append(append(v3, 12), rec.RRN...), 6)
	v3 = append(append(v3, rec.AuthCode...), e.b[head:]...)
	var old3 IdemRecord
	if err := old3.decode(v3); err != nil || !reflect.DeepEqual(old3, rec) {
		t.Fatalf("version 3 record: %+v %v", old3, err)
	}
	if len(v3)-v4 != 20 {
		t.Fatalf("version 4 saves %d bytes, want 20", len(v3)-v4)
	}
	odd := rec
	odd.AuthCode = "000000"
	e = encoder{}
	odd.encode(&e)
	if err := got.decode(e.b); err != nil || e.b[0] != 3 || !reflect.DeepEqual(got, odd) {
		t.Fatalf("a record with another approval code: version %d, %+v %v", e.b[0], got, err)
	}

	// Version 2: a version 3 record without the tier and the opt-in.
	rec.Tier, rec.LoyaltyInfo = nil, false
	rec.RRN = "000000000018" // not its Seq's: written as version 3
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
