package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Histogram buckets. Latencies run from tens of microseconds (an echo)
// to the seconds of a stalled disk; MaxQueueWait (5 s) ends the worst
// wait, so the last bucket is 10 s. Group sizes run from 1 to the
// ledger's maxOpsPerBatch (2048), in powers of two.
var (
	latencyBuckets   = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	groupSizeBuckets = prometheus.ExponentialBuckets(1, 2, 12) // 1 … 2048
)

// maxScrapesInFlight bounds concurrent GET /metrics: a scrape walks every
// series, and the admin listener serves operators too.
const maxScrapesInFlight = 4

// Metrics is one host's instrumentation. It implements ledger.Observer
// (CommitDone) and gateway.Observer (RequestDone, ConnOpened, ConnClosed,
// ConnRefused). Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// reqByIdx and latByIdx are the children of requests and latency
	// resolved on first use, indexed by the closed label sets (labels.go),
	// so that the hot path neither hashes label values nor allocates.
	reqByIdx []atomic.Pointer[prometheus.Counter]
	latByIdx []atomic.Pointer[prometheus.Observer]

	groupSize prometheus.Histogram
	syncDur   prometheus.Histogram

	connOpen     *prometheus.GaugeVec
	connAccepted *prometheus.CounterVec
	connRefused  *prometheus.CounterVec
	connMu       sync.Mutex
	conns        map[listenerKey]*connSeries
}

type listenerKey struct{ name, kind string }

// connSeries are one listener's connection series.
type connSeries struct {
	open     prometheus.Gauge
	accepted prometheus.Counter
	refused  prometheus.Counter
}

// New makes a Metrics with its own registry, holding the Go runtime and
// process collectors and the host's metrics (package doc).
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardcenter_requests_total",
			Help: "Requests answered, by request MTI, processing code (field 3) and response code (field 39); values outside the contract are 'other'.",
		}, []string{"mti", "proc", "rc"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cardcenter_request_duration_seconds",
			Help:    "Time from a request's frame read to its response written, by request MTI.",
			Buckets: latencyBuckets,
		}, []string{"mti"}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cardcenter_ledger_commit_group_size_ops",
			Help:    "Ops (requests and operator changes) per group commit: one synced Pebble batch.",
			Buckets: groupSizeBuckets,
		}),
		syncDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cardcenter_ledger_sync_duration_seconds",
			Help:    "Duration of one group commit's Commit(pebble.Sync): the write and the fsync.",
			Buckets: latencyBuckets,
		}),
		connOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cardcenter_connections_open",
			Help: "Open terminal connections (a serial listener: 1 while its device is open), by listener.",
		}, []string{"listener", "kind"}),
		connAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardcenter_connections_accepted_total",
			Help: "Terminal connections accepted (serial: device sessions), by listener.",
		}, []string{"listener", "kind"}),
		connRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardcenter_connections_refused_total",
			Help: "Terminal connections closed at accept, over the total or per-source connection limit, by listener.",
		}, []string{"listener", "kind"}),
		conns: make(map[listenerKey]*connSeries),
	}
	m.reqByIdx = make([]atomic.Pointer[prometheus.Counter], len(mtiSet.values)*len(procSet.values)*len(rcSet.values))
	m.latByIdx = make([]atomic.Pointer[prometheus.Observer], len(mtiSet.values))
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.latency, m.groupSize, m.syncDur, m.connOpen, m.connAccepted, m.connRefused,
	)
	return m
}

// Registry is the Metrics' own registry (for a test's Gather, or to add
// collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or
// OpenMetrics when the scraper asks), for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapesInFlight,
	})
}

// RequestDone counts one answered request and observes its latency
// (gateway.Observer). It does not allocate once the series is in use.
func (m *Metrics) RequestDone(mti, proc, rc string, latency time.Duration) {
	mi := mtiSet.index(mti)
	i := (mi*len(procSet.values)+procSet.index(proc))*len(rcSet.values) + rcSet.index(rc)
	c := m.reqByIdx[i].Load()
	if c == nil {
		c = m.resolveRequest(i)
	}
	(*c).Inc()
	h := m.latByIdx[mi].Load()
	if h == nil {
		h = m.resolveLatency(mi)
	}
	(*h).Observe(latency.Seconds())
}

// resolveRequest makes the counter of table index i (first use only; two
// goroutines racing resolve the same child: WithLabelValues returns one
// child per label set).
func (m *Metrics) resolveRequest(i int) *prometheus.Counter {
	nRC, nProc := len(rcSet.values), len(procSet.values)
	rc, rest := i%nRC, i/nRC
	c := m.requests.WithLabelValues(mtiSet.values[rest/nProc], procSet.values[rest%nProc], rcSet.values[rc])
	m.reqByIdx[i].Store(&c)
	return &c
}

func (m *Metrics) resolveLatency(mi int) *prometheus.Observer {
	h := m.latency.WithLabelValues(mtiSet.values[mi])
	m.latByIdx[mi].Store(&h)
	return &h
}

// CommitDone observes one group commit (ledger.Observer).
func (m *Metrics) CommitDone(ops int, syncDur time.Duration) {
	m.groupSize.Observe(float64(ops))
	m.syncDur.Observe(syncDur.Seconds())
}

// Store is what WatchStore reads of the ledger (a *ledger.Store).
type Store interface {
	QueueDepth() int
	QueueCapacity() int
	Health() error
	LSM() ledger.LSM
}

// WatchStore adds the ledger's gauges, read at each scrape: the writer's
// queue depth and capacity, Pebble's background work (lsmCollector),
// and whether the store is healthy (open and not failed). Call it once
// per Metrics.
func (m *Metrics) WatchStore(s Store) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cardcenter_ledger_queue_depth_ops",
			Help: "Ops waiting for the ledger's single writer.",
		}, func() float64 { return float64(s.QueueDepth()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cardcenter_ledger_queue_capacity_ops",
			Help: "The writer queue's limit: past it submitters wait, then are answered 96.",
		}, func() float64 { return float64(s.QueueCapacity()) }),
		lsmCollector{s},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cardcenter_ledger_healthy",
			Help: "1 while the ledger is open and no commit has failed; 0 once failed (every request answered 96 until a restart) or closed.",
		}, func() float64 {
			if s.Health() != nil {
				return 0
			}
			return 1
		}),
	)
}

// AddListener makes a listener's connection series exist at zero, so a
// dashboard shows an idle listener (gateway.Server.Listeners names them).
func (m *Metrics) AddListener(name, kind string) { m.connsOf(name, kind) }

// ConnOpened, ConnClosed and ConnRefused count connections (gateway.Observer).
func (m *Metrics) ConnOpened(listener, kind string) {
	cs := m.connsOf(listener, kind)
	cs.open.Inc()
	cs.accepted.Inc()
}

func (m *Metrics) ConnClosed(listener, kind string) { m.connsOf(listener, kind).open.Dec() }

func (m *Metrics) ConnRefused(listener, kind string) { m.connsOf(listener, kind).refused.Inc() }

// connsOf is a listener's series. The listener names come from the
// host's configuration, so the map is as small as the listener list.
func (m *Metrics) connsOf(name, kind string) *connSeries {
	k := listenerKey{name, kind}
	m.connMu.Lock()
	defer m.connMu.Unlock()
	cs := m.conns[k]
	if cs == nil {
		cs = &connSeries{
			open:     m.connOpen.WithLabelValues(name, kind),
			accepted: m.connAccepted.WithLabelValues(name, kind),
			refused:  m.connRefused.WithLabelValues(name, kind),
		}
		m.conns[k] = cs
	}
	return cs
}
