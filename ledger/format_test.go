package ledger

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// The keys of format 1 (format.go), as a build before format 2 wrote
// them with every journal entry but a settlement one.
func keyByDateV1(date uint32, mid string, seq uint64) string {
	return prefixByDateV1 + strconv.Itoa(int(date)) + "/" + mid + "/" + hex16(seq)
}
func keyByCardV1(pan string, seq uint64) string { return prefixByCard + pan + "/" + hex16(seq) }

// journalStory makes a journal with what the indexes must get right:
// two cards, several business dates, a date closed with late entries
// booked on the next one, settlement entries in the middle of a date's
// run, a clock set back across the cut-off (a date booked in two runs),
// money and points adjustments, a refund, a void and a reversal. It
// returns the second card.
func journalStory(t *testing.T, s *Store, clk *fixedClock) string {
	t.Helper()
	ctx := context.Background()
	second := "621000000000002" + string(cardnum.LuhnDigit("621000000000002"))
	must(t, s.PutCard(ctx, testCard(second)))
	if _, err := s.Adjust(ctx, second, 50000, "opening"); err != nil {
		t.Fatal(err)
	}
	stan := 0
	next := func() string { stan++; return fmt.Sprintf("%06d", stan) }
	on := func(pan string) reqOpt { return func(r *Request) { r.PAN = pan } }
	approve := func(r *Request) Result {
		t.Helper()
		res := do(t, s, r)
		if res.Err != nil {
			t.Fatalf("%s %s: %v", r.Kind, r.STAN, res.Err)
		}
		return res
	}
	approve(req(KindSignOn, "0800", next(), 0))
	p1 := approve(req(KindPurchase, "0200", next(), 300))
	approve(req(KindPurchase, "0200", next(), 700, on(second)))
	approve(req(KindRefund, "0200", next(), 100, func(r *Request) { r.OrigRRN = p1.RRN }))
	vs := next()
	approve(req(KindPurchase, "0200", vs, 50))
	approve(req(KindVoid, "0200", next(), 50, func(r *Request) { r.Orig = OrigRef{"0200", vs, "1123100000"} }))
	if _, err := s.AdjustPoints(ctx, testPAN, 40, "goodwill"); err != nil {
		t.Fatal(err)
	}
	// 2026-11-23 closes; what the clock still gives it is booked late on
	// the 24th, and its settlement entries lie in the 24th's run.
	if _, err := s.CloseBusinessDate(ctx, 20261123, true); err != nil {
		t.Fatal(err)
	}
	approve(req(KindPurchase, "0200", next(), 200, on(second)))
	if _, err := s.PostSettlement(ctx, 20261123, []SettlementPosting{{Program: "p1", MID: testMID, Net: 900}}, nil); err != nil {
		t.Fatal(err)
	}
	approve(req(KindPurchase, "0200", next(), 20))
	// The 25th, then the clock set back to the 24th, then forward again.
	clk.t = clk.t.Add(48 * time.Hour)
	rs := next()
	approve(req(KindPurchase, "0200", rs, 30, func(r *Request) { r.Time = "1125100000" }))
	clk.t = clk.t.Add(-24 * time.Hour)
	approve(req(KindPurchase, "0200", next(), 40, on(second)))
	approve(req(KindReversal, "0400", next(), 30, func(r *Request) { r.Orig = OrigRef{"0200", rs, "1125100000"} }))
	clk.t = clk.t.Add(24 * time.Hour)
	approve(req(KindPurchase, "0200", next(), 60, on(second)))
	return second
}

// journalView is what the journal's readers see: every card's history
// (whole, and at paging limits) and every date's entries.
type journalView struct {
	History map[string][][]uint64
	Dates   []uint32
	ByDate  map[uint32][]Txn
	Runs    []run
}

func viewOf(t *testing.T, s *Store, pans ...string) journalView {
	t.Helper()
	v := journalView{History: map[string][][]uint64{}, ByDate: map[uint32][]Txn{}}
	for _, pan := range pans {
		for _, limit := range []int{0, 1, 2, 5} {
			h, err := s.CardHistory(pan, limit)
			must(t, err)
			v.History[pan] = append(v.History[pan], seqsOf(h))
		}
	}
	var err error
	v.Dates, err = s.JournalDates(0, 99991231)
	must(t, err)
	for _, d := range v.Dates {
		must(t, s.JournalByDate(context.Background(), d, func(x *Txn, n int) error {
			if n < len(v.ByDate[d])+1 {
				return fmt.Errorf("date %d: %d entries, said at most %d", d, len(v.ByDate[d])+1, n)
			}
			x.CardPrev = 0 // format 1 has none
			v.ByDate[d] = append(v.ByDate[d], *x)
			return nil
		}))
	}
	db, release, err := s.acquire()
	must(t, err)
	defer release()
	v.Runs, err = journalRuns(db)
	must(t, err)
	return v
}

