package admin

// monitor.go: the endpoints of load balancers, orchestrators and
// monitoring: /readyz (no token), /metrics and /debug/pprof/ (token).
// GET /healthz, the process's liveness, is in handlers.go.

import (
	"errors"
	"net/http"
	"net/http/pprof"

	"github.com/cardcenter/cardcenter/ledger"
)

// ReadyBody is GET /readyz: {"status":"ready"}, or {"status":"not
// ready","reason":…} with 503.
type ReadyBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// Reasons of LedgerReady.
var (
	ErrLedgerFailed = errors.New("ledger failed")
	ErrLedgerClosed = errors.New("ledger closed")
)

// HealthChecker is what readiness reads of the ledger (a *ledger.Store).
type HealthChecker interface{ Health() error }

// LedgerReady is the ledger's half of readiness: nil while st is open
// and has not failed; else ErrLedgerFailed or ErrLedgerClosed, whose
// short texts are fit for /readyz (the cause, which may name files, is
// for the store's own log line).
func LedgerReady(st HealthChecker) error {
	switch err := st.Health(); {
	case err == nil:
		return nil
	case errors.Is(err, ledger.ErrFailed):
		return ErrLedgerFailed
	default:
		return ErrLedgerClosed
	}
}

// public says whether a path is served without the bearer token: the
// probes of load balancers and orchestrators, which say up or not and
// nothing else.
func public(path string) bool { return path == "/healthz" || path == "/readyz" }

// monitorRoutes mounts /readyz, /metrics and pprof. pprof's handlers are
// mounted here explicitly: the package's import also registers them on
// http.DefaultServeMux, which this host never serves.
func (s *Server) monitorRoutes() {
	m := s.mux
	m.HandleFunc("GET /readyz", s.readyz)
	if s.metrics != nil {
		m.Handle("GET /metrics", s.metrics)
	}
	m.HandleFunc("GET /debug/pprof/", pprof.Index) // and every named profile: heap, goroutine, allocs, …
	m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, ReadyBody{Status: "not ready", Reason: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, ReadyBody{Status: "ready"})
}
