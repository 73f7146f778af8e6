package ledger

// format6.go: the migration of a format 5 store's identities to format
// 6's keys (format.go lists the formats).

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// migrateIdentities is format 5 to 6: every stored identity moves from
// idem/<tid>/<stan>/<field 7> to idt/<field 7>/<tid>/<stan> (keyIdem),
// its record unchanged. An identity's new key and its old key's delete
// are one batch, so a crashed attempt left each identity at one of the
// two, and this one moves those still at the old.
func migrateIdentities(db *pebble.DB, log zerolog.Logger, w *migrationWriter) error {
	start := time.Now()
	snap := db.NewSnapshot()
	defer snap.Close()
	its, closeIters, err := prefixIters(snap, []string{prefixIdemV5})
	if err != nil {
		return err
	}
	defer closeIters()
	moved := 0
	for it := its[0]; it.Valid(); it.Next() {
		old := string(it.Key())
		f7, tid, stan, ok := identityPartsV5(old)
		if !ok {
			return fmt.Errorf("ledger: migrate store format 5 to 6: identity key %q: %w", old, errCorrupt)
		}
		// The batch copies the value before the iterator moves on.
		if err := w.setAll([]kv{{key: keyIdem(tid, stan, f7), val: it.Value()}, {key: old, del: true}}); err != nil {
			return err
		}
		moved++
	}
	if err := w.finishWalk(its, 6); err != nil {
		return err
	}
	log.Info().Uint64("from", 5).Uint64("to", 6).Int("identities", moved).
		Dur("took", time.Since(start)).Msg("ledger: store format migrated")
	return nil
}