// toFormat1 rewrites the closed store in dir as a build before format 2
// left it: jd/ and jc/ keys for every booked entry, no chain in the
// journal entries (record version 3 at most) nor in the accounts
// (version 1), no runs, no meta/version.
func toFormat1(t *testing.T, dir string) {
	t.Helper()
	toFormat2(t, dir) // the card accounts as acct/ keys
	db, err := openPebble(dir, Options{})
	must(t, err)
	defer db.Close()
	b := db.NewBatch()
	must(t, scan(db, prefixTxn, func(k, v []byte) error {
		var x Txn
		if err := x.decode(v); err != nil {
			return err
		}
		if x.Kind != KindSettlement {
			must(t, b.Set([]byte(keyByDateV1(x.BizDate, x.MID, x.Seq)), nil, nil))
			must(t, b.Set([]byte(keyByCardV1(x.PAN, x.Seq)), nil, nil))
		}
		x.CardPrev = 0
		e := encoder{}
		x.encode(&e)
		if e.b[0] > 3 {
			t.Fatalf("journal entry %d: record version %d without a chain", x.Seq, e.b[0])
		}
		return b.Set(k, e.b, nil)
	}))
	must(t, scan(db, prefixAccount, func(k, v []byte) error {
		a := Account{ID: string(k[len(prefixAccount):])}
		if err := a.decode(v); err != nil {
			return err
		}
		a.LastEntry = 0
		e := encoder{}
		a.encode(&e)
		if e.b[0] != 1 {
			t.Fatalf("account record version %d without a chain", e.b[0])
		}
		return b.Set(k, e.b, nil)
	}))
	must(t, b.DeleteRange([]byte(prefixRun), prefixEnd(prefixRun), nil))
	must(t, b.Delete([]byte(keyMetaVersion), nil))
	must(t, b.Commit(pebble.Sync))
}

// TestFormat1StoreMigrates: a store as the build before format 2 left
// it opens with this one, which migrates it: every card's history (at
// every paging limit), every date's journal and the checker read what
// they read before, and new decisions chain onto the old entries.
func TestFormat1StoreMigrates(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	second := journalStory(t, s, clk)
	want := viewOf(t, s, testPAN, second)
	var dates []uint32
	for _, r := range want.Runs {
		dates = append(dates, r.date)
	}
	if !reflect.DeepEqual(dates, []uint32{20261123, 20261124, 20261125, 20261124, 20261125}) {
		t.Fatalf("runs %+v: want the 23rd, the 24th, the 25th, the 24th and the 25th again", want.Runs)
	}
	checkOK(t, s)
	must(t, s.Close())

	toFormat1(t, dir)
	if ro, err := Open(dir, Options{ReadOnly: true}); !errors.Is(err, ErrStoreFormat) {
		if err == nil {
			ro.Close()
		}
		t.Fatalf("read-only open of a format 1 store: %v, want ErrStoreFormat", err)
	}
	s, err := Open(dir, Options{Now: clk.now})
	must(t, err)
	defer s.Close()
	if got := viewOf(t, s, testPAN, second); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration:\n got %+v\nwant %+v", got, want)
	}
	checkOK(t, s)
	if f, err := formatOf(s.DB()); err != nil || f != storeFormat {
		t.Fatalf("format %d %v", f, err)
	}
	if n := countKeys(t, s.DB(), prefixByDateV1); n != 0 {
		t.Fatalf("%d jd/ keys left", n)
	}

	// A new entry chains onto the card's format 1 history.
	res := do(t, s, req(KindPurchase, "0200", "000099", 10, func(r *Request) { r.Time = "1125110000" }))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h, err := s.CardHistory(testPAN, 0)
	must(t, err)
	if h[0].RRN() != res.RRN || h[0].CardPrev != 0 || !reflect.DeepEqual(seqsOf(h[1:]), want.History[testPAN][0]) {
		t.Fatalf("history after a new purchase: %v (first links to %d), want %s then %v", seqsOf(h), h[0].CardPrev, res.RRN, want.History[testPAN][0])
	}
	res = do(t, s, req(KindPurchase, "0200", "000100", 10, func(r *Request) { r.Time = "1125110000" }))
	if h, _ := s.CardHistory(testPAN, 2); len(h) != 2 || h[0].RRN() != res.RRN || h[0].CardPrev != h[1].Seq {
		t.Fatalf("second new purchase: %v", seqsOf(h))
	}
	checkOK(t, s)
}

