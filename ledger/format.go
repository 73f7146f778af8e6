package ledger

// format.go: the store's format (meta/version) and the migration, at
// Open, of a store an older build wrote.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// storeFormat is the layout this build writes:
//
//  1. (no meta/version) every journal entry had two index keys: by
//     business date and merchant (jd/<yyyymmdd>/<mid>/<seq 16 hex>) and
//     by card (jc/<pan>/<seq 16 hex>).
//  2. A business date's entries are runs of sequence numbers (jr/, one
//     key a date), a card's history a chain through its entries
//     (Txn.CardPrev) from its stored-value account (Account.LastEntry):
//     a purchase writes two keys fewer. Format 1's jc/ keys stay, read
//     for the entries older than a card's chain; its jd/ keys are
//     replaced by runs.
//  3. A card's stored-value account (acct/sv/<pan>), points account
//     (acct/pt/<pan>) and loyalty record (wal/<pan>) are one key, its
//     card values record (cv/<pan>, cardrecord.go): a loyalty purchase,
//     which changes all three, writes two keys fewer. The logical keys
//     are still what everything above the Pebble boundary names.
//  4. A card's holds (hold/<pan>), security state (csec/<pan>) and day
//     counter are parts of its card values record too, in its version
//     2 (format 3's is 1). The day counter is one a card (cday/<pan>,
//     the business date inside), where format 3 wrote one key a card a
//     day (cday/<pan>/<yyyymmdd>) and never deleted them: a purchase
//     writes one card key, and a card's first use reads its values
//     with one Pebble read (format 3: three or four). The migration
//     (format4.go) folds each card's latest day counter into its
//     record, so that an upgrade in the middle of a business date keeps
//     that date's limits.
//  5. A group writes its aggregates' after-images (terminal batches,
//     merchant and program accounts) as one key, alog/<16 hex>, and a
//     checkpoint (every second) writes them at their own keys
//     (aggregatelog.go); Open applies what is left of the log. Nothing
//     is moved: the step only writes meta/version, so that an older
//     build, which would ignore alog/, refuses the store.
//  6. A request's identity is keyed idt/<field 7>/<tid>/<stan>, where
//     formats 1–5 keyed it idem/<tid>/<stan>/<field 7>: the requests of
//     a group commit carry field 7s of the same few seconds, so their
//     identities sit together in key order and Pebble's memtable finds
//     each one's place from the last one's (keyorder.go). The migration
//     (format6.go) moves every identity, its record unchanged.
//
// Open migrates an older store before the writer starts; a store of a
// later format (a newer build's) is refused.
const storeFormat = 6

// ErrStoreFormat: the store's format is not one this build opens as it
// is: a newer build's, or an older one opened read-only.
var ErrStoreFormat = errors.New("ledger: store format")

// prefixByDateV1 is format 1's date index, which migration replaces.
const prefixByDateV1 = "jd/"

// migrationBatchKeys bounds the keys one synced batch of a migration
// writes.
const migrationBatchKeys = 1024

// formatOf reads the store's format (1 when meta/version is absent).
func formatOf(r pebble.Reader) (uint64, error) {
	v, err := readKey(r, keyMetaVersion)
	if err != nil || v == nil {
		return 1, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("ledger: meta/version: %w", errCorrupt)
	}
	return u64(v), nil
}

// checkFormat refuses a store of a format this build does not read: a
// later one, or (read-only, so not migrated) an earlier one.
func checkFormat(db *pebble.DB, readOnly bool) error {
	f, err := formatOf(db)
	switch {
	case err != nil:
		return err
	case f > storeFormat:
		return fmt.Errorf("%w %d: this build reads format %d; open it with the build that wrote it", ErrStoreFormat, f, storeFormat)
	case f < storeFormat && readOnly:
		return fmt.Errorf("%w %d, this build's is %d: open the store read-write once (serve) to migrate it", ErrStoreFormat, f, storeFormat)
	}
	return nil
}

// errMigrationStopped: migrate stopped where it was asked to (a test's
// crash).
var errMigrationStopped = errors.New("ledger: migration stopped")

// migrate brings db to storeFormat. Each step is one synced batch of at
// most batchKeys keys, and meta/version is written last, with the final
// step: a crash at any instant leaves a store that the next Open
// migrates again from its start, and every step writes what it wrote
// before, so a migration that is run twice, or again after a crash, ends
// in the same store. stopAfter > 0 stops it after that many batches, as
// a crash would (errMigrationStopped; tests).
func migrate(db *pebble.DB, log zerolog.Logger, batchKeys, stopAfter int) error {
	f, err := formatOf(db)
	if err != nil || f >= storeFormat {
		return err
	}
	w := &migrationWriter{db: db, batchKeys: batchKeys, stopAfter: stopAfter}
	if f < 2 {
		if err := migrateRuns(db, log, w); err != nil {
			return err
		}
	}
	if f < 3 {
		if err := migrateCardValues(db, log, w); err != nil {
			return err
		}
	}
	if f < 4 {
		if err := migrateCardParts(db, log, w); err != nil {
			return err
		}
	}
	if f < 5 {
		// Format 4 to 5 has nothing to move (the aggregate log starts
		// empty).
		if err := w.setVersion(5); err != nil {
			return err
		}
	}
	return migrateIdentities(db, log, w)
}

