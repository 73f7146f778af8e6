package admin

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/logguard"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// Limits and timeouts of the admin server.
const (
	// MaxBodyBytes bounds a JSON request body.
	MaxBodyBytes = 64 << 10
	// MaxImportBytes bounds POST /v1/import's YAML body.
	MaxImportBytes = provision.MaxFileBytes
	// maxInFlight bounds requests served at once; past it the answer is 503.
	maxInFlight = 32
	// maxHistoryLimit and maxCardPage bound list sizes (the ledger's own
	// bound is 1000).
	maxHistoryLimit     = 1000
	defaultHistoryLimit = 50
	maxCardPage         = 1000
	defaultCardPage     = 100
	// maxNoteLen bounds an operator's note.
	maxNoteLen = 200

	readHeaderTimeout = 5 * time.Second
	readTimeout       = 60 * time.Second // an import body may be large
	writeTimeout      = 3 * time.Minute  // an import writes every card
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
	// writeOpTimeout bounds one store change; importTimeout a whole import.
	writeOpTimeout = 30 * time.Second
	importTimeout  = 150 * time.Second
)

// Config configures a Server.
type Config struct {
	// Store is the open ledger the API reads and changes.
	Store *ledger.Store
	// Token is the bearer token every /v1 request must carry
	// (LoadOrCreateToken).
	Token string
	// Logger gets one event per change; never a token or a clear PAN.
	Logger zerolog.Logger
	// Now is the clock that decides whether a card is expired (default
	// time.Now).
	Now func() time.Time
	// Guard rate-limits the log lines that unauthenticated callers cause
	// (failed logins, net/http's own lines such as failed TLS
	// handshakes) and counts them; GET /v1/stats shows its counters,
	// the gateway's too when it shares the Guard. Default: one of its
	// own.
	Guard *logguard.Guard
	// Expire runs the expiry job for a business date and drains the
	// outbox (the host's one runner, admin/loyalty.go); nil: POST
	// /v1/loyalty/expire answers 503.
	Expire ExpireFunc
	// Settle runs the settlement job for a business date (the host's one
	// runner, admin/settlement.go); nil: POST /v1/settlement/settle
	// answers 503.
	Settle SettleFunc
	// Metrics, when set, is served at GET /metrics (behind the token);
	// the host's is internal/metrics' Handler. Nil: 404.
	Metrics http.Handler
	// Ready says whether the host can serve terminals (GET /readyz): nil,
	// or an error whose text is the short reason shown (it must name no
	// file, key or card). Default: LedgerReady of Store.
	Ready func() error
}

// Kinds of the admin API's rate-limited log lines (logguard).
const (
	// EventAuthFailed: a request without the right bearer token.
	EventAuthFailed = "admin_auth_failed"
	// EventHTTPError: a line of net/http's own (a failed TLS handshake, a
	// malformed request line, an accept error).
	EventHTTPError = "admin_http_error"
)

// Server is the operators' HTTP API. It serves on a listener the caller
// binds (127.0.0.1 by default, see the CLI).
type Server struct {
	store    *ledger.Store
	tokenSum [sha256.Size]byte
	log      zerolog.Logger
	guard    *logguard.Guard
	now      func() time.Time
	mux      *http.ServeMux
	srv      *http.Server
	inFlight chan struct{}
	// importing serialises imports: one at a time.
	importing chan struct{}
	// cursor seals card-list cursors, so a cursor is never a clear PAN.
	cursor cipher.AEAD
	expire ExpireFunc
	settle SettleFunc
	// metrics and ready: monitor.go.
	metrics http.Handler
	ready   func() error
}

// New makes a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("admin: no store")
	}
	if len(cfg.Token) < minTokenLen {
		return nil, fmt.Errorf("admin: token shorter than %d characters", minTokenLen)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Guard == nil {
		cfg.Guard = logguard.New(logguard.Config{})
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("admin: cursor key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &Server{
		store:     cfg.Store,
		tokenSum:  sha256.Sum256([]byte(cfg.Token)),
		log:       cfg.Logger, // the caller names the component
		guard:     cfg.Guard,
		now:       cfg.Now,
		mux:       http.NewServeMux(),
		inFlight:  make(chan struct{}, maxInFlight),
		importing: make(chan struct{}, 1),
		cursor:    aead,
		expire:    cfg.Expire,
		settle:    cfg.Settle,
		metrics:   cfg.Metrics,
		ready:     cfg.Ready,
	}
	if s.ready == nil {
		s.ready = func() error { return LedgerReady(s.store) }
	}
	s.routes()
	s.monitorRoutes()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          stdlog.New(scrubWriter{s.log, s.guard}, "", 0),
	}
	return s, nil
}

// Serve accepts connections on l until Shutdown; it returns nil after a
// Shutdown and the listener's error otherwise.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, waits for requests in flight (an import
// finishes) until ctx ends, and closes idle connections.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// Handler is the API as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP guards every request: a bound on requests in flight, panic
// recovery, bearer-token auth on everything but /healthz and /readyz, and
// JSON 404 and 405 answers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	select {
	case s.inFlight <- struct{}{}:
		defer func() { <-s.inFlight }()
	default:
		writeError(w, http.StatusServiceUnavailable, "", "busy: more than %d requests in flight", maxInFlight)
		return
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The panic value is scrubbed: it must not carry card data.
			s.log.Error().Str("method", r.Method).Str("panic", cardnum.Scrub(fmt.Sprint(v))).Msg("admin handler panic")
			writeError(w, http.StatusInternalServerError, "", "internal error")
		}
	}()
	if !public(r.URL.Path) && !s.authorized(r) {
		s.guard.Event(&s.log, zerolog.WarnLevel, EventAuthFailed).Str("remote", r.RemoteAddr).Str("method", r.Method).
			Msg("admin auth failed")
		w.Header().Set("WWW-Authenticate", `Bearer realm="cardcenter-admin"`)
		writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r) // (the mux, not the handler: it sets path values)
	// The pattern, never the path: the path may hold a clear PAN.
	s.log.Debug().Str("method", r.Method).Str("route", r.Pattern).Int("status", rec.status).
		Int64("latency_us", time.Since(start).Microseconds()).Msg("admin request")
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return false
	}
	// Comparing digests keeps the comparison constant-time whatever the
	// length of the offered token.
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

// noRoute answers 405 when the path exists with another method, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPost} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "", "method %s not allowed here; use %s", r.Method, strings.Join(allow, " or "))
		return
	}
	writeError(w, http.StatusNotFound, "", "no such endpoint")
}

// scrubWriter passes net/http's own log lines (accept errors, failed TLS
// handshakes and the like) to zerolog, rate-limited, scrubbed of anything
// that looks like a PAN.
type scrubWriter struct {
	log   zerolog.Logger
	guard *logguard.Guard
}

func (w scrubWriter) Write(p []byte) (int, error) {
	w.guard.Event(&w.log, zerolog.WarnLevel, EventHTTPError).Str("source", "net/http").
		Msg(cardnum.Scrub(strings.TrimSpace(string(p))))
	return len(p), nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the status is sent; a failed write has nobody to tell
}

// writeError answers with an ErrorBody. The message is scrubbed of long
// digit runs: a last line of defence against a clear PAN in an error.
func writeError(w http.ResponseWriter, status int, field, format string, args ...any) {
	writeJSON(w, status, ErrorBody{Error: cardnum.Scrub(fmt.Sprintf(format, args...)), Field: field})
}
