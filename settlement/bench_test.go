package settlement

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/settlegen"
	"github.com/cardcenter/cardcenter/ledger"
)

// BenchmarkSettleDate settles one business date of 1,000,000
// transactions across 200 merchants (SETTLE_BENCH_TXNS changes the
// count): the journal is generated first through Store.Submit (not
// timed), then the whole job is timed: close, read and compute the
// journal, post 200 positions, write 400 merchant files and the summary.
// It reports transactions settled per second; docs/performance.md keeps
// the figure. One iteration is the measurement: a second would be a
// rerun of a settled date.
func BenchmarkSettleDate(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SETTLE_BENCH_TXNS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	clk := &clock{time.Date(2026, 11, 23, 10, 0, 0, 0, cst)}
	st, err := ledger.Open(b.TempDir(), ledger.Options{Now: clk.now, PruneInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	if err := settlegen.Generate(ctx, st, settlegen.Config{Merchants: 200, Cards: 20_000, Txns: n}); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d transactions in %s", n, time.Since(start).Round(time.Millisecond))
	// Settlement runs at night on a store the day has written: its time
	// is its own, not that of compacting what the generator just wrote.
	if err := st.WaitQuiet(ctx); err != nil {
		b.Fatal(err)
	}
	clk.t = clk.t.AddDate(0, 0, 1)
	root := b.TempDir()
	b.ResetTimer()
	var res Result
	for i := 0; i < b.N; i++ {
		j := &Job{Ledger: st, Root: root}
		if res, err = j.Settle(ctx, 20261123, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if res.Entries != n {
		b.Fatalf("settled %d entries, want %d", res.Entries, n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "txns/s")
}
