package ledger

// keyorder.go: a group's batch handed to Pebble in key order.
//
// Pebble applies a committed batch to its memtable, a skiplist of a few
// hundred thousand keys, with one Inserter for the whole batch. The
// Inserter remembers where its last key went (its splice) and starts the
// next key's search there when the splice still brackets it; otherwise
// the search starts from the top of the list, a cache miss a level in a
// running host. A group's batch is in decision order — a request's
// identity, its journal entry, its card's record, then the next
// request's — so every search started from the top: memTable.apply was
// 7–9 µs of host CPU a purchase at 256 × 1. In key order a group's
// journal entries follow one another, and its identities, keyed by
// field 7 first (store format 6), mostly do too: their searches start
// next door. The committer sorts a copy of the batch by key, each key's
// writes kept in batch order (the later one wins, as in the batch the
// writer made).
//
// Sorting alone, with format 5's identities keyed by terminal first,
// saved nothing: their places in the skiplist were as far apart as in
// decision order (docs/performance.md, "The memtable insert").

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// batchRecord is one record of a batch: its kind, key and value (slices
// of the batch's encoding) and its place in the batch.
type batchRecord struct {
	kind       pebble.InternalKeyKind
	key, value []byte
	n          int
}

// maxSortedRecords bounds the records the committer sorts: a larger
// batch (an operator's bulk change) is committed as the writer made it.
const maxSortedRecords = 64 * maxOpsPerBatch

// inKeyOrder is b's records in key order, in a new batch of db, and
// true; or nil and false when b holds a kind other than Set and Delete
// or more than maxSortedRecords records, and is to be committed as it
// is. recs is the committer's scratch, reused from group to group.
func inKeyOrder(db *pebble.DB, b *pebble.Batch, recs *[]batchRecord) (*pebble.Batch, bool) {
	if b.Count() > maxSortedRecords {
		return nil, false
	}
	list := (*recs)[:0]
	defer func() {
		clear(list) // drop the slices of b's encoding
		*recs = list[:0]
	}()
	for r := b.Reader(); ; {
		kind, key, value, ok, err := r.Next()
		if err != nil {
			return nil, false
		}
		if !ok {
			break
		}
		if kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindDelete {
			return nil, false
		}
		list = append(list, batchRecord{kind, key, value, len(list)})
	}
	slices.SortFunc(list, func(a, b batchRecord) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.n - b.n // a key's writes in the order they were made
	})
	sorted := db.NewBatchWithSize(len(b.Repr()))
	for _, rec := range list {
		var err error
		if rec.kind == pebble.InternalKeyKindSet {
			err = sorted.Set(rec.key, rec.value, nil)
		} else {
			err = sorted.Delete(rec.key, nil)
		}
		if err != nil { // only a closed batch refuses a write
			sorted.Close()
			return nil, false
		}
	}
	return sorted, true
}
