package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/admin"
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