// migrateRuns is format 1 to 2: the journal's runs (jr/) replace its
// date index (jd/).
func migrateRuns(db *pebble.DB, log zerolog.Logger, w *migrationWriter) error {
	start := time.Now()
	runs, entries, err := migrationRuns(db)
	if err != nil {
		return fmt.Errorf("ledger: migrate store format 1 to 2: %w", err)
	}
	// The runs of an attempt a crash ended are written again, exactly.
	w.b = db.NewBatch()
	if err := w.b.DeleteRange([]byte(prefixRun), prefixEnd(prefixRun), nil); err != nil {
		return err
	}
	for _, r := range runs {
		v := make([]byte, 8)
		putU64(v, uint64(r.date))
		if err := w.set(keyRun(r.first), v); err != nil {
			return err
		}
	}
	if err := w.b.DeleteRange([]byte(prefixByDateV1), prefixEnd(prefixByDateV1), nil); err != nil {
		return err
	}
	if err := w.setVersion(2); err != nil {
		return err
	}
	log.Info().Uint64("from", 1).Uint64("to", 2).Int("journal_entries", entries).Int("runs", len(runs)).
		Dur("took", time.Since(start)).Msg("ledger: store format migrated")
	return nil
}

// prefixIters opens an iterator over each prefix's keys in r, each at
// its first key: a migration walks several prefixes side by side, in
// PAN order. closeAll closes them.
func prefixIters(r pebble.Reader, prefixes []string) (its []*pebble.Iterator, closeAll func(), err error) {
	closeAll = func() {
		for _, it := range its {
			it.Close()
		}
	}
	for _, prefix := range prefixes {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd(prefix)})
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		it.First()
		its = append(its, it)
	}
	return its, closeAll, nil
}

// migrateCardValues is format 2 to 3: each card's acct/sv/, acct/pt/
// and wal/ keys become its card values record (cv/), the card's keys
// in one batch (the record written, the three deleted). A crashed
// attempt left whole cards migrated, which have no format 2 key left,
// and whole cards not, which this one migrates. The records are of this
// build's version, whose other parts the step to format 4 fills.
func migrateCardValues(db *pebble.DB, log zerolog.Logger, w *migrationWriter) error {
	start := time.Now()
	snap := db.NewSnapshot()
	defer snap.Close()
	its, closeIters, err := prefixIters(snap, mergedPrefixes[:numFormat3Parts])
	if err != nil {
		return err
	}
	defer closeIters()
	// panOf is the card of part's iterator ("" when it is done).
	panOf := func(part int) string {
		if !its[part].Valid() {
			return ""
		}
		return string(its[part].Key()[len(mergedPrefixes[part]):])
	}
	cards := 0
	for {
		// The three walk the cards in PAN order: the least PAN is the
		// next card.
		pan := ""
		for part := range its {
			if p := panOf(part); p != "" && (pan == "" || p < pan) {
				pan = p
			}
		}
		if pan == "" {
			break
		}
		parts, err := readCardParts(snap, pan) // none, unless this card was split by hand
		if err != nil {
			return fmt.Errorf("ledger: migrate store format 2 to 3: %w", err)
		}
		keys := make([]kv, 0, numFormat3Parts+1)
		for part, it := range its {
			if panOf(part) == pan {
				parts[part] = slices.Clone(it.Value())
				keys = append(keys, kv{key: string(it.Key()), del: true})
				it.Next()
			}
		}
		keys = append(keys, kv{key: keyCardValues(pan), val: encodeCardRecord(&parts)})
		if err := w.setAll(keys); err != nil {
			return err
		}
		cards++
	}
	if err := w.finishWalk(its, 3); err != nil {
		return err
	}
	log.Info().Uint64("from", 2).Uint64("to", 3).Int("cards", cards).
		Dur("took", time.Since(start)).Msg("ledger: store format migrated")
	return nil
}

// migrationWriter commits a migration's writes in synced batches of at
// most batchKeys keys.
type migrationWriter struct {
	db                   *pebble.DB
	b                    *pebble.Batch
	n                    int
	batchKeys, stopAfter int
	batches              int
}

func (w *migrationWriter) set(k string, v []byte) error {
	return w.setAll([]kv{{key: k, val: v}})
}

