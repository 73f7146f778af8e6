package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// handlers.go: the routes, and the request helpers every handler shares
// (decoding, field errors, store errors, notes, paging).

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.health)

	m.HandleFunc("GET /v1/programs", s.listPrograms)
	m.HandleFunc("GET /v1/programs/{id}", s.getProgram)
	m.HandleFunc("PUT /v1/programs/{id}", s.putProgram)

	m.HandleFunc("GET /v1/merchants", s.listMerchants)
	m.HandleFunc("GET /v1/merchants/{mid}", s.getMerchant)
	m.HandleFunc("PUT /v1/merchants/{mid}", s.putMerchant)

	m.HandleFunc("GET /v1/terminals", s.listTerminals)
	m.HandleFunc("GET /v1/terminals/{tid}", s.getTerminal)
	m.HandleFunc("PUT /v1/terminals/{tid}", s.putTerminal)

	m.HandleFunc("GET /v1/cards", s.listCards)
	m.HandleFunc("GET /v1/cards/{pan}", s.getCard)
	m.HandleFunc("PUT /v1/cards/{pan}", s.putCard)
	m.HandleFunc("POST /v1/cards/{pan}/state", s.setCardState)
	m.HandleFunc("POST /v1/cards/{pan}/adjust", s.adjust)
	m.HandleFunc("GET /v1/cards/{pan}/history", s.history)
	m.HandleFunc("GET /v1/cards/{pan}/loyalty", s.memberLoyalty)
	m.HandleFunc("POST /v1/loyalty/review-tiers", s.reviewTiers)

	s.securityRoutes()
	s.loyaltyRoutes()
	s.settlementRoutes()
	s.mallRoutes()

	m.HandleFunc("GET /v1/check", s.check)
	m.HandleFunc("GET /v1/stats", s.stats)
	m.HandleFunc("POST /v1/checkpoint", s.checkpoint)
	m.HandleFunc("POST /v1/import", s.importFile)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HealthBody{Status: "ok"})
}

// change starts the one log event of an admin change.
func (s *Server) change(r *http.Request, what string) *zerolog.Event {
	return s.log.Info().Str("event", "admin_change").Str("what", what).Str("remote", r.RemoteAddr)
}

// writeCtx is the context of one store change. It does not end when the
// client goes away: a change that reached the writer completes, and the
// client learns the outcome by reading.
func writeCtx(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), d)
}

// decode reads a JSON body into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. On failure it has answered 400 (or 413)
// naming the field.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			writeError(w, http.StatusBadRequest, "", "body: want one JSON object and nothing after it")
			return false
		}
		return true
	}
	var (
		typeErr  *json.UnmarshalTypeError
		syntax   *json.SyntaxError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "", "body larger than %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "", "body: empty; want a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			writeError(w, http.StatusBadRequest, "", "body: want a JSON object, got %s", typeErr.Value)
			return false
		}
		writeError(w, http.StatusBadRequest, field, "%s: want %s, got %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, "", "body: not valid JSON (at byte %d)", syntax.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if looksLikeKey(field) {
			// A key typed where a field name belongs is not echoed.
			writeError(w, http.StatusBadRequest, "", "body: an unknown field whose name looks like key material (not shown)")
			return false
		}
		hint := ""
		switch field {
		case "pan":
			hint = " (the PAN is the path's)"
		case "imk_sealed", "imk", "issuer_master_key":
			hint = " (an issuer master key is loaded from its custodians' components: POST /v1/programs/{id}/imk)"
		case "tmk_sealed", "tmk":
			hint = " (a terminal master key is loaded from its custodians' components: POST /v1/terminals/{tid}/tmk)"
		case "pin_data", "pin":
			hint = " (a card's PIN is never set through the admin API)"
		}
		writeError(w, http.StatusBadRequest, field, "%s: unknown field%s", field, hint)
	default:
		writeError(w, http.StatusBadRequest, "", "body: %v", err)
	}
	return false
}

// looksLikeKey reports whether s could be a key or key component: 16 or
// more hex digits.
func looksLikeKey(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "struct", k == "map":
		return "an object"
	}
	return k
}

// fieldErrors answers 400 with every problem of a record.
func fieldErrors(w http.ResponseWriter, l provision.ErrorList) {
	body := ErrorBody{Error: cardnum.Scrub(l.Error())}
	for _, e := range l {
		body.Errors = append(body.Errors, *e)
	}
	if len(l) > 0 {
		body.Field, body.Line = l[0].Path, l[0].Line
	}
	writeJSON(w, http.StatusBadRequest, body)
}

// storeErr answers a store error: 404 for a missing record, 400 naming
// field for a refused amount, 409 for a conflict, 503 when the store is
// closing, else 500 (logged).
func (s *Server) storeErr(w http.ResponseWriter, err error, field string) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		writeError(w, http.StatusNotFound, "", "%v", err)
	case errors.Is(err, ledger.ErrInsufficientFunds), errors.Is(err, ledger.ErrOverLimit), errors.Is(err, ledger.ErrBadAmount),
		errors.Is(err, ledger.ErrOutOfRange):
		writeError(w, http.StatusBadRequest, field, "%s: %v", field, err)
	case errors.Is(err, ledger.ErrConflict):
		writeError(w, http.StatusConflict, field, "%v", err)
	case errors.Is(err, ledger.ErrNoMasterKey):
		writeError(w, http.StatusConflict, "", "%v: the host keeps keys only sealed under its master key (config keys:)", err)
	case errors.Is(err, ledger.ErrNoOperator):
		writeError(w, http.StatusBadRequest, "operator", "operator: %v", err)
	case errors.Is(err, ledger.ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "", "ledger unavailable: %v", err)
	default:
		s.log.Error().Str("error", cardnum.Scrub(err.Error())).Msg("admin: store error")
		writeError(w, http.StatusInternalServerError, "", "internal error: %v", err)
	}
}

func notFound(err error) bool { return errors.Is(err, ledger.ErrNotFound) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
