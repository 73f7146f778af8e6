package main

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/settlegen"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/rs/zerolog"
)

// TestSettleCatchUp: serve's settlement loop, on the host's clock,
// settles every ended date with journal entries, oldest first, and
// leaves today's open; run again it posts nothing.
func TestSettleCatchUp(t *testing.T) {
	dataDir := t.TempDir()
	cst := time.FixedZone("CST", 8*3600)
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	clock.Store(time.Date(2026, 3, 9, 12, 0, 0, 0, cst).UnixNano())
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{Now: now, PruneInterval: -1})
	mustDo(t, err)
	defer st.Close()
	ctx := context.Background()
	mustDo(t, settlegen.Generate(ctx, st, settlegen.Config{Merchants: 4, Cards: 10, Txns: 40}))
	clock.Store(time.Date(2026, 3, 11, 12, 0, 0, 0, cst).UnixNano())
	// A journal entry today: the loop leaves today's date open.
	if _, err := st.Adjust(ctx, settlegen.PAN(0), 100, "today"); err != nil {
		t.Fatal(err)
	}

	job := newSettleJob(st, dataDir, now, zerolog.Nop())
	mustDo(t, job.catchUp(ctx))
	rec, err := st.SettlementRecord(20260309)
	if err != nil || rec == nil || !rec.Settled {
		t.Fatalf("2026-03-09 after the catch-up: %+v %v", rec, err)
	}
	if rec, err := st.SettlementRecord(20260311); err != nil || rec != nil {
		t.Fatalf("today was closed: %+v %v", rec, err)
	}
	if _, err := os.Stat(filepath.Join(settlementDir(dataDir), "20260309", "summary.csv")); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		n := 0
		mustDo(t, st.ScanJournal(ctx, func(x *ledger.Txn) error {
			if x.Kind == ledger.KindSettlement {
				n++
			}
			return nil
		}))
		return n
	}
	before := count()
	if before != 4 {
		t.Fatalf("settlement entries: %d, want one per merchant (4)", before)
	}
	mustDo(t, job.catchUp(ctx))
	if after := count(); after != before {
		t.Fatalf("a second catch-up posted %d more", after-before)
	}
}
