package terminal

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value lies within its bucket, and buckets are contiguous.
	prevUpper := int64(-1)
	for i := 0; i < histBuckets; i++ {
		up := histUpper(i)
		if i > 0 && up <= uint64(prevUpper) {
			t.Fatalf("bucket %d upper %d not above %d", i, up, prevUpper)
		}
		if histIndex(up) != i || histIndex(uint64(prevUpper+1)) != i {
			t.Fatalf("bucket %d: index(%d)=%d index(%d)=%d", i, up, histIndex(up), prevUpper+1, histIndex(uint64(prevUpper+1)))
		}
		prevUpper = int64(up)
		if up == 1<<63-1 || int64(up) < 0 {
			break
		}
	}
	if histIndex(^uint64(0)) != histBuckets-1 {
		t.Fatalf("max value index %d, buckets %d", histIndex(^uint64(0)), histBuckets)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 100_000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	check := func(q float64, want time.Duration) {
		got := h.Quantile(q)
		if d := float64(got-want) / float64(want); d < -0.001 || d > 1.0/64 {
			t.Errorf("q%.4f = %s, want about %s", q, got, want)
		}
	}
	check(0.5, 50*time.Millisecond)
	check(0.99, 99*time.Millisecond)
	check(0.999, 99900*time.Microsecond)
	if h.Quantile(1) != 100*time.Millisecond || h.Max() != 100*time.Millisecond || h.Min() != time.Microsecond {
		t.Errorf("max %s min %s", h.Max(), h.Min())
	}
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	a.Merge(&b)
	if a.Count() != 2 || a.Mean() != 2*time.Millisecond || a.Max() != 3*time.Millisecond {
		t.Errorf("merge: %d %s %s", a.Count(), a.Mean(), a.Max())
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("empty")
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	for i := 0; i < b.N; i++ {
		h.Record(time.Duration(i))
	}
}
