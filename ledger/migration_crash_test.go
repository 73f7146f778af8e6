package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// checkMigrationCrash migrates copies of the closed store in src (of
// format from), in batches of one key group: once to the end, then for
// every n in 1..stops stopped after n batches, as a crash would stop it
// — the format still from, and stopped(db, n) checks what the stop left
// — and then to the end. Every one must end in the store the
// uninterrupted migration made, which it returns, key by key.
func checkMigrationCrash(t *testing.T, src string, from uint64, stops int, stopped func(db *pebble.DB, n int)) map[string]string {
	t.Helper()
	migrated := func(stopAfter int) map[string]string {
		dir := filepath.Join(t.TempDir(), "store")
		must(t, os.CopyFS(dir, os.DirFS(src)))
		db, err := openPebble(dir, Options{})
		must(t, err)
		defer db.Close()
		if stopAfter > 0 {
			if err := migrate(db, zerolog.Nop(), 1, stopAfter); !errors.Is(err, errMigrationStopped) {
				t.Fatalf("stopped after %d batches: %v", stopAfter, err)
			}
			if f, _ := formatOf(db); f != from {
				t.Fatalf("stopped after %d batches: format %d, want %d", stopAfter, f, from)
			}
			stopped(db, stopAfter)
		}
		must(t, migrate(db, zerolog.Nop(), 1, 0))
		out := map[string]string{}
		it, err := db.NewIter(nil)
		must(t, err)
		for it.First(); it.Valid(); it.Next() {
			out[string(it.Key())] = string(it.Value())
		}
		must(t, it.Close())
		return out
	}
	want := migrated(0)
	for stop := 1; stop <= stops; stop++ {
		if got := migrated(stop); !reflect.DeepEqual(got, want) {
			t.Fatalf("stopped after %d batches, then migrated: %d keys, want %d (or other values)", stop, len(got), len(want))
		}
	}
	return want
}
