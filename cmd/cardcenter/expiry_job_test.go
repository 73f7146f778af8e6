package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// TestServeExpiryJob: a host whose clock is past the end of 2026-03-10
// runs the expiry job (its catch-up at start, and POST
// /v1/loyalty/expire, one at a time); either way the date is done once,
// the breakage is posted and the outbox file holds one line per noticed
// lot. A date that has not ended is refused 400.
func TestServeExpiryJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 40
	provisionExpiry(t, dir, n)
	now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.FixedZone("CST", 8*3600))
	logs := &syncbuf.Buffer{}
	m := &Main{Config: testHostConfig(t, dir), Log: zerolog.New(logs), Now: func() time.Time { return now }}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	token, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	mustDo(t, err)
	c := &admin.Client{BaseURL: "http://" + m.adminLn.Addr().String(), Token: strings.TrimSpace(string(token))}
	ctx := context.Background()
	res, err := c.ExpireLots(ctx, "2026-03-10")
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	if !res.AlreadyDone && (res.Expired != n || res.Notices != n/2) {
		t.Errorf("POST /v1/loyalty/expire: %+v: want %d lots expired and %d notices (or already done by the daily job)", res, n, n/2)
	}
	if _, err := c.ExpireLots(ctx, "2026-03-11"); err == nil || !strings.Contains(err.Error(), "not ended") {
		t.Errorf("a date not ended: %v", err)
	}
	rep, err := c.ExpiryNotices(ctx, "2026-03-10")
	if err != nil || len(rep.Notices) != n/2 || !rep.Notices[0].Noticed {
		t.Errorf("notices: %+v %v: want %d, noticed", rep, err, n/2)
	}
	mustDo(t, m.Close())
	if got := outboxOf(t, dir, "2026-03-10"); len(got) != n/2 {
		t.Errorf("outbox: %d lines, want %d", len(got), n/2)
	}
	if got := breakageOf(t, dir); len(got) != n {
		t.Errorf("breakage: %d lots, want %d", len(got), n)
	}
	st, err := ledger.Open(adminStoreDir(dir), ledger.Options{ReadOnly: true})
	mustDo(t, err)
	defer st.Close()
	if done, err := st.ExpiryDone(20260310); err != nil || !done {
		t.Errorf("2026-03-10 done: %v %v", done, err)
	}
}

