package ledger

import (
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestInKeyOrder: the sorted copy holds every record of the batch in
// key order, a key's writes in the order they were made, so that
// committing it leaves what committing the batch would; a batch with a
// range delete is left as it is.
func TestInKeyOrder(t *testing.T) {
	db, err := openPebble("/store", Options{FS: vfs.NewMem()})
	must(t, err)
	defer db.Close()
	must(t, db.Set([]byte("b"), []byte("old b"), nil))
	b := db.NewBatch()
	defer b.Close()
	must(t, b.Set([]byte("c"), []byte("c1"), nil))
	must(t, b.Set([]byte("a"), []byte("a1"), nil))
	must(t, b.Delete([]byte("b"), nil))
	must(t, b.Set([]byte("a"), []byte("a2"), nil))
	must(t, b.Set([]byte("b"), []byte("b2"), nil))
	must(t, b.Delete([]byte("c"), nil))
	var recs []batchRecord
	sorted, ok := inKeyOrder(db, b, &recs)
	if !ok {
		t.Fatal("a batch of sets and deletes not sorted")
	}
	defer sorted.Close()
	var got []string
	for r := sorted.Reader(); ; {
		kind, key, value, ok, err := r.Next()
		must(t, err)
		if !ok {
			break
		}
		got = append(got, kind.String()+" "+string(key)+" "+string(value))
	}
	want := []string{"SET a a1", "SET a a2", "DEL b ", "SET b b2", "SET c c1", "DEL c "}
	if len(got) != len(want) {
		t.Fatalf("sorted %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sorted %q, want %q", got, want)
		}
	}
	if len(recs) != 0 || cap(recs) < len(want) {
		t.Fatalf("scratch left with %d records, room for %d", len(recs), cap(recs))
	}
	must(t, sorted.Commit(pebble.Sync))
	for key, wantVal := range map[string]string{"a": "a2", "b": "b2", "c": ""} {
		v, err := readRaw(db, key)
		must(t, err)
		if string(v) != wantVal {
			t.Fatalf("%s = %q after the commit, want %q", key, v, wantVal)
		}
	}

	ranged := db.NewBatch()
	defer ranged.Close()
	must(t, ranged.Set([]byte("x"), []byte("1"), nil))
	must(t, ranged.DeleteRange([]byte("a"), []byte("b"), nil))
	if s, ok := inKeyOrder(db, ranged, &recs); ok || s != nil {
		t.Fatal("a batch with a range delete was sorted")
	}
}
