package admin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// /healthz and /readyz answer without a token; /metrics and pprof only
// with it (401 and a WWW-Authenticate challenge without).
func TestMonitorAuth(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "cardcenter_test_metric 1")
	})
	e := newEnvWith(t, func(c *Config) { c.Metrics = metrics })
	for _, tc := range []struct {
		path, token string
		want        int
		body        string
	}{
		{"/healthz", "", 200, `"ok"`},
		{"/readyz", "", 200, `"ready"`},
		{"/metrics", "", 401, ""},
		{"/metrics", "wrong-token-wrong-token-wrong-token", 401, ""},
		{"/metrics", e.token, 200, "cardcenter_test_metric 1"},
		{"/debug/pprof/", "", 401, ""},
		{"/debug/pprof/cmdline", "", 401, ""},
		{"/debug/pprof/heap", "", 401, ""},
		{"/debug/pprof/profile?seconds=1", "", 401, ""},
		{"/debug/pprof/trace?seconds=1", "", 401, ""},
		{"/debug/pprof/", e.token, 200, "goroutine"},
		{"/debug/pprof/cmdline", e.token, 200, "admin.test"},
	} {
		status, _, body := e.raw("GET", tc.path, tc.token, nil)
		if status != tc.want || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s (token %v): %d, want %d with %q", tc.path, tc.token != "", status, tc.want, tc.body)
		}
	}
}

// Without a Metrics handler, /metrics is not an endpoint.
func TestMetricsAbsent(t *testing.T) {
	e := newEnv(t)
	if status, _, _ := e.raw("GET", "/metrics", e.token, nil); status != http.StatusNotFound {
		t.Errorf("GET /metrics without a handler: %d, want 404", status)
	}
}

type failingStore struct{ err error }

func (f failingStore) Health() error { return f.err }

// /readyz answers 503 with a short reason when the ledger has failed or
// is closed, or the host's own check says so; never the cause's text.
func TestReadyz(t *testing.T) {
	failed := fmt.Errorf("%w: ledger: commit: write /data/ledger/000042.log: no space left on device", ledger.ErrFailed)
	e := newEnvWith(t, func(c *Config) { c.Ready = func() error { return LedgerReady(failingStore{failed}) } })
	status, _, body := e.raw("GET", "/readyz", "", nil)
	var rb ReadyBody
	json.Unmarshal([]byte(body), &rb)
	if status != http.StatusServiceUnavailable || rb != (ReadyBody{Status: "not ready", Reason: "ledger failed"}) {
		t.Errorf("failed ledger: %d %s", status, body)
	}
	if strings.Contains(body, "000042") || strings.Contains(body, "/data") {
		t.Errorf("/readyz reveals the cause: %s", body)
	}

	// The default check reads the Store: closed, it is not ready, and the
	// process is still up.
	e2 := newEnv(t)
	if status, _, _ := e2.raw("GET", "/readyz", "", nil); status != http.StatusOK {
		t.Fatalf("open ledger: /readyz %d", status)
	}
	if err := e2.store.Close(); err != nil {
		t.Fatal(err)
	}
	status, _, body = e2.raw("GET", "/readyz", "", nil)
	json.Unmarshal([]byte(body), &rb)
	if status != http.StatusServiceUnavailable || rb.Reason != "ledger closed" {
		t.Errorf("closed ledger: %d %s", status, body)
	}
	if status, _, _ := e2.raw("GET", "/healthz", "", nil); status != http.StatusOK {
		t.Errorf("/healthz with the ledger closed: %d, want 200", status)
	}
}
