package ledger

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// toFormat3 rewrites the closed store in dir as a build before format 4
// left it: each card values record (cv/) of version 1, with the card's
// accounts and loyalty record only; its holds, security state and day
// counter in hold/<pan>, csec/<pan> and cday/<pan>/<yyyymmdd> keys (the
// counter of version 1, without its date); meta/version 3.
func toFormat3(t *testing.T, dir string) {
	t.Helper()
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
		if h := p[partHolds]; h != nil {
			must(t, b.Set([]byte(keyHolds(pan)), h, nil))
		}
		if cs := p[partSecurity]; cs != nil {
			must(t, b.Set([]byte(keyCardSec(pan)), cs, nil))
		}
		if d := p[partDay]; d != nil {
			var c CardDay
			must(t, c.decode(d))
			must(t, b.Set([]byte(keyCardDayV3(pan, c.Date)), cardDayV1(c), nil))
		}
		p[partHolds], p[partSecurity], p[partDay] = nil, nil, nil
		if rec := appendCardRecordVersion(nil, &p, 1); rec != nil {
			return b.Set(k, rec, nil)
		}
		return b.Delete(k, nil)
	}))
	var v [8]byte
	putU64(v[:], 3)
	must(t, b.Set([]byte(keyMetaVersion), v[:], nil))
	must(t, b.Commit(pebble.Sync))
}

// cardDayV1 is c as format 3 stored it: version 1, no date.
func cardDayV1(c CardDay) []byte {
	e := encoder{}
	e.u8(1)
	e.iv(c.Count)
	e.iv(int64(c.Amount))
	return e.b
}

// format4Story: loyaltyStory, then a pre-authorization (a hold) on
// testPAN, whose day count limit is then what it used today plus one,
// and a PIN unblock (security state) on the second card. It returns the
// cards.
func format4Story(t *testing.T, s *Store) []string {
	t.Helper()
	ctx := context.Background()
	pans := loyaltyStory(t, s)
	if res := do(t, s, req(KindPreAuth, "0100", "000020", 400)); res.Err != nil {
		t.Fatal(res.Err)
	}
	c, err := s.Card(testPAN)
	must(t, err)
	c.DailyCountLimit = 4 // two purchases and the pre-authorization: one more today
	must(t, s.PutCard(ctx, *c))
	must(t, s.UnblockPIN(ctx, pans[1], Operator{Name: "ops", Reason: "test"}))
	return pans
}

// format3Keys counts the keys of dir's store that format 4 keeps in the
// card's record.
func format3Keys(t *testing.T, r reader) int {
	n := 0
	for _, k := range format3CardKeys {
		n += countKeys(t, r, k.prefix)
	}
	return n
}

// TestFormat3StoreMigrates: a store as the build before format 4 left
// it, with an older day counter beside today's, opens with this one,
// which moves each card's holds, security state and latest day counter
// into its record: balances, member view and PIN state read what they
// read before, today's count limit still holds, the checker finds the
// store consistent, and no format 3 key is left.
func TestFormat3StoreMigrates(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	pans := format4Story(t, s)
	want := cardsView(t, s, pans)
	wantPIN, err := s.CardPINState(pans[1])
	must(t, err)
	today := s.businessDate(clk.now())
	checkOK(t, s)
	if n := format3Keys(t, s.DB()); n != 0 {
		t.Fatalf("format 4 store holds %d format 3 card keys", n)
	}
	must(t, s.Close())

	toFormat3(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	// A day counter of an earlier date, far over the limits: deleted,
	// and not what the limits count today.
	must(t, db.Set([]byte(keyCardDayV3(testPAN, today-1)), cardDayV1(CardDay{Count: 99, Amount: 99999}), pebble.Sync))
	if n := countKeys(t, db, prefixHolds); n != 1 {
		t.Fatalf("format 3 store: %d hold/ keys", n)
	}
	if n := countKeys(t, db, prefixCardSec); n != 1 {
		t.Fatalf("format 3 store: %d csec/ keys", n)
	}
	if n := countKeys(t, db, prefixCardDay); n != 3 {
		t.Fatalf("format 3 store: %d cday/ keys", n)
	}
	must(t, db.Close())
	if ro, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrStoreFormat) {
		if err == nil {
			ro.Close()
		}
		t.Fatalf("read-only open of a format 3 store: %v, want ErrStoreFormat", err)
	}
	s, err = Open(dir, Options{Now: clk.now})
	must(t, err)
	defer s.Close()
	if f, err := formatOf(s.DB()); err != nil || f != storeFormat {
		t.Fatalf("format %d %v", f, err)
	}
	if got := cardsView(t, s, pans); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration:\n got %+v\nwant %+v", got, want)
	}
	if got, err := s.CardPINState(pans[1]); err != nil || got != wantPIN {
		t.Fatalf("PIN state %+v %v, want %+v", got, err, wantPIN)
	}
	checkOK(t, s)
	if n := format3Keys(t, s.DB()); n != 0 {
		t.Fatalf("%d format 3 card keys left", n)
	}
	if n := countKeys(t, s.DB(), prefixCardValues); n != len(pans) {
		t.Fatalf("%d card values records, want %d", n, len(pans))
	}
	// Today's count went across: one more purchase, then the limit.
	if res := do(t, s, req(KindPurchase, "0200", "000099", 10)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000100", 10)); !errors.Is(res.Err, ErrCountLimit) {
		t.Fatalf("purchase past today's count limit: %v, want ErrCountLimit", res.Err)
	}
	checkOK(t, s)
}

