package ledger

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// toFormat5 rewrites the closed store in dir as a format 5 build left
// it: every identity at idem/<tid>/<stan>/<field 7>, meta/version 5.
func toFormat5(t *testing.T, dir string) {
	t.Helper()
	db, err := openPebble(dir, Options{})
	must(t, err)
	defer db.Close()
	b := db.NewBatch()
	must(t, scan(db, prefixIdem, func(k, v []byte) error {
		f7, tid, stan, ok := identityParts(string(k))
		if !ok {
			return fmt.Errorf("identity key %q", k)
		}
		if err := b.Set([]byte(prefixIdemV5+tid+"/"+stan+"/"+f7), v, nil); err != nil {
			return err
		}
		return b.Delete(k, nil)
	}))
	var v [8]byte
	putU64(v[:], 5)
	must(t, b.Set([]byte(keyMetaVersion), v[:], nil))
	must(t, b.Commit(pebble.Sync))
}

// format6Story: a sign-on, purchases and a reversal that arrived before
// its original (a tombstone): identities of every kind.
func format6Story(t *testing.T, s *Store) []Result {
	t.Helper()
	var out []Result
	for i, r := range []*Request{
		req(KindSignOn, "0800", "000001", 0),
		req(KindPurchase, "0200", "000002", 100),
		req(KindPurchase, "0200", "000003", 250),
		req(KindReversal, "0400", "000005", 300, func(r *Request) { r.Orig = OrigRef{"0200", "000004", "1123100000"} }),
	} {
		res := do(t, s, r)
		if i < 3 && res.Err != nil {
			t.Fatal(res.Err)
		}
		out = append(out, res)
	}
	return out
}

// TestFormat5StoreMigrates: a format 5 store's identities move to
// format 6's keys at Open; a retransmission is answered from its stored
// answer, an original whose reversal came first is declined, a new
// identity is decided, and no idem/ key is left.
func TestFormat5StoreMigrates(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	before := format6Story(t, s)
	ids := countKeys(t, s.DB(), prefixIdem)
	must(t, s.Close())

	toFormat5(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	if n := countKeys(t, db, prefixIdemV5); n != ids || countKeys(t, db, prefixIdem) != 0 {
		t.Fatalf("format 5 store: %d idem/ keys, want %d", n, ids)
	}
	must(t, db.Close())
	if ro, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrStoreFormat) {
		if err == nil {
			ro.Close()
		}
		t.Fatalf("read-only open of a format 5 store: %v, want ErrStoreFormat", err)
	}
	s, err = Open(dir, Options{Now: clk.now})
	must(t, err)
	defer s.Close()
	if f, err := formatOf(s.DB()); err != nil || f != storeFormat || storeFormat != 6 {
		t.Fatalf("format %d %v", f, err)
	}
	if n := countKeys(t, s.DB(), prefixIdemV5); n != 0 || countKeys(t, s.DB(), prefixIdem) != ids {
		t.Fatalf("after the migration: %d idem/ keys, %d idt/ keys, want 0 and %d", n, countKeys(t, s.DB(), prefixIdem), ids)
	}
	again := do(t, s, req(KindPurchase, "0200", "000003", 250))
	if !again.Replayed || again.RRN != before[2].RRN || again.Balances.Ledger != before[2].Balances.Ledger {
		t.Fatalf("retransmission after the migration: %+v, want the stored answer %+v", again, before[2])
	}
	if res := do(t, s, req(KindPurchase, "0200", "000004", 300)); !errors.Is(res.Err, ErrDeclined) {
		t.Fatalf("original after its reversal, across the migration: %v, want ErrDeclined (05)", res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000006", 100)); res.Err != nil || res.Replayed {
		t.Fatalf("a new purchase: %+v", res)
	}
	checkOK(t, s)
}

// TestFormat6MigrationCrash: a 5 → 6 migration a crash ends after any
// number of batches leaves each identity at one key, old or new, and
// the next migration ends in the store an uninterrupted one makes.
func TestFormat6MigrationCrash(t *testing.T) {
	src := t.TempDir()
	s, _ := openTestIn(t, src, Options{})
	format6Story(t, s)
	ids := countKeys(t, s.DB(), prefixIdem)
	must(t, s.Close())
	toFormat5(t, src)

	// Each batch moves one identity: its two writes are never split.
	want := checkMigrationCrash(t, src, 5, ids-1, func(db *pebble.DB, stopAfter int) {
		if o, n := countKeys(t, db, prefixIdemV5), countKeys(t, db, prefixIdem); o+n != ids || n != stopAfter {
			t.Fatalf("stopped after %d batches: %d old and %d new identities, want %d in all", stopAfter, o, n, ids)
		}
	})
	for k := range want {
		if strings.HasPrefix(k, prefixIdemV5) {
			t.Fatalf("format 5 identity %s left", k)
		}
	}
}

// TestIdentityParts: both layouts split into field 7, terminal and
// STAN, a terminal ID with a slash in it too.
func TestIdentityParts(t *testing.T) {
	for _, tid := range []string{"T0000101", "T00/0101"} {
		f7, gotTID, stan, ok := identityParts(keyIdem(tid, "000042", "1203100000"))
		if !ok || f7 != "1203100000" || gotTID != tid || stan != "000042" {
			t.Fatalf("identityParts of %s: %q %q %q %v", tid, f7, gotTID, stan, ok)
		}
		f7, gotTID, stan, ok = identityPartsV5(prefixIdemV5 + tid + "/000042/1203100000")
		if !ok || f7 != "1203100000" || gotTID != tid || stan != "000042" {
			t.Fatalf("identityPartsV5 of %s: %q %q %q %v", tid, f7, gotTID, stan, ok)
		}
	}
	for _, bad := range []string{"idt/1203100000", "idt/", "acct/x/y"} {
		if _, _, _, ok := identityParts(bad); ok {
			t.Fatalf("identityParts(%q) ok", bad)
		}
	}
	for _, bad := range []string{"idem/T0000101", "idem/", "idt/a/b/c"} {
		if _, _, _, ok := identityPartsV5(bad); ok {
			t.Fatalf("identityPartsV5(%q) ok", bad)
		}
	}
}