// TestExpiryCatchUp: a host down from 2026-02-20 to 2026-03-16 runs one
// pass of its expiry loop when it comes back: every business date of
// the downtime gets its marker; each lot that expired meanwhile got its
// one notice from the run of an earlier date than the one that expired
// it; and the breakage entries and the outbox files are those of a host
// that ran every day.
func TestExpiryCatchUp(t *testing.T) {
	dir := t.TempDir()
	const n = 40
	daily, down := filepath.Join(dir, "daily"), filepath.Join(dir, "down")
	provisionExpiry(t, daily, n)
	mustDo(t, os.CopyFS(down, os.DirFS(daily)))
	cst := time.FixedZone("CST", 8*3600)
	from := time.Date(2026, 2, 20, 12, 0, 0, 0, cst) // the store has no done date: this pass runs 02-19 alone
	back := time.Date(2026, 3, 16, 12, 0, 0, 0, cst)
	var everyDay []time.Time
	for at := from; !at.After(back); at = at.AddDate(0, 0, 1) {
		everyDay = append(everyDay, at)
	}
	expiryPasses(t, daily, everyDay...)
	expiryPasses(t, down, from, back)

	st, err := ledger.Open(adminStoreDir(down), ledger.Options{ReadOnly: true, Location: cst})
	mustDo(t, err)
	for d := uint32(20260219); d <= 20260315; d = ledger.NextBusinessDate(d) {
		if done, err := st.ExpiryDone(d); err != nil || !done {
			t.Errorf("%s after the catch-up: done %v %v", ledger.FormatBusinessDate(d), done, err)
		}
	}
	if done, err := st.ExpiryDone(20260218); err != nil || done {
		t.Errorf("2026-02-18, before the store's first run: done %v %v", done, err)
	}
	mustDo(t, st.Close())

	// Breakage: card, lot, points and the date whose run posted it.
	breakage := func(dataDir string) []string {
		return checkedJournalLines(t, dataDir, func(x *ledger.Txn) (lines []string) {
			if x.Kind == ledger.KindExpiry {
				for _, u := range x.PointUses {
					lines = append(lines, fmt.Sprintf("%s %d %d %s", cardnum.Mask(x.PAN), u.Seq, u.Points, x.Note))
				}
			}
			return lines
		})
	}
	want, got := breakage(daily), breakage(down)
	if len(want) != n+n/2 || !slices.Equal(got, want) {
		t.Fatalf("breakage after the downtime (%d lots):\n%s\nwant, as a host that ran every day (%d lots):\n%s",
			len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	files, err := os.ReadDir(outboxDir(daily))
	mustDo(t, err)
	for _, f := range files {
		w, err := os.ReadFile(filepath.Join(outboxDir(daily), f.Name()))
		mustDo(t, err)
		g, err := os.ReadFile(filepath.Join(outboxDir(down), f.Name()))
		if err != nil || string(g) != string(w) {
			t.Errorf("outbox %s after the downtime differs from the daily host's (%v)", f.Name(), err)
		}
	}
	if got, err := os.ReadDir(outboxDir(down)); err != nil || len(got) != len(files) {
		t.Errorf("outbox files after the downtime: %d %v, want %d", len(got), err, len(files))
	}

	noticed := map[string]string{} // card and lot → the date of its notice
	for _, f := range files {
		for _, l := range strings.Split(strings.TrimSpace(readFile(t, filepath.Join(outboxDir(down), f.Name()))), "\n") {
			var e ledger.NoticeEvent
			mustDo(t, json.Unmarshal([]byte(l), &e))
			key := fmt.Sprintf("%s %d", e.Card, e.Lot)
			if noticed[key] != "" {
				t.Fatalf("lot %s noticed twice", key)
			}
			noticed[key] = e.Date
		}
	}
	for _, b := range got {
		f := strings.Fields(b) // card lot points "expiry" date
		on, expired := noticed[f[0]+" "+f[1]], f[4]
		if on == "" || on >= expired {
			t.Errorf("lot %s %s expired by the run of %s: noticed %q, want by an earlier date's", f[0], f[1], expired, on)
		}
	}
}

// expiryPasses opens the stopped store of dataDir and runs one pass of
// serve's expiry loop at each of the instants.
func expiryPasses(t *testing.T, dataDir string, at ...time.Time) {
	t.Helper()
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{Now: now, Location: at[0].Location(), PruneInterval: -1})
	mustDo(t, err)
	defer st.Close()
	job := newExpiryJob(st, dataDir, now, zerolog.Nop())
	for _, a := range at {
		clock.Store(a.UnixNano())
		mustDo(t, job.catchUp(context.Background()))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	mustDo(t, err)
	return string(raw)
}

// TestExpiryCatchUpLimit: after more than maxExpiryCatchUp dates of
// downtime one pass runs the latest maxExpiryCatchUp dates, whose first
// expires every lot due before it, and logs the dates it left out with
// the command for each.
func TestExpiryCatchUpLimit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	provisionExpiry(t, dir, 10)
	cst := time.FixedZone("CST", 8*3600)
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	st, err := ledger.Open(adminStoreDir(dir), ledger.Options{Now: now, Location: cst, PruneInterval: -1})
	mustDo(t, err)
	defer st.Close()
	logs := &syncbuf.Buffer{}
	job := newExpiryJob(st, dir, now, zerolog.New(logs))
	ctx := context.Background()
	clock.Store(time.Date(2026, 2, 2, 12, 0, 0, 0, cst).UnixNano())
	mustDo(t, job.catchUp(ctx)) // 2026-02-01
	// Down until 2026-05-10: 2026-02-02 .. 2026-05-09 is 97 dates.
	clock.Store(time.Date(2026, 5, 10, 12, 0, 0, 0, cst).UnixNano())
	mustDo(t, job.catchUp(ctx))
	const firstRun = 20260309 // 2026-05-09 and the 61 dates before it
	for d := uint32(20260202); d <= 20260509; d = ledger.NextBusinessDate(d) {
		if done, err := st.ExpiryDone(d); err != nil || done != (d >= firstRun) {
			t.Errorf("%s: done %v %v, want %v", ledger.FormatBusinessDate(d), done, err, d >= firstRun)
		}
	}
	if b, err := st.CardBalances(expiryPAN(0)); err != nil || b.Points != 0 {
		t.Errorf("card 0 after the catch-up: %+v %v: want every lot expired", b, err)
	}
	var entry struct {
		From     string   `json:"skipped_from"`
		To       string   `json:"skipped_to"`
		N        int      `json:"skipped_dates"`
		First    string   `json:"first_run"`
		Commands []string `json:"commands"`
	}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "skipped_from") {
			mustDo(t, json.Unmarshal([]byte(l), &entry))
		}
	}
	if entry.From != "2026-02-02" || entry.To != "2026-03-08" || entry.N != 35 || entry.First != "2026-03-09" ||
		len(entry.Commands) != 35 || entry.Commands[0] != "cardcenter loyalty expire --date 2026-02-02" ||
		entry.Commands[34] != "cardcenter loyalty expire --date 2026-03-08" {
		t.Fatalf("the log of the dates left out: %+v\n%s", entry, logs.String())
	}
	// The commands logged record the dates left out, and change nothing else.
	before, err := st.CardBalances(expiryPAN(1))
	mustDo(t, err)
	for _, c := range entry.Commands {
		d, err := ledger.ParseBusinessDate(strings.TrimPrefix(c, "cardcenter loyalty expire --date "))
		mustDo(t, err)
		if p, _, err := job.run(ctx, d, nil); err != nil || p.Expired != 0 || !p.Done {
			t.Fatalf("%s: %+v %v: want done, nothing expired", c, p, err)
		}
	}
	if after, err := st.CardBalances(expiryPAN(1)); err != nil || after != before {
		t.Fatalf("card 1: %+v %v after the commands, %+v before", after, err, before)
	}
	if last, err := st.LastExpiryDone(); err != nil || last != 20260509 {
		t.Fatalf("last done: %d %v", last, err)
	}
}