// TestFormat4MigrationCrash: a 3 → 4 migration a crash ends after any
// number of batches leaves each card whole (its format 3 keys and
// record, or its current record alone), and the next migration ends in
// the store an uninterrupted one makes.
func TestFormat4MigrationCrash(t *testing.T) {
	src := t.TempDir()
	s, _ := openTestIn(t, src, Options{})
	pans := format4Story(t, s)
	must(t, s.Close())
	toFormat3(t, src)

	want := checkMigrationCrash(t, src, 3, len(pans), func(db *pebble.DB, stopAfter int) {
		migratedCards := 0
		for _, pan := range pans {
			rec, err := readRaw(db, keyCardValues(pan))
			must(t, err)
			old := 0
			for _, k := range format3CardKeys {
				old += countKeys(t, db, k.prefix+pan)
			}
			current := rec != nil && rec[0] == cardRecordVersion
			if current == (old > 0) {
				t.Fatalf("stopped after %d batches: card %s has a current record %v and %d format 3 keys", stopAfter, cardnum.Mask(pan), current, old)
			}
			if current {
				migratedCards++
			}
		}
		if migratedCards != stopAfter {
			t.Fatalf("stopped after %d batches: %d cards migrated", stopAfter, migratedCards)
		}
	})
	// The migration leaves no format 3 key.
	for k := range want {
		if strings.HasPrefix(k, prefixHolds) || strings.HasPrefix(k, prefixCardSec) || strings.HasPrefix(k, prefixCardDay) {
			t.Fatalf("format 3 key %s left", keyKind(k))
		}
	}
}

// TestCheckFlagsFormat3CardKeys: a format 3 card key or record in a
// format 4 store (a migration that did not finish, a hand-made change)
// is reported.
func TestCheckFlagsFormat3CardKeys(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		key        string
		val        func(v []byte) []byte
	}{
		{"hold key", "a hold/ key", keyHolds(testPAN), func([]byte) []byte { return Holds{}.encodeBytes() }},
		{"security key", "a csec/ key", keyCardSec(testPAN), func([]byte) []byte { return (&CardSecurity{}).encodeBytes() }},
		{"day counter key", "a cday/ key", keyCardDayV3(testPAN, 20261122), func([]byte) []byte { return cardDayV1(CardDay{Count: 1}) }},
		{"version 1 record", "version 1", keyCardValues(testPAN), func(v []byte) []byte {
			p, err := decodeCardRecord(v)
			must(t, err)
			p[partHolds], p[partSecurity], p[partDay] = nil, nil, nil
			return appendCardRecordVersion(nil, &p, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			do(t, s, req(KindSignOn, "0800", "000001", 0))
			if res := do(t, s, req(KindPurchase, "0200", "000002", 100)); res.Err != nil {
				t.Fatal(res.Err)
			}
			checkOK(t, s)
			rec, err := readRaw(s.DB(), keyCardValues(testPAN))
			must(t, err)
			must(t, s.DB().Set([]byte(tc.key), tc.val(rec), pebble.Sync))
			rep, err := s.Check(ctx)
			must(t, err)
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("want a problem with %q, got %q", tc.want, rep.Problems)
			}
			for _, p := range rep.Problems {
				if strings.Contains(p, testPAN) {
					t.Errorf("problem shows the clear PAN: %s", cardnum.Mask(p))
				}
			}
		})
	}
}

// encodeBytes renders a record, for the tests.
func (h Holds) encodeBytes() []byte {
	e := encoder{}
	h.encode(&e)
	return e.b
}

func (c *CardSecurity) encodeBytes() []byte {
	e := encoder{}
	c.encode(&e)
	return e.b
}
