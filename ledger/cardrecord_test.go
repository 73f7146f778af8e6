package ledger

import (
	"bytes"
	"testing"

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

func TestCardRecordCodec(t *testing.T) {
	for _, p := range []cardParts{
		{[]byte("sv"), []byte("pt"), []byte("wal")},
		{nil, []byte("pt"), nil},
		{[]byte{}, nil, []byte("w")}, // empty is not absent
		{bytes.Repeat([]byte{7}, 300), nil, bytes.Repeat([]byte{8}, 70000)},
	} {
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
	if _, err := decodeCardRecord([]byte{2, 0, 0, 0}); err == nil {
		t.Fatal("unknown version decoded")
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
		keyAccount(accountMerchantSV("m")): {},
		keyWalletPage(testPAN, 0):          {},
		keyHolds(testPAN):                  {},
	} {
		part, pan, ok := mergedPart(key)
		if part != want.part || pan != want.pan || ok != want.ok {
			t.Fatalf("%s: %d %q %v, want %+v", key, part, pan, ok, want)
		}
	}
}