// TestExpiryDates: the dates one pass runs and the span it leaves out.
func TestExpiryDates(t *testing.T) {
	for _, tc := range []struct {
		done, last   uint32
		first, n     uint32
		skipFrom, to uint32
	}{
		{0, 20260310, 20260310, 1, 0, 0},         // a fresh store: the last ended date
		{20260310, 20260310, 20260310, 1, 0, 0},  // done: run again, already done
		{20260312, 20260310, 20260310, 1, 0, 0},  // a clock set back
		{20260225, 20260303, 20260226, 6, 0, 0},  // across the end of February
		{20260101, 20260304, 20260102, 62, 0, 0}, // exactly the limit
		{20251231, 20260304, 20260102, 62, 20260101, 20260101},
		{20241231, 20260304, 20260102, 62, 20250101, 20260101},
	} {
		dates, from, to := expiryDates(tc.done, tc.last)
		if uint32(len(dates)) != tc.n || dates[0] != tc.first || dates[len(dates)-1] != tc.last || from != tc.skipFrom || to != tc.to {
			t.Errorf("expiryDates(%d, %d): %d dates %v.., skipped %d..%d; want %d from %d, skipped %d..%d",
				tc.done, tc.last, len(dates), dates[0], from, to, tc.n, tc.first, tc.skipFrom, tc.to)
		}
		for i := 1; i < len(dates); i++ {
			if dates[i] != ledger.NextBusinessDate(dates[i-1]) {
				t.Errorf("expiryDates(%d, %d): %d after %d", tc.done, tc.last, dates[i], dates[i-1])
			}
		}
	}
}
