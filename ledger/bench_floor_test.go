package ledger

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// BenchmarkPebbleFloor measures what Pebble alone costs for the writes
// of a durable purchase, with no decision at all: the same three keys
// a warm purchase writes (its identity record, its journal entry and
// its card's values record, one of benchCards cards), of about the
// sizes BenchmarkPurchase reports (wal-B/op), in groups committed by
// one goroutine while the next group is built — handed over whenever
// the committer is idle, at most maxOpsPerBatch, as the writer does —
// synced or not, on a Pebble opened as the store opens it
// (openPebble). Its decisions/s is a ceiling no decision code can pass
// on the machine: issue 10's "writer alone" goal is measured against
// it in docs/performance.md. (Building the keys is counted too, so the
// floor is, if anything, low.)
func BenchmarkPebbleFloor(b *testing.B) {
	for _, synced := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", synced), func(b *testing.B) { benchPebbleFloor(b, synced) })
	}
}

func benchPebbleFloor(b *testing.B, synced bool) {
	db, err := openPebble(b.TempDir(), Options{CacheBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	wo := pebble.Sync
	if !synced {
		wo = pebble.NoSync
	}
	idemVal, txnVal, cardVal := make([]byte, 20), make([]byte, 190), make([]byte, 80)
	commits := make(chan *pebble.Batch)
	done := make(chan error)
	go func() {
		var err error
		var recs []batchRecord
		for batch := range commits {
			if err == nil {
				// In key order, as the committer commits (keyorder.go).
				if sorted, ok := inKeyOrder(db, batch, &recs); ok {
					err = sorted.Commit(wo)
					sorted.Close()
				} else {
					err = batch.Commit(wo)
				}
			}
			batch.Close()
		}
		done <- err
	}()
	var key []byte
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	start := time.Now()
	batch := db.NewBatch()
	for i := 0; i < b.N; i++ {
		key = fmt.Appendf(key[:0], "%s1203%06d/B%07d/%06d", prefixIdem, i/1_000_000, i%benchTerminals, i%1_000_000) // keyIdem's layout
		must(b, batch.Set(key, idemVal, nil))
		key = append(key[:0], keyTxn(uint64(i))...)
		must(b, batch.Set(key, txnVal, nil))
		key = fmt.Appendf(key[:0], "cv/629200%010d", i%benchCards)
		must(b, batch.Set(key, cardVal, nil))
		if int(batch.Count()) >= 3*maxOpsPerBatch {
			commits <- batch // full: wait for the committer
			batch = db.NewBatch()
			continue
		}
		select {
		case commits <- batch:
			batch = db.NewBatch()
		default:
		}
	}
	commits <- batch
	close(commits)
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}