// setAll writes keys in one batch: the current one when they fit in
// it, else the next (even when they are more than batchKeys: what must
// change together is never split).
func (w *migrationWriter) setAll(keys []kv) error {
	if w.b != nil && w.n > 0 && w.n+len(keys) > w.batchKeys {
		if err := w.commit(); err != nil {
			return err
		}
	}
	if w.b == nil {
		w.b = w.db.NewBatch()
	}
	for _, k := range keys {
		w.n++
		var err error
		if k.del {
			err = w.b.Delete([]byte(k.key), nil)
		} else {
			err = w.b.Set([]byte(k.key), k.val, nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finishWalk ends a step that walked its: an iterator that stopped on
// an error means keys were not seen, so the step is not done; else
// meta/version is set to f.
func (w *migrationWriter) finishWalk(its []*pebble.Iterator, f uint64) error {
	for _, it := range its {
		if err := it.Error(); err != nil {
			return fmt.Errorf("ledger: migrate store format %d to %d: %w", f-1, f, err)
		}
	}
	return w.setVersion(f)
}

// setVersion writes meta/version, the step's last key, and commits.
func (w *migrationWriter) setVersion(f uint64) error {
	var v [8]byte
	putU64(v[:], f)
	if err := w.set(keyMetaVersion, v[:]); err != nil {
		return err
	}
	return w.commit()
}

func (w *migrationWriter) commit() error {
	err := commitSync(w.b)
	w.b.Close()
	w.b, w.n = nil, 0
	if err != nil {
		return fmt.Errorf("ledger: migration: %w", err)
	}
	if w.batches++; w.stopAfter > 0 && w.batches >= w.stopAfter {
		return errMigrationStopped
	}
	return nil
}

// dateDigest sums the sequence numbers of one business date's entries,
// so that two lists of them compare without being kept.
type dateDigest struct {
	n        int
	sum, mix uint64
}

func (d *dateDigest) add(seq uint64) {
	d.n++
	d.sum += seq
	d.mix ^= seq * 0x9e3779b97f4a7c15 // any odd multiplier spreads the bits
}

// migrationRuns computes format 2's runs from the journal: the entries
// format 1 booked (in jd/) are every entry but settlement ones, and a run
// starts wherever the booked date changes. The runs are checked against
// jd/: for every date the same entries, or the store is not migrated
// (settlement would change).
func migrationRuns(db *pebble.DB) ([]run, int, error) {
	snap := db.NewSnapshot()
	defer snap.Close()
	var runs []run
	booked := map[uint32]*dateDigest{}
	entries := 0
	shared := names{}
	err := scan(snap, prefixTxn, func(_, v []byte) error {
		var t Txn
		if err := t.decodeShared(v, &shared); err != nil {
			return err
		}
		entries++
		if t.Kind == KindSettlement {
			return nil
		}
		if len(runs) == 0 || runs[len(runs)-1].date != t.BizDate {
			runs = append(runs, run{first: t.Seq, date: t.BizDate})
		}
		dg := booked[t.BizDate]
		if dg == nil {
			dg = &dateDigest{}
			booked[t.BizDate] = dg
		}
		dg.add(t.Seq)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	indexed := map[uint32]*dateDigest{}
	err = scan(snap, prefixByDateV1, func(k, _ []byte) error {
		rest := k[len(prefixByDateV1):]
		if len(rest) < 8+1+1+17 || rest[8] != '/' || rest[len(rest)-17] != '/' {
			return fmt.Errorf("bad date index key: %w", errCorrupt)
		}
		date, err := strconv.ParseUint(string(rest[:8]), 10, 32)
		seq, ok := parseHex16(string(rest[len(rest)-16:]))
		if err != nil || !ok {
			return fmt.Errorf("bad date index key: %w", errCorrupt)
		}
		dg := indexed[uint32(date)]
		if dg == nil {
			dg = &dateDigest{}
			indexed[uint32(date)] = dg
		}
		dg.add(seq)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	for _, d := range sortedDates(booked, indexed) {
		b, i := booked[d], indexed[d]
		if b == nil || i == nil || *b != *i {
			nb, ni := 0, 0
			if b != nil {
				nb = b.n
			}
			if i != nil {
				ni = i.n
			}
			return nil, 0, fmt.Errorf("business date %d: the journal books %d entries on it, its index (jd/) holds %d or others; the store is left as it was: %w",
				d, nb, ni, errCorrupt)
		}
	}
	return runs, entries, nil
}

// sortedDates are the dates of a and b, in order.
func sortedDates(a, b map[uint32]*dateDigest) []uint32 {
	seen := map[uint32]bool{}
	var out []uint32
	for _, m := range []map[uint32]*dateDigest{a, b} {
		for d := range m {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return out
}
