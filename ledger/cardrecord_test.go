package ledger

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// setStored writes key's value straight to Pebble, past the writer, as a
// disk fault or a tampering would: a merged logical key (cardrecord.go)
// as its part of the card's values record.
func setStored(db *pebble.DB, key string, val []byte) error {
	part, pan, ok := mergedPart(key)
	if !ok {
		return db.Set([]byte(key), val, pebble.Sync)
	}
	p, err := readCardParts(db, pan)
	if err != nil {
		return err
	}
	p[part] = val
	if rec := encodeCardRecord(&p); rec != nil {
		return db.Set([]byte(keyCardValues(pan)), rec, pebble.Sync)
	}
	return db.Delete([]byte(keyCardValues(pan)), pebble.Sync)
}

// cardRecordSeeds are parts of records of every shape: each part alone,
// all of them, empty ones (the fuzz target's seeds: short).
var cardRecordSeeds = []cardParts{
	{[]byte("sv"), []byte("pt"), []byte("wal"), []byte("hold"), []byte("csec"), []byte("cday")},
	{[]byte("sv"), []byte("pt"), []byte("wal")},
	{nil, []byte("pt"), nil},
	{[]byte{}, nil, []byte("w")}, // empty is not absent
	{partHolds: []byte("h")},
	{partSecurity: []byte{}},
	{partDay: []byte("d")},
}

func TestCardRecordCodec(t *testing.T) {
	long := cardParts{bytes.Repeat([]byte{7}, 300), nil, bytes.Repeat([]byte{8}, 70000), nil, nil, bytes.Repeat([]byte{9}, 200)}
	for _, p := range append(cardRecordSeeds, long) {
		rec := encodeCardRecord(&p)
		got, err := decodeCardRecord(rec)
		if err != nil {
			t.Fatalf("%q: %v", rec, err)
		}
		for i := range p {
			if (p[i] == nil) != (got[i] == nil) || !bytes.Equal(p[i], got[i]) {
				t.Fatalf("part %d: got %q, want %q", i, got[i], p[i])
			}
		}
		// A truncated record, or one with bytes after its parts, is
		// corrupt.
		for _, bad := range [][]byte{rec[:len(rec)-1], append(bytes.Clone(rec), 0)} {
			if _, err := decodeCardRecord(bad); err == nil {
				t.Fatalf("%q decoded", bad)
			}
		}
	}
	if rec := encodeCardRecord(&cardParts{}); rec != nil {
		t.Fatalf("no part: %q, want nil (a delete)", rec)
	}
	for _, v := range [][]byte{{0, 0, 0, 0}, {3, 0, 0, 0, 0, 0, 0}, {0xff}} {
		if _, err := decodeCardRecord(v); err == nil {
			t.Fatalf("unknown version %d decoded", v[0])
		}
	}
	for _, v := range [][]byte{{cardRecordVersion, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0}} {
		if _, err := decodeCardRecord(v); err == nil {
			t.Fatalf("a record of version %d without parts decoded", v[0])
		}
	}
	// Format 3's version 1 holds the first three parts, and reads as a
	// record whose other parts are absent.
	v1 := cardParts{[]byte("sv"), nil, []byte("wal")}
	rec := appendCardRecordVersion(nil, &v1, 1)
	if !bytes.Equal(rec, []byte("\x01\x03sv\x00\x04wal")) {
		t.Fatalf("version 1 record %q", rec)
	}
	if got, err := decodeCardRecord(rec); err != nil || !reflect.DeepEqual(got, v1) {
		t.Fatalf("version 1 record: %q %v, want %q", got, err, v1)
	}
	if _, err := decodeCardRecord(append(rec, 0)); err == nil {
		t.Fatal("version 1 record with a fourth part decoded")
	}
}

