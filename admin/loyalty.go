package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/cardcenter/cardcenter/ledger"
)

// The loyalty jobs: the daily expiry job run on demand, and the
// expiry-notice report (docs/loyalty.md, Expiry and notices).

// ExpireFunc runs the expiry job for business date (yyyymmdd) and then
// drains the outbox; drained is the events written to the outbox files.
type ExpireFunc func(ctx context.Context, date uint32) (p ledger.ExpiryProgress, drained int, err error)

// ExpireRequest is the body of POST /v1/loyalty/expire.
type ExpireRequest struct {
	Date string `json:"date"` // business date, YYYY-MM-DD
}

// ExpireResult is its answer.
type ExpireResult struct {
	Date        string `json:"date"`
	Cards       int    `json:"cards"`
	Expired     int    `json:"expired_lots"`
	Breakage    int64  `json:"breakage_points"`
	Notices     int    `json:"notices"`
	Drained     int    `json:"drained"`
	AlreadyDone bool   `json:"already_done"`
}

// NoticesResult is the answer of GET /v1/loyalty/notices?date=.
type NoticesResult struct {
	Date    string          `json:"date"`
	Notices []ledger.Notice `json:"notices"`
}

func (s *Server) loyaltyRoutes() {
	s.mux.HandleFunc("POST /v1/loyalty/expire", s.expireLots)
	s.mux.HandleFunc("GET /v1/loyalty/notices", s.expiryNotices)
}

func (s *Server) expireLots(w http.ResponseWriter, r *http.Request) {
	var in ExpireRequest
	if !decode(w, r, &in) {
		return
	}
	d, err := ledger.ParseBusinessDate(in.Date)
	if err != nil {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	if s.expire == nil {
		writeError(w, http.StatusServiceUnavailable, "", "this host runs no expiry job")
		return
	}
	p, n, err := s.expire(r.Context(), d)
	if errors.Is(err, ledger.ErrDateNotEnded) {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", "expiry job %s: %v", in.Date, err)
		return
	}
	s.log.Info().Str("date", in.Date).Int("expired_lots", p.Expired).Int64("breakage", int64(p.Breakage)).
		Int("notices", p.Notices).Str("operator", r.Header.Get(OperatorHeader)).Msg("expiry job run")
	writeJSON(w, http.StatusOK, ExpireResult{Date: in.Date, Cards: p.Cards, Expired: p.Expired, Breakage: int64(p.Breakage),
		Notices: p.Notices, Drained: n, AlreadyDone: p.AlreadyDone})
}

func (s *Server) expiryNotices(w http.ResponseWriter, r *http.Request) {
	ds := r.URL.Query().Get("date")
	d, err := ledger.ParseBusinessDate(ds)
	if err != nil {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	ns, err := s.store.ExpiryNotices(r.Context(), d)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", "notices %s: %v", ds, err)
		return
	}
	writeJSON(w, http.StatusOK, NoticesResult{Date: ds, Notices: ns})
}

// ExpireLots calls POST /v1/loyalty/expire.
func (c *Client) ExpireLots(ctx context.Context, date string) (*ExpireResult, error) {
	var out ExpireResult
	if err := c.doJSON(ctx, http.MethodPost, "/v1/loyalty/expire", ExpireRequest{Date: date}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExpiryNotices calls GET /v1/loyalty/notices.
func (c *Client) ExpiryNotices(ctx context.Context, date string) (*NoticesResult, error) {
	var out NoticesResult
	if err := c.doJSON(ctx, http.MethodGet, "/v1/loyalty/notices?date="+url.QueryEscape(date), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