// TestMigrationCrash: a migration a crash ends after its first batch is
// finished by the next Open; migrating a migrated store changes nothing.
func TestMigrationCrash(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	second := journalStory(t, s, clk)
	want := viewOf(t, s, testPAN, second)
	must(t, s.Close())

	toFormat1(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	if err := migrate(db, zerolog.Nop(), 1, 1); !errors.Is(err, errMigrationStopped) {
		t.Fatalf("migration stopped after a batch: %v", err)
	}
	if f, _ := formatOf(db); f != 1 || countKeys(t, db, prefixRun) != 1 || countKeys(t, db, prefixByDateV1) == 0 {
		t.Fatalf("after one batch of one key: format %d, %d runs, %d jd/ keys", f, countKeys(t, db, prefixRun), countKeys(t, db, prefixByDateV1))
	}
	must(t, db.Close())
	s, err = Open(dir, Options{Now: clk.now})
	must(t, err)
	if got := viewOf(t, s, testPAN, second); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the crashed migration:\n got %+v\nwant %+v", got, want)
	}
	checkOK(t, s)
	must(t, s.Close())

	db, err = openPebble(dir, Options{})
	must(t, err)
	before := db.Metrics().WAL.BytesWritten
	must(t, migrate(db, zerolog.Nop(), 1, 0))
	if after := db.Metrics().WAL.BytesWritten; after != before {
		t.Fatalf("migrating a migrated store wrote %d bytes", after-before)
	}
	must(t, db.Close())
}

// TestMigrationRefusesABadIndex: a format 1 store whose date index does
// not hold the entries its journal books is not migrated (settlement
// would read other entries), and is left as it was.
func TestMigrationRefusesABadIndex(t *testing.T) {
	dir := t.TempDir()
	s, clk := openTestIn(t, dir, Options{})
	journalStory(t, s, clk)
	must(t, s.Close())
	toFormat1(t, dir)
	db, err := openPebble(dir, Options{})
	must(t, err)
	must(t, db.Set([]byte(keyByDateV1(20261124, testMID, 1)), nil, pebble.Sync)) // entry 1 is the 23rd's
	must(t, db.Close())
	if s, err := Open(dir, Options{Now: clk.now}); !errors.Is(err, errCorrupt) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("open: %v, want the migration refused", err)
	}
	db, err = openPebble(dir, Options{})
	must(t, err)
	defer db.Close()
	if f, _ := formatOf(db); f != 1 || countKeys(t, db, prefixRun) != 0 {
		t.Fatalf("refused migration left format %d, %d runs", f, countKeys(t, db, prefixRun))
	}
}

// TestStoreFromALaterBuildRefused: a store of a later format is not
// opened.
func TestStoreFromALaterBuildRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestIn(t, dir, Options{})
	must(t, s.Close())
	db, err := openPebble(dir, Options{})
	must(t, err)
	var v [8]byte
	putU64(v[:], storeFormat+1)
	must(t, db.Set([]byte(keyMetaVersion), v[:], pebble.Sync))
	must(t, db.Close())
	if s, err := Open(dir, Options{}); !errors.Is(err, ErrStoreFormat) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("open of format %d: %v", storeFormat+1, err)
	}
}

// TestCheckFindsBrokenJournalLinks: the checker reports an entry out of
// its card's chain, a run missing, and a stored value naming another
// entry as the card's newest.
func TestCheckFindsBrokenJournalLinks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, s *Store)
	}{
		{"chain", func(t *testing.T, s *Store) {
			h, _ := s.CardHistory(testPAN, 1)
			x := h[0]
			x.CardPrev = 0
			e := encoder{}
			x.encode(&e)
			must(t, s.db.Set([]byte(keyTxn(x.Seq)), e.b, pebble.Sync))
		}},
		{"run", func(t *testing.T, s *Store) {
			runs, err := journalRuns(s.db)
			must(t, err)
			must(t, s.db.Delete([]byte(keyRun(runs[len(runs)-1].first)), pebble.Sync))
		}},
		{"head", func(t *testing.T, s *Store) {
			a, err := readAccount(s, accountSV(testPAN))
			must(t, err)
			a.LastEntry--
			e := encoder{}
			a.encode(&e)
			must(t, setStored(s.db, keyAccount(a.ID), e.b))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := openTest(t)
			journalStory(t, s, clk)
			checkOK(t, s)
			tc.corrupt(t, s)
			rep, err := s.Check(context.Background())
			must(t, err)
			if rep.OK() {
				t.Fatalf("broken %s not found", tc.name)
			}
			t.Log(rep.Problems)
		})
	}
}

func countKeys(t *testing.T, r reader, prefix string) int {
	t.Helper()
	n := 0
	must(t, scan(r, prefix, func(_, _ []byte) error { n++; return nil }))
	return n
}
