package ledger

import (
	"fmt"
	"testing"
)

// The filter never forgets a key, across growth, and its false-positive
// rate stays near the target.
func TestIdentityFilter(t *testing.T) {
	f := newIdentityFilter(0)
	f.filters = nil
	f.grow(1000) // small, to exercise growth
	for i := 0; i < 10000; i++ {
		f.Add(fmt.Sprintf("idem/T%07d/%06d/1123100000", i%7, i))
	}
	if len(f.filters) < 3 {
		t.Fatalf("%d filters after 10× capacity", len(f.filters))
	}
	for i := 0; i < 10000; i++ {
		if !f.MayContain(fmt.Sprintf("idem/T%07d/%06d/1123100000", i%7, i)) {
			t.Fatalf("key %d forgotten", i)
		}
	}
	fp := 0
	const probes = 100000
	for i := 0; i < probes; i++ {
		if f.MayContain(fmt.Sprintf("idem/X%07d/%06d/1123100000", i, i)) {
			fp++
		}
	}
	// A chain of n filters at 1% each: at most about n%.
	if rate := float64(fp) / probes; rate > 0.01*float64(len(f.filters))+0.01 {
		t.Fatalf("false-positive rate %.3f with %d filters", rate, len(f.filters))
	}
}

func BenchmarkIdentityFilterMiss(b *testing.B) {
	f := newIdentityFilter(1 << 20)
	for i := 0; i < 1<<20; i++ {
		f.Add(fmt.Sprintf("idem/T%07d/%06d/1123100000", i%256, i))
	}
	key := "idem/T0000001/999999/1231235959"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.MayContain(key)
	}
}

func BenchmarkIdentityFilterAdd(b *testing.B) {
	f := newIdentityFilter(1 << 20)
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("idem/T%07d/%06d/1123100000", i%256, i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Add(keys[i&(len(keys)-1)])
		if f.filters[len(f.filters)-1].count > 1<<20 {
			f.filters[len(f.filters)-1].count = 0 // stay in one filter: measure Add, not growth
		}
	}
}
