package metrics

import "github.com/prometheus/client_golang/prometheus"

// lsmCollector exposes Pebble's background work (ledger.LSM) as four
// gauges from one reading a scrape: reading it takes Pebble's metrics
// lock and sums its levels, so it is read once, not once a gauge.
type lsmCollector struct{ s Store }

var (
	lsmCompacting = prometheus.NewDesc("cardcenter_ledger_compactions_running",
		"Pebble compactions running now.", nil, nil)
	lsmFlushing = prometheus.NewDesc("cardcenter_ledger_flushes_running",
		"Pebble memtable flushes running now.", nil, nil)
	lsmDebt = prometheus.NewDesc("cardcenter_ledger_compaction_debt_bytes",
		"Pebble's estimate of the bytes compactions still owe; growing without end means the disk cannot keep up with the writes.", nil, nil)
	lsmReadAmp = prometheus.NewDesc("cardcenter_ledger_read_amplification",
		"Sorted runs a point read may consult (L0 sublevels plus non-empty levels); Pebble stalls writes when L0 grows.", nil, nil)
)

func (lsmCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lsmCompacting
	ch <- lsmFlushing
	ch <- lsmDebt
	ch <- lsmReadAmp
}

func (c lsmCollector) Collect(ch chan<- prometheus.Metric) {
	l := c.s.LSM()
	for _, g := range []struct {
		desc *prometheus.Desc
		v    float64
	}{
		{lsmCompacting, float64(l.Compacting)},
		{lsmFlushing, float64(l.Flushing)},
		{lsmDebt, float64(l.CompactionDebt)},
		{lsmReadAmp, float64(l.ReadAmp)},
	} {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.v)
	}
}
