package ledger

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

var cst = time.FixedZone("CST", 8*3600)

// expiryStore: p1 with rolling 10-day lots and a 5-day notice; the
// clock at 2026-11-24 00:00 local, so a lot credited now expires at
// exactly BusinessDayEnd(20261203) (cut-off hour 0).
func expiryStore(t *testing.T) (*Store, *fixedClock) {
	t.Helper()
	s, clk := openTest(t)
	ctx := context.Background()
	rules := &loyalty.Rules{EarnRateBP: 10000, NoticeDays: 5, Lots: loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: 10}}
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
	clk.t = time.Date(2026, 11, 24, 0, 0, 0, 0, cst)
	if _, err := s.AdjustPoints(ctx, testPAN, 100, "welcome"); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func checkOK(t *testing.T, s *Store) {
	t.Helper()
	rep, err := s.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

func accountBalance(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	a, err := readAccount(s, id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance()
}

func readAccount(s *Store, id string) (*Account, error) {
	a := &Account{ID: id, Unit: UnitPoints}
	raw, err := s.dbGet(keyAccount(id))
	if err != nil || raw == nil {
		return a, err
	}
	return a, a.decode(raw)
}

// TestExpireAtTheBoundary: the lot expiring exactly at the end of D is
// expired by the job for D, not by the one for D−1; the breakage is a
// balanced posting the checker accepts; a rerun changes nothing.
func TestExpireAtTheBoundary(t *testing.T) {
	s, clk := expiryStore(t)
	ctx := context.Background()
	if end := s.BusinessDayEnd(20261203); !end.Equal(time.Date(2026, 12, 4, 0, 0, 0, 0, cst)) {
		t.Fatalf("end of 2026-12-03: %s", end)
	}
	clk.t = time.Date(2026, 12, 3, 23, 0, 0, 0, cst)
	if _, err := s.ExpireLots(ctx, 20261203, nil); !errors.Is(err, ErrDateNotEnded) {
		t.Fatalf("a date not ended: err %v, want ErrDateNotEnded", err)
	}
	clk.t = time.Date(2026, 12, 4, 1, 0, 0, 0, cst)
	pr, err := s.ExpireLots(ctx, 20261202, nil)
	if err != nil || pr.Expired != 0 || pr.Notices != 1 || !pr.Done {
		t.Fatalf("2026-12-02: %+v %v: want nothing expired, one notice", pr, err)
	}
	pr, err = s.ExpireLots(ctx, 20261203, nil)
	if err != nil || pr.Expired != 1 || pr.Breakage != 100 || pr.Notices != 0 || !pr.Done || pr.AlreadyDone {
		t.Fatalf("2026-12-03: %+v %v: want the lot expired, 100 points", pr, err)
	}
	if pt, bk := accountBalance(t, s, accountPoints(testPAN)), accountBalance(t, s, accountBreakage("p1")); pt != 0 || bk != 100 {
		t.Fatalf("after expiry: card %d, breakage %d: want 0 and 100", pt, bk)
	}
	checkOK(t, s)
	hist, err := s.CardHistory(testPAN, 1)
	if err != nil || len(hist) != 1 || hist[0].Kind != KindExpiry || hist[0].Debited != 100 || hist[0].TID != "" ||
		len(hist[0].PointUses) != 1 || hist[0].PointUses[0].Points != 100 {
		t.Fatalf("journal: %+v %v: want one expiry entry debiting 100 from one lot", hist, err)
	}
	// Rerun: the marker answers; without it, nothing is left to expire.
	if pr, err := s.ExpireLots(ctx, 20261203, nil); err != nil || !pr.AlreadyDone {
		t.Fatalf("rerun: %+v %v: want AlreadyDone", pr, err)
	}
	must(t, s.update(ctx, func(tx *tx) error { tx.del(keyExpiryDone(20261203)); return nil }))
	if pr, err := s.ExpireLots(ctx, 20261203, nil); err != nil || pr.Expired != 0 || pr.Notices != 0 || pr.Cards != 1 {
		t.Fatalf("rerun without marker: %+v %v: want a card visited, nothing done", pr, err)
	}
	if bk := accountBalance(t, s, accountBreakage("p1")); bk != 100 {
		t.Fatalf("breakage %d after rerun: want 100", bk)
	}
	checkOK(t, s)
}

// TestNoticesOnce: each lot gets one outbox event, whatever the runs;
// the drain writes each once and deletes it from the store in the change
// that moves its cursor, even when it is repeated after a crash between
// its fsync and that change, or left a partial line.
func TestNoticesOnce(t *testing.T) {
	s, clk := expiryStore(t)
	ctx := context.Background()
	clk.t = time.Date(2026, 11, 28, 12, 0, 0, 0, cst)
	if _, err := s.AdjustPoints(ctx, testPAN, 40, "second"); err != nil { // expires 12-08 12:00
		t.Fatal(err)
	}
	clk.t = time.Date(2026, 12, 10, 0, 0, 0, 0, cst)
	counts := []int{}
	for _, d := range []uint32{20261128, 20261129, 20261130, 20261201, 20261202} {
		pr, err := s.ExpireLots(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, pr.Notices)
	}
	// 11-28 ends 11-29 00:00: the window to 12-04 holds the first lot;
	// 12-02 ends 12-03: to 12-08 00:00... the second (12-08 12:00) not yet.
	if want := []int{1, 0, 0, 0, 0}; !slices.Equal(counts, want) {
		t.Fatalf("notices per run %v: want %v", counts, want)
	}
	dir := t.TempDir()
	if n, err := s.DrainOutbox(ctx, dir); err != nil || n != 1 {
		t.Fatalf("drain: %d %v: want 1", n, err)
	}
	if got := storedOutbox(t, s); len(got) != 0 || outboxCursorOf(t, s) != 1 {
		t.Fatalf("after the drain: events %v stored, cursor %d: want none, 1", got, outboxCursorOf(t, s))
	}
	if n, err := s.DrainOutbox(ctx, dir); err != nil || n != 0 {
		t.Fatalf("second drain: %d %v: want 0", n, err)
	}
	pr, err := s.ExpireLots(ctx, 20261203, nil)
	if err != nil || pr.Notices != 1 || pr.Expired != 1 {
		t.Fatalf("2026-12-03: %+v %v: want the first lot expired, the second noticed", pr, err)
	}
	rep, err := s.ExpiryNotices(ctx, 20261203)
	if err != nil || len(rep) != 1 || rep[0].Points != 40 || !rep[0].Noticed || !strings.Contains(rep[0].Card, "*") {
		t.Fatalf("report: %+v %v", rep, err)
	}
	// A crash after the drain's fsync, before its ledger change: the file
	// holds the line, the store still the event and the old cursor; and a
	// partial line after it.
	events, err := s.undelivered(1)
	if err != nil || len(events) != 1 || events[0].seq != 2 {
		t.Fatalf("undelivered: %+v %v: want event 2", events, err)
	}
	if _, err := appendEvents(OutboxFile(dir, "2026-12-03"), [][]byte{events[0].line}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(OutboxFile(dir, "2026-12-03"), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString(`{"seq":3,"ev`)
	must(t, err)
	must(t, f.Close())
	if n, err := s.DrainOutbox(ctx, dir); err != nil || n != 0 {
		t.Fatalf("drain after a crash before its ledger change: %d %v: want 0", n, err)
	}
	if got := storedOutbox(t, s); len(got) != 0 || outboxCursorOf(t, s) != 2 {
		t.Fatalf("after the drain: events %v stored, cursor %d: want none, 2", got, outboxCursorOf(t, s))
	}
	var lots []uint64
	for _, name := range []string{"2026-11-28", "2026-12-03"} {
		for _, e := range readEvents(t, OutboxFile(dir, name)) {
			if e.Event != EventPointsExpiring || e.Date != name {
				t.Fatalf("event %+v in %s", e, name)
			}
			lots = append(lots, e.Lot)
		}
	}
	if len(lots) != 2 || lots[0] == lots[1] {
		t.Fatalf("lots in the outbox files %v: want two distinct", lots)
	}
	checkOK(t, s)
}

// storedOutbox is the seqs of the events stored under outbox/.
func storedOutbox(t *testing.T, s *Store) []uint64 {
	t.Helper()
	var seqs []uint64
	must(t, scan(s.DB(), prefixOutbox, func(k, _ []byte) error {
		seq, _ := parseHex16(string(k[len(prefixOutbox):]))
		seqs = append(seqs, seq)
		return nil
	}))
	return seqs
}

func outboxCursorOf(t *testing.T, s *Store) uint64 {
	t.Helper()
	sent, err := s.outboxCursor()
	must(t, err)
	return sent
}

// TestOutboxPrunesDelivered: a store drained by a build that kept its
// delivered events (here 5000 of them, more than one drain round) is
// consistent, and the check counts them; the next drain deletes them,
// in bounded changes, and delivers the undelivered ones after them as
// usual.
func TestOutboxPrunesDelivered(t *testing.T) {
	s, _ := expiryStore(t)
	ctx := context.Background()
	const delivered, pending = drainBatch + 904, 3
	event := func(seq uint64) []byte {
		raw, err := json.Marshal(NoticeEvent{Seq: seq, Event: EventPointsExpiring, Date: "2026-12-01", Program: "p1",
			Card: "621000******0013", Lot: seq, Points: 1, Expires: "2026-12-09T00:00:00+08:00"})
		must(t, err)
		return raw
	}
	must(t, s.update(ctx, func(tx *tx) error {
		for seq := uint64(1); seq <= delivered+pending; seq++ {
			tx.set(keyOutbox(seq), event(seq))
		}
		next, sent := make([]byte, 8), make([]byte, 8)
		putU64(next, delivered+pending+1)
		putU64(sent, delivered)
		tx.set(keyMetaOutboxSeq, next)
		tx.set(keyMetaOutboxSent, sent)
		return nil
	}))
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() || rep.Outbox != (OutboxReport{Undelivered: pending, DeliveredLeft: delivered}) {
		t.Fatalf("check of a store with delivered events: %+v %v %q: want OK, %d undelivered and %d delivered left",
			rep.Outbox, err, rep.Problems, pending, delivered)
	}
	dir := t.TempDir()
	if n, err := s.DrainOutbox(ctx, dir); err != nil || n != pending {
		t.Fatalf("drain: %d %v: want %d", n, err, pending)
	}
	if got := storedOutbox(t, s); len(got) != 0 || outboxCursorOf(t, s) != delivered+pending {
		t.Fatalf("after the drain: %d events stored, cursor %d: want none, %d", len(got), outboxCursorOf(t, s), delivered+pending)
	}
	var seqs []uint64
	for _, e := range readEvents(t, OutboxFile(dir, "2026-12-01")) {
		seqs = append(seqs, e.Seq)
	}
	if want := []uint64{delivered + 1, delivered + 2, delivered + 3}; !slices.Equal(seqs, want) {
		t.Fatalf("lines %v: want %v (the undelivered only)", seqs, want)
	}
	if rep, err := s.Check(ctx); err != nil || !rep.OK() || rep.Outbox != (OutboxReport{}) {
		t.Fatalf("check after the drain: %+v %v %q: want OK, nothing stored", rep.Outbox, err, rep.Problems)
	}
}

// TestCheckOutbox: the checker notices an undelivered event lost, one
// whose body names another seq, and a cursor past every event.
func TestCheckOutbox(t *testing.T) {
	if invariantsEnabled {
		t.Skip("corrupts the store on purpose: with -tags invariants the commit itself panics")
	}
	s, clk := expiryStore(t)
	ctx := context.Background()
	clk.t = time.Date(2026, 11, 28, 12, 0, 0, 0, cst)
	if _, err := s.AdjustPoints(ctx, testPAN, 40, "second"); err != nil {
		t.Fatal(err)
	}
	clk.t = time.Date(2026, 12, 10, 0, 0, 0, 0, cst)
	for _, d := range []uint32{20261128, 20261203} {
		if _, err := s.ExpireLots(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := storedOutbox(t, s); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("events %v: want 1 and 2", got)
	}
	if rep, err := s.Check(ctx); err != nil || !rep.OK() || rep.Outbox != (OutboxReport{Undelivered: 2}) {
		t.Fatalf("check: %+v %v %q: want OK, 2 undelivered", rep.Outbox, err, rep.Problems)
	}
	one, err := s.dbGet(keyOutbox(1))
	must(t, err)
	u64Of := func(v uint64) []byte { b := make([]byte, 8); putU64(b, v); return b }
	for _, tc := range []struct {
		name string
		key  string
		v    []byte // nil: delete
		want string
	}{
		{"an undelivered event lost", keyOutbox(1), nil, "undelivered events 1 missing"},
		{"a body naming another seq", keyOutbox(2), one, "outbox event 2: body says seq 1"},
		{"a cursor past every event", keyMetaOutboxSent, u64Of(3), "delivered cursor 3, next seq 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := s.dbGet(tc.key)
			must(t, err)
			set := func(v []byte) error {
				return s.update(ctx, func(tx *tx) error {
					if v == nil {
						tx.del(tc.key)
					} else {
						tx.set(tc.key, v)
					}
					return nil
				})
			}
			must(t, set(tc.v))
			rep, err := s.Check(ctx)
			must(t, err)
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("problems %q: want one with %q", rep.Problems, tc.want)
			}
			must(t, set(old))
		})
	}
	checkOK(t, s)
}

func readEvents(t *testing.T, path string) []NoticeEvent {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var out []NoticeEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e NoticeEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %q: %v", filepath.Base(path), sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}
