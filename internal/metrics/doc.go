// Package metrics is the host's Prometheus instrumentation: it owns every
// Prometheus type, so that the ledger and the gateway do not import
// Prometheus. They declare small observer interfaces (ledger.Observer,
// gateway.Observer) and this package implements them; the host wires one
// Metrics into both and serves Handler at GET /metrics on the admin
// listener (package admin).
//
// # Metrics
//
// Every name starts with cardcenter_ and ends with its unit:
//
//	cardcenter_requests_total{mti,proc,rc}              counter: requests answered
//	cardcenter_request_duration_seconds{mti}            histogram: frame read → response written
//	cardcenter_ledger_queue_depth_ops                   gauge: ops waiting for the writer
//	cardcenter_ledger_queue_capacity_ops                gauge: the queue's limit
//	cardcenter_ledger_commit_group_size_ops             histogram: ops per synced batch
//	cardcenter_ledger_sync_duration_seconds             histogram: one batch's Commit(pebble.Sync)
//	cardcenter_ledger_failed                            gauge: 1 once a commit failed (answers 96 until restart)
//	cardcenter_connections_open{listener,kind}          gauge: open terminal connections
//	cardcenter_connections_accepted_total{listener,kind} counter
//	cardcenter_connections_refused_total{listener,kind}  counter: over a connection limit
//
// plus the Go runtime's (go_*) and the process's (process_*) collectors.
// docs/operations.md ("Monitoring") explains each and the dashboard
// (docs/grafana-dashboard.json) built on them.
//
// # Closed label sets
//
// A terminal chooses the MTI and the processing code it sends. Were they
// label values as received, a hostile terminal could create a series per
// value it makes up and exhaust the host's memory and the Prometheus
// server's. So MTILabel, ProcLabel and RCLabel map them onto the sets
// the contract defines (wire.RequestMTIs, wire.ProcessingCodes,
// wire.ResponseCodes), anything else onto "other" ("none" for an absent
// field 3). The listener labels come from the configuration. The number
// of series is therefore bounded, whatever arrives on the wire.
//
// # Cost on the hot path
//
// RequestDone and CommitDone do not allocate: the label values are
// mapped to indexes by a scan of the closed sets (a dozen equality tests
// of short strings), and each
// (mti, proc, rc) counter and each mti histogram is resolved through
// WithLabelValues once, on first use, then kept in a fixed table of
// atomic pointers. A series appears in /metrics once it has been used,
// so the exposition holds only combinations that occurred.
//
// # Use
//
//	m := metrics.New()
//	st, _ := ledger.Open(dir, ledger.Options{Observer: m, …})
//	m.WatchStore(st)
//	gw, _ := gateway.New(gateway.Config{Observer: m, …}, st)
//	for _, l := range gw.Listeners() {
//		m.AddListener(l.Name, l.Kind) // idle listeners show at zero
//	}
//	admin.New(admin.Config{Metrics: m.Handler(), …})
//
// Each Metrics has its own prometheus.Registry: nothing is registered
// with Prometheus's global default, so several hosts may run in one
// process (the tests do).
package metrics
