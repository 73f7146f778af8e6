package ledger

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
)

// BenchmarkHotCardsGC measures what the writer's hot cards cost each
// garbage collection: the CPU a full cycle spends (marking, assists,
// pauses), with gcBenchCards cards provisioned and credited through the
// writer, so every one is in the card cache as a decision leaves it.
// A cycle marks every live object, so this is the price the host pays
// every few seconds under load at a million cards, in proportion
// (docs/performance.md, "The garbage collector"); gc-cpu-ns/card is
// that price per hot card.
func BenchmarkHotCardsGC(b *testing.B) {
	const gcBenchCards = 100_000
	s, err := Open(b.TempDir(), Options{HotCards: 2 * gcBenchCards})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	must(b, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1}))
	must(b, s.PutMerchant(ctx, Merchant{MID: "BMID00000000000", ProgramID: "p1", Home: true}))
	provisionBenchCards(b, s, gcBenchCards, func(i int) Member {
		return Member{Registered: true, Name: fmt.Sprintf("Member %d", i), Birthday: fmt.Sprintf("%02d-%02d", i%12+1, i%28+1)}
	})
	if n := cardsCached(b, s); n < gcBenchCards {
		b.Fatalf("%d cards cached, want %d", n, gcBenchCards)
	}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(sample)
	cpu0 := sample[0].Value.Float64()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
	}
	b.StopTimer()
	metrics.Read(sample)
	perCycle := (sample[0].Value.Float64() - cpu0) / float64(b.N)
	b.ReportMetric(perCycle*1e3, "gc-cpu-ms/cycle")
	b.ReportMetric(perCycle*1e9/gcBenchCards, "gc-cpu-ns/card")
	b.ReportMetric(liveHeapObjects()/gcBenchCards, "heap-objects/card")
}