func TestMergedPart(t *testing.T) {
	for key, want := range map[string]struct {
		part int
		pan  string
		ok   bool
	}{
		keyAccount(accountSV(testPAN)):     {partSV, testPAN, true},
		keyAccount(accountPoints(testPAN)): {partPoints, testPAN, true},
		keyWallet(testPAN):                 {partWallet, testPAN, true},
		keyHolds(testPAN):                  {partHolds, testPAN, true},
		keyCardSec(testPAN):                {partSecurity, testPAN, true},
		keyCardDay(testPAN):                {partDay, testPAN, true},
		keyAccount(accountMerchantSV("m")): {},
		keyWalletPage(testPAN, 0):          {},
		keyVisited(testPAN):                {},
	} {
		part, pan, ok := mergedPart(key)
		if part != want.part || pan != want.pan || ok != want.ok {
			t.Fatalf("%s: %d %q %v, want %+v", key, part, pan, ok, want)
		}
	}
}

// TestBlindCardWrite: a write of one part of a card whose record the
// writer never read keeps the other parts; deleting every part deletes
// the record.
func TestBlindCardWrite(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestIn(t, dir, Options{})
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000002", 100)); res.Err != nil {
		t.Fatal(res.Err)
	}
	sv := keyAccount(accountSV(testPAN))
	before, err := s.dbGet(sv)
	if err != nil || before == nil {
		t.Fatalf("stored value %q %v", before, err)
	}
	must(t, s.Close())
	s, err = Open(dir, Options{}) // nothing cached
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	// A points account with no transfers: the checker (build tag
	// invariants) finds the store consistent all along.
	pt := keyAccount(accountPoints(testPAN))
	zero := &Account{ID: accountPoints(testPAN), Unit: UnitPoints}
	must(t, s.update(ctx, func(t *tx) error { t.put(pt, zero); return nil }))
	e := encoder{}
	zero.encode(&e)
	want := e.b
	for key, want := range map[string][]byte{sv: before, pt: want} {
		if got, err := s.dbGet(key); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: %q %v, want %q", keyKind(key), got, err, want)
		}
	}
	// A card with nothing but that account, which is deleted: its record
	// is.
	other := "621000000000002" + string(cardnum.LuhnDigit("621000000000002"))
	must(t, s.update(ctx, func(t *tx) error {
		t.put(keyAccount(accountPoints(other)), &Account{ID: accountPoints(other), Unit: UnitPoints})
		return nil
	}))
	if v, err := readRaw(s.DB(), keyCardValues(other)); err != nil || v == nil {
		t.Fatalf("record of a card with a points account: %q %v", v, err)
	}
	must(t, s.update(ctx, func(t *tx) error { t.del(keyAccount(accountPoints(other))); return nil }))
	if v, err := readRaw(s.DB(), keyCardValues(other)); err != nil || v != nil {
		t.Fatalf("record of a card with no part: %q %v", v, err)
	}
}

// FuzzCardRecord: any bytes decode to parts or to errCorrupt, never a
// panic; whatever decodes (this build's version or format 3's) encodes
// back, in this build's version, to a record that decodes to the same
// parts.
func FuzzCardRecord(f *testing.F) {
	for _, p := range cardRecordSeeds {
		f.Add(encodeCardRecord(&p))
		v1 := p
		v1[partHolds], v1[partSecurity], v1[partDay] = nil, nil, nil
		f.Add(appendCardRecordVersion(nil, &v1, 1))
	}
	f.Add([]byte{cardRecordVersion, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{cardRecordVersion, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, rec []byte) {
		p, err := decodeCardRecord(rec)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("%q: %v, want errCorrupt", rec, err)
			}
			return
		}
		again, err := decodeCardRecord(encodeCardRecord(&p))
		if err != nil {
			t.Fatalf("%q re-encoded: %v", rec, err)
		}
		for i := range p {
			if (p[i] == nil) != (again[i] == nil) || !bytes.Equal(p[i], again[i]) {
				t.Fatalf("%q part %d: %q after a round trip, want %q", rec, i, again[i], p[i])
			}
		}
	})
}
