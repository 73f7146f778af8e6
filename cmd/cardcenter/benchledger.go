package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// benchledger.go: what the ledger's group commit did during a run, read
// from the host's own Prometheus metrics (the bench host serves them on
// a loopback port of its own) before and after the run. A purchase's
// cost to the host depends on how many others share its commit: each
// commit is one batch written to Pebble, one WAL fsync and one round of
// hand-offs between the writer, the committer and the releaser. At one
// request in flight on every connection the groups are large; on an
// open loop at a low rate they are small, and every purchase pays for
// more of a sync.

// Metric names the bench reads (internal/metrics).
const (
	metricGroupSize = "cardcenter_ledger_commit_group_size_ops"
	metricSyncDur   = "cardcenter_ledger_sync_duration_seconds"
	// benchScrapeTimeout bounds one scrape of the bench host's metrics.
	benchScrapeTimeout = 5 * time.Second
)

// commitStats are the group-commit histograms as scraped: cumulative
// since the host started.
type commitStats struct {
	groups  uint64    // group commits (one synced batch each)
	ops     float64   // ops committed in them
	syncSec float64   // seconds in Commit(pebble.Sync), summed
	bounds  []float64 // the sync histogram's upper bounds, seconds
	counts  []uint64  // its cumulative counts, one per bound
}

// scrapeCommits reads the host's commit histograms from its metrics
// endpoint at addr.
func scrapeCommits(ctx context.Context, addr string) (commitStats, error) {
	ctx, cancel := context.WithTimeout(ctx, benchScrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return commitStats{}, err
	}
	req.Header.Set("Accept", "text/plain") // the text format
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return commitStats{}, fmt.Errorf("scrape the bench host's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return commitStats{}, fmt.Errorf("scrape the bench host's metrics: HTTP %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return commitStats{}, fmt.Errorf("parse the bench host's metrics: %w", err)
	}
	size, sync := histogramOf(fams[metricGroupSize]), histogramOf(fams[metricSyncDur])
	if size == nil || sync == nil {
		return commitStats{}, fmt.Errorf("the bench host's metrics lack %s or %s", metricGroupSize, metricSyncDur)
	}
	s := commitStats{groups: size.GetSampleCount(), ops: size.GetSampleSum(), syncSec: sync.GetSampleSum()}
	for _, b := range sync.GetBucket() {
		s.bounds = append(s.bounds, b.GetUpperBound())
		s.counts = append(s.counts, b.GetCumulativeCount())
	}
	return s, nil
}

// histogramOf is a family's only histogram; nil when it has none.
func histogramOf(mf *dto.MetricFamily) *dto.Histogram {
	if mf == nil || len(mf.GetMetric()) != 1 {
		return nil
	}
	return mf.GetMetric()[0].GetHistogram()
}

// commitDelta is what the group commit did between two scrapes.
type commitDelta struct {
	groups  uint64
	opsPer  float64       // mean ops a group
	perSec  float64       // groups a second
	syncAvg time.Duration // mean Commit(pebble.Sync)
	syncP99 float64       // upper bound of the bucket holding the 99th percentile, seconds; +Inf past the last
}

// since is the commits between before and s, over elapsed.
func (s commitStats) since(before commitStats, elapsed time.Duration) commitDelta {
	d := commitDelta{groups: s.groups - before.groups}
	if d.groups == 0 || elapsed <= 0 {
		return d
	}
	d.opsPer = (s.ops - before.ops) / float64(d.groups)
	d.perSec = float64(d.groups) / elapsed.Seconds()
	d.syncAvg = time.Duration((s.syncSec - before.syncSec) / float64(d.groups) * float64(time.Second))
	d.syncP99 = math.Inf(1)
	want := uint64(math.Ceil(0.99 * float64(d.groups)))
	for i, bound := range s.bounds {
		n := s.counts[i]
		if i < len(before.counts) {
			n -= before.counts[i]
		}
		if n >= want {
			d.syncP99 = bound
			break
		}
	}
	return d
}

// String is the run's ledger line.
func (d commitDelta) String() string {
	if d.groups == 0 {
		return "no group commits"
	}
	return fmt.Sprintf("%d group commits (%.0f/s), %.1f ops a commit; sync mean %s, p99 ≤ %s",
		d.groups, d.perSec, d.opsPer, roundUs(d.syncAvg), formatBound(d.syncP99))
}

// formatBound is a histogram bound in seconds as a duration.
func formatBound(sec float64) string {
	if math.IsInf(sec, 1) {
		return "∞"
	}
	return time.Duration(sec * float64(time.Second)).String()
}

// cell is the commits in a table cell: a second's commits × their
// mean ops, and the sync's mean and p99 bound.
func (d commitDelta) cell() string {
	if d.groups == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/s × %.1f; %s, ≤ %s", d.perSec, d.opsPer, roundMs(d.syncAvg), formatBound(d.syncP99))
}
