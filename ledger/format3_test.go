package ledger

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cockroachdb/pebble/v2"
)

// toFormat2 rewrites the closed store in dir as a build before format 3
// left it: as format 3 (toFormat3), then each card values record (cv/)
// split into the card's acct/sv/, acct/pt/ and wal/ keys, meta/version
// 2.
func toFormat2(t *testing.T, dir string) {
	t.Helper()
	toFormat3(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	defer db.Close()
	b := db.NewBatch()
	must(t, scan(db, prefixCardValues, func(k, v []byte) error {
		pan := string(k[len(prefixCardValues):])
		p, err := decodeCardRecord(v)
		if err != nil {
			return err
		}
		for part, val := range p {
			if val != nil {
				must(t, b.Set([]byte(mergedPrefixes[part]+pan), val, nil))
			}
		}
		return b.Delete(k, nil)
	}))
	var v [8]byte
	putU64(v[:], 2)
	must(t, b.Set([]byte(keyMetaVersion), v[:], nil))
	must(t, b.Commit(pebble.Sync))
}

// loyaltyStory: two cards of a loyalty program with stored value,
// points, lots and memberships; it returns the cards.
func loyaltyStory(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	rules := &loyalty.Rules{EarnRateBP: 10000, NoticeDays: 5, TierWindowMonths: 1,
		Tiers: []loyalty.Tier{{Name: "Pearl", MultiplierBP: 10000}, {Name: "Ruby", ThresholdFen: 500, MultiplierBP: 15000}},
		Lots:  loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: 10}}
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
	if _, err := s.AdjustPoints(ctx, testPAN, 100, "welcome"); err != nil {
		t.Fatal(err)
	}
	second := "621000000000002" + string(cardnum.LuhnDigit("621000000000002"))
	must(t, s.PutCard(ctx, testCard(second)))
	if _, err := s.Adjust(ctx, second, 50000, "opening"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	for i, pan := range []string{testPAN, second, testPAN} {
		r := req(KindPurchase, "0200", fmt.Sprintf("%06d", 10+i), Amount(300+i), func(r *Request) { r.PAN = pan })
		if res := do(t, s, r); res.Err != nil {
			t.Fatalf("purchase %d: %v", i, res.Err)
		}
	}
	return []string{testPAN, second}
}

// cardsView is what the operator reads of the cards: balances and the
// member view.
func cardsView(t *testing.T, s *Store, pans []string) map[string][2]any {
	t.Helper()
	out := map[string][2]any{}
	for _, pan := range pans {
		b, err := s.CardBalances(pan)
		must(t, err)
		m, err := s.Member(pan, 10)
		must(t, err)
		out[pan] = [2]any{b, m}
	}
	return out
}

// TestFormat2StoreMigrates: a store as the build before format 3 left it
// opens with this one, which moves each card's accounts and loyalty
// record into its card values record: the balances, the member view and
// the checker read what they read before, and no format 2 key is left.
func TestFormat2StoreMigrates(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	pans := loyaltyStory(t, s)
	want := cardsView(t, s, pans)
	checkOK(t, s)
	if n := countKeys(t, s.DB(), prefixWallet) + countKeys(t, s.DB(), prefixAccount+"sv/"); n != 0 {
		t.Fatalf("format 3 store holds %d format 2 card keys", n)
	}
	must(t, s.Close())

	toFormat2(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	if countKeys(t, db, prefixWallet) != 2 || countKeys(t, db, prefixAccount+"pt/") != 2 || countKeys(t, db, prefixCardValues) != 0 {
		t.Fatalf("format 2 store: %d wal/, %d acct/pt/, %d cv/", countKeys(t, db, prefixWallet), countKeys(t, db, prefixAccount+"pt/"), countKeys(t, db, prefixCardValues))
	}
	must(t, db.Close())
	if ro, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrStoreFormat) {
		if err == nil {
			ro.Close()
		}
		t.Fatalf("read-only open of a format 2 store: %v, want ErrStoreFormat", err)
	}
	s, err = Open(dir, Options{Now: clk.now})
	must(t, err)
	defer s.Close()
	if got := cardsView(t, s, pans); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration:\n got %+v\nwant %+v", got, want)
	}
	checkOK(t, s)
	if f, err := formatOf(s.DB()); err != nil || f != storeFormat {
		t.Fatalf("format %d %v", f, err)
	}
	for _, p := range mergedPrefixes {
		if n := countKeys(t, s.DB(), p); n != 0 {
			t.Fatalf("%d %s keys left", n, p)
		}
	}
	if n := countKeys(t, s.DB(), prefixCardValues); n != len(pans) {
		t.Fatalf("%d card values records, want %d", n, len(pans))
	}
	if res := do(t, s, req(KindPurchase, "0200", "000099", 10)); res.Err != nil {
		t.Fatal(res.Err)
	}
	checkOK(t, s)
}

// TestFormat3MigrationCrash: a 2 → 3 migration a crash ends after any
// number of batches leaves each card whole (all its format 2 keys, or
// its record), and the next migration ends in the store an uninterrupted
// one makes.
func TestFormat3MigrationCrash(t *testing.T) {
	src := t.TempDir()
	s, _ := openTestIn(t, src, Options{})
	loyaltyStory(t, s)
	must(t, s.Close())
	toFormat2(t, src)

	// The step to 4 has not started when the step to 3 stops.
	checkMigrationCrash(t, src, 2, 2, func(db *pebble.DB, stopAfter int) {
		for _, pan := range []string{testPAN, "621000000000002" + string(cardnum.LuhnDigit("621000000000002"))} {
			rec, err := readRaw(db, keyCardValues(pan))
			must(t, err)
			old := 0
			for _, p := range mergedPrefixes[:numFormat3Parts] {
				if v, _ := readRaw(db, p+pan); v != nil {
					old++
				}
			}
			if (rec == nil) == (old == 0) {
				t.Fatalf("stopped after %d batches: card %s has a record %v and %d format 2 keys", stopAfter, pan, rec != nil, old)
			}
		}
	})
}
