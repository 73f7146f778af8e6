package ledger

import (
	"context"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

// BenchmarkPurchase measures the writer's cost of a durable purchase,
// with the program's loyalty rules off and on (the demo mall's rules:
// three tiers, a period double, ×2 from the 6th visit, a birthday
// bonus, lots), many requests in flight so that group commit hides the
// fsync and the writer's CPU is what is measured. It is the store-level
// half of `cardcenter bench --loyalty`.
//
// It reports decisions/s, the writer's rate alone (no network, no ISO
// 8583: issue 10's "writer alone" figure), with every group synced
// (sync=true, as in production) and without the sync (sync=false: the
// store opened with Options.UnsafeNoSync, which only a benchmark may
// set), which says what the writer and Pebble cost when the disk is free.
func BenchmarkPurchase(b *testing.B) {
	for _, on := range []bool{false, true} {
		for _, synced := range []bool{true, false} {
			b.Run(fmt.Sprintf("loyalty=%v/sync=%v", on, synced), func(b *testing.B) { benchPurchase(b, on, synced, benchTerminals) })
		}
	}
}

// BenchmarkPurchaseTerminals is BenchmarkPurchase's plain purchases,
// unsynced, from 64 terminals and from 10,000: what the writer's cost
// of a purchase grows by when its terminals' keys and records are many
// and out of the CPU's caches (writer-busy-ns/op of one against the
// other; terminals.go).
func BenchmarkPurchaseTerminals(b *testing.B) {
	for _, n := range []int{benchTerminals, 10000} {
		b.Run(fmt.Sprintf("terminals=%d", n), func(b *testing.B) { benchPurchase(b, false, false, n) })
	}
}

const (
	benchCards     = 10000
	benchTerminals = 64
	benchInFlight  = 512
)

func benchPurchase(b *testing.B, loyaltyOn, synced bool, terminals int) {
	clk := &fixedClock{time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	s, err := Open(b.TempDir(), Options{Now: clk.now, UnsafeNoSync: !synced})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	p := Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1}
	if loyaltyOn {
		p.Loyalty = &loyalty.Rules{
			EarnRateBP: 10000, TierWindowMonths: 3,
			Tiers: []loyalty.Tier{
				{Name: "Pearl", MultiplierBP: 10000},
				{Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 12000, DiscountBP: 200},
				{Name: "Diamond", ThresholdFen: 500000, MultiplierBP: 15000, DiscountBP: 500},
			},
			Campaigns: []loyalty.Campaign{
				{ID: "december-double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, Priority: 2},
				{ID: "sixth-visit", Kind: loyalty.CampaignVisit, MultiplierBP: 20000, VisitFrom: 6, Priority: 1},
				{ID: "birthday", Kind: loyalty.CampaignBirthday, BonusPoints: 500, WindowDays: 7},
			},
			Lots:       loyalty.LotPolicy{Kind: loyalty.LotEndOfMonth, Months: 12},
			NoticeDays: 30,
		}
	}
	must(b, s.PutProgram(ctx, p))
	tids := make([]string, terminals)
	for i := range tids {
		mid := fmt.Sprintf("BMID%011d", i/8)
		if i%8 == 0 {
			must(b, s.PutMerchant(ctx, Merchant{MID: mid, ProgramID: "p1", Home: true, MDRBP: 50}))
		}
		tids[i] = fmt.Sprintf("B%07d", i)
		must(b, s.PutTerminal(ctx, Terminal{TID: tids[i], MID: mid, Enabled: true}))
	}
	pans := provisionBenchCards(b, s, benchCards, func(i int) Member {
		return Member{Registered: true, Birthday: fmt.Sprintf("%02d-%02d", i%12+1, i%28+1)}
	})
	// Every card is hot now (provisioned and credited through the
	// writer): what each costs the garbage collector is the live heap
	// objects a card, the store's own fixed few spread over them.
	// (Reported at the end: ResetTimer drops the metrics reported before.)
	objectsPerCard := liveHeapObjects() / benchCards
	mids := func(i int) string { return fmt.Sprintf("BMID%011d", i/8) }
	for i, tid := range tids {
		r := &Request{Kind: KindSignOn, MTI: "0800", TID: tid, MID: mids(i), STAN: "000001", Time: "1203100000"}
		if res, err := s.Do(ctx, r); err != nil || res.Err != nil {
			b.Fatal(err, res.Err)
		}
	}
	reqs := make([]*Request, b.N)
	for i := range reqs {
		t := i % terminals
		n := i/terminals + 2
		r := &Request{Kind: KindPurchase, MTI: "0200", TID: tids[t], MID: mids(t),
			STAN: fmt.Sprintf("%06d", n%1_000_000), Time: fmt.Sprintf("1203%06d", n/1_000_000),
			PAN: pans[i%benchCards], Amount: Amount(1000 + i%5000), Batch: 1}
		sum := sha256.Sum256([]byte(r.TID + r.STAN + r.Time))
		r.Fingerprint = [16]byte(sum[:16])
		reqs[i] = r
	}
	sem := make(chan struct{}, benchInFlight)
	var done sync.WaitGroup
	b.ReportAllocs()
	cpu0, busy0 := processCPU(b), s.writerBusy.Load()
	m0 := s.db.Metrics()
	b.ResetTimer()
	start := time.Now()
	for _, r := range reqs {
		sem <- struct{}{}
		done.Add(1)
		err := s.Submit(ctx, r, func(res Result) {
			if res.Err != nil {
				b.Error(res.Err)
			}
			<-sem
			done.Done()
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	done.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(objectsPerCard, "heap-objects/card")
	// The process's CPU time per purchase (writer, committer, Pebble's
	// flushes and compactions, GC): the figure that bounds throughput
	// when the cores are shared with the terminals' load.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	// The writer goroutine's wall time inside apply per purchase
	// (preemption included): close to ns/op, the writer is the
	// bottleneck; 1e9 / it bounds decisions a second on this load.
	b.ReportMetric(float64(s.writerBusy.Load()-busy0)/float64(b.N), "writer-busy-ns/op")
	m1 := s.db.Metrics()
	b.ReportMetric(float64(m1.WAL.BytesWritten-m0.WAL.BytesWritten)/float64(b.N), "wal-B/op")
	b.ReportMetric(float64(m1.Total().TableBytesCompacted+m1.Total().TableBytesFlushed-m0.Total().TableBytesCompacted-m0.Total().TableBytesFlushed)/float64(b.N), "table-B/op")
}

// provisionBenchCards makes n cards of program p1 at home merchant
// BMID00000000000, member(i) the i-th's member, each credited with an
// opening balance, through the writer (so every one is hot), many at a
// time; it returns their PANs.
func provisionBenchCards(b *testing.B, s *Store, n int, member func(i int) Member) []string {
	const workers = 32
	ctx := context.Background()
	pans := testPANs("629200%09d", n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				must(b, s.PutCard(ctx, Card{PAN: pans[i], ProgramID: "p1", HomeMID: "BMID00000000000", Product: "magstripe",
					State: CardActive, Expiry: "4912", MaxBalance: 1_000_000_000, Member: member(i)}))
				if _, err := s.Adjust(ctx, pans[i], 100_000_000, "opening"); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	return pans
}

// liveHeapObjects is the number of objects live on the heap after a
// full collection.
func liveHeapObjects() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapObjects)
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
