package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// storedBatch is a batch's record as its own key holds it (nil: absent),
// without the aggregate log laid over it.
func storedBatch(t *testing.T, r pebble.Reader, tid string, n uint32) *Batch {
	t.Helper()
	raw, err := readRaw(r, keyBatch(tid, n))
	if err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		return nil
	}
	var b Batch
	must(t, b.decode(raw))
	return &b
}

func purchases(t *testing.T, s *Store, first, n int, amount Amount) {
	t.Helper()
	for i := range n {
		if res := do(t, s, req(KindPurchase, "0200", fmt.Sprintf("%06d", first+i), amount)); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
}

// A crash between checkpoints loses no batch total and no merchant
// balance: the aggregates of the groups after the last checkpoint are in
// the aggregate log, which a read-only open lays over their keys and a
// read-write open writes into them.
func TestAggregatesSurviveACrashBeforeTheCheckpoint(t *testing.T) {
	fs := vfs.NewCrashableMem()
	const dir = "/store"
	s, clk := openTestIn(t, dir, Options{FS: fs, AggregateCheckpointEvery: time.Hour})
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	purchases(t, s, 2, 3, 100)
	want := BatchTotals{DebitCount: 3, DebitAmount: 300}
	if got, err := s.TerminalBatches(testTID); err != nil || len(got) != 1 || got[0].Totals != want {
		t.Fatalf("before the crash: %+v %v", got, err)
	}
	// The path under test: the batch's key was never written, the log
	// holds it.
	if b := storedBatch(t, s.db, testTID, 1); b != nil {
		t.Fatalf("batch key written before a checkpoint: %+v", b)
	}
	if n := countKeys(t, s.db, prefixAggregateLog); n < 3 { // a group a purchase at least
		t.Fatalf("aggregate log keys: %d, want a group a purchase", n)
	}
	// The merchant's account, an aggregate too, is logged alike.
	merchant := accountMerchantSV(testMID)
	wantMerchant, err := s.AccountBalance(merchant)
	if err != nil || wantMerchant == 0 {
		t.Fatalf("merchant account before the crash: %d %v", wantMerchant, err)
	}
	if raw, err := readRaw(s.db, keyAccount(merchant)); err != nil || raw != nil {
		t.Fatalf("merchant account key written before a checkpoint: %x %v", raw, err)
	}

	crashed := fs.CrashClone(vfs.CrashCloneCfg{}) // exactly what was synced
	ro, err := Open(dir, Options{FS: crashed, ReadOnly: true, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.TerminalBatches(testTID); err != nil || len(got) != 1 || got[0].Totals != want {
		t.Fatalf("read-only after the crash: %+v %v", got, err)
	}
	if got, err := ro.AccountBalance(merchant); err != nil || got != wantMerchant {
		t.Fatalf("merchant account, read-only after the crash: %d %v, want %d", got, err, wantMerchant)
	}
	if rep, err := ro.Check(context.Background()); err != nil || !rep.OK() {
		t.Fatalf("check, read-only: %v %v", err, rep.Problems)
	}
	must(t, ro.Close())

	again, err := Open(dir, Options{FS: crashed, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if b := storedBatch(t, again.db, testTID, 1); b == nil || b.Totals != want {
		t.Fatalf("batch key after the replay: %+v", b)
	}
	if n := countKeys(t, again.db, prefixAggregateLog); n != 0 {
		t.Fatalf("aggregate log keys after the replay: %d", n)
	}
	if raw, _ := readRaw(again.db, keyAccount(merchant)); raw == nil {
		t.Fatal("merchant account key not written by the replay")
	}
	if got, err := again.AccountBalance(merchant); err != nil || got != wantMerchant {
		t.Fatalf("merchant account after the restart: %d %v, want %d", got, err, wantMerchant)
	}
	purchases(t, again, 10, 1, 50)
	want = BatchTotals{DebitCount: 4, DebitAmount: 350}
	if got, err := again.TerminalBatches(testTID); err != nil || len(got) != 1 || got[0].Totals != want {
		t.Fatalf("after the restart: %+v %v", got, err)
	}
	if rep, err := again.Check(context.Background()); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

// A checkpoint writes the batches at their keys and deletes the log; a
// clean close is one.
func TestBatchCheckpoint(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{AggregateCheckpointEvery: time.Nanosecond})
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	for i := range 6 {
		purchases(t, s, 2+i, 1, 100)
		// Every other group logs, the next checkpoints: the log never
		// holds more than the one group since the checkpoint.
		if n := countKeys(t, s.db, prefixAggregateLog); n > 1 {
			t.Fatalf("after purchase %d: %d aggregate log keys", i+1, n)
		}
	}
	want := BatchTotals{DebitCount: 6, DebitAmount: 600}
	if got, err := s.TerminalBatches(testTID); err != nil || len(got) != 1 || got[0].Totals != want {
		t.Fatalf("%+v %v", got, err)
	}
	must(t, s.Close())
	s2, err := Open(dir, Options{ReadOnly: true, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if n := countKeys(t, s2.db, prefixAggregateLog); n != 0 {
		t.Fatalf("aggregate log keys after a clean close: %d", n)
	}
	if b := storedBatch(t, s2.db, testTID, 1); b == nil || b.Totals != want {
		t.Fatalf("batch key after a clean close: %+v", b)
	}
}

// scanBatches merges the stored batches with the log's after-images:
// the latest logged value wins, a batch only logged comes in key order,
// other terminals' batches stay out.
func TestScanBatchesOverlay(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b1, b3, t2 := keyBatch("T1", 1), keyBatch("T1", 3), keyBatch("T2", 1)
	b2, b4 := keyBatch("T1", 2), keyBatch("T1", 4)
	must(t, db.Set([]byte(b1), []byte("stored 1"), nil))
	must(t, db.Set([]byte(b3), []byte("stored 3"), nil))
	must(t, db.Set([]byte(b4), []byte("stored 4"), nil))
	log := func(n uint64, pairs ...kv) {
		must(t, db.Set([]byte(prefixAggregateLog+hex16(n)), encodeAggregateLog(pairs), nil))
	}
	log(0, kv{key: b2, val: []byte("logged 2")}, kv{key: b3, val: []byte("logged 3")}, kv{key: t2, val: []byte("other")})
	log(1, kv{key: b2, val: []byte("logged 2, later")})
	var got []string
	must(t, scanAggregates(db, prefixBatch+"T1/", func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	}))
	want := []string{b1 + "=stored 1", b2 + "=logged 2, later", b3 + "=logged 3", b4 + "=stored 4"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// And the replay writes the same.
	must(t, replayAggregateLog(db))
	if countKeys(t, db, prefixAggregateLog) != 0 {
		t.Fatal("log left after the replay")
	}
	for k, v := range map[string]string{b2: "logged 2, later", b3: "logged 3", t2: "other", b1: "stored 1"} {
		if raw, _ := readRaw(db, k); string(raw) != v {
			t.Errorf("%s = %q after the replay, want %q", k, raw, v)
		}
	}
}

// A log value that names anything but a batch, or does not parse, is
// refused by the replay, which writes nothing.
func TestAggregateLogRejectsCorruptValues(t *testing.T) {
	for name, val := range map[string][]byte{
		"not a batch":   encodeAggregateLog([]kv{{key: keyAccount("sv/1"), val: []byte("x")}}),
		"truncated":     encodeAggregateLog([]kv{{key: keyBatch("T1", 1), val: []byte("xyz")}})[:5],
		"trailing byte": append(encodeAggregateLog([]kv{{key: keyBatch("T1", 1), val: []byte("x")}}), 7),
	} {
		t.Run(name, func(t *testing.T) {
			db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			must(t, db.Set([]byte(prefixAggregateLog+hex16(0)), val, nil))
			if err := replayAggregateLog(db); !errors.Is(err, errCorrupt) {
				t.Fatalf("replay: %v, want errCorrupt", err)
			}
			if countKeys(t, db, prefixBatch) != 0 || countKeys(t, db, prefixAggregateLog) != 1 {
				t.Fatal("a refused replay changed the store")
			}
		})
	}
}

// The writer keeps what only the aggregate log holds: an aggregate
// committed after the last checkpoint is not evictable, anything else
// committed is.
func TestEvictableKeepsWhatOnlyTheLogHolds(t *testing.T) {
	const committed, checkpointed = 9, 7
	for _, tc := range []struct {
		key  string
		gen  uint64
		want bool
	}{
		{keyBatch("T1", 1), 7, true},                    // at its key since the checkpoint
		{keyBatch("T1", 1), 8, false},                   // committed, only in the log
		{keyAccount(accountMerchantSV("M1")), 8, false}, // a merchant account alike
		{keyAccount(accountMerchantSV("M1")), 0, true},  // read from its key
		{keyTermState("T1"), 8, true},                   // not an aggregate: at its key once committed
		{keyTermState("T1"), 10, false},                 // not committed
		{keyBatch("T1", 1), 10, false},                  // not committed
	} {
		if got := evictable(tc.key, tc.gen, committed, checkpointed); got != tc.want {
			t.Errorf("evictable(%s, gen %d) = %v, want %v", tc.key, tc.gen, got, tc.want)
		}
	}
}
