package admin

// reports.go: the settlement reports (docs/settlement.md): the
// reconciliation of a business date and the report per merchant and
// day, read from the running host's store; the CLI's `reconcile` and
// `report merchant` call these when a host is running.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
)

// today is the host's current business date.
func (s *Server) today() uint32 {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	return ledger.NextBusinessDate(s.store.LastEndedBusinessDate(now()))
}

// reportError answers a report's error: the caller's (a future date, an
// unknown merchant) as 400 naming the field, anything else as 500.
func reportError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, settlement.ErrFutureDate):
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
	case errors.Is(err, settlement.ErrUnknownMerchant):
		writeError(w, http.StatusNotFound, "mid", "mid: %v", err)
	default:
		writeError(w, http.StatusInternalServerError, "", "report: %v", err)
	}
}

func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) {
	d, err := ledger.ParseBusinessDate(r.PathValue("date"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	rec, err := settlement.Reconcile(r.Context(), s.store, d, s.today())
	if err != nil {
		reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

func (s *Server) merchantReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := ledger.ParseBusinessDate(q.Get("date"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	rep, err := settlement.ReportMerchants(r.Context(), s.store, d, s.today(), q.Get("mid"))
	if err != nil {
		reportError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// Reconciliation calls GET /v1/settlement/{date}/reconciliation.
func (c *Client) Reconciliation(ctx context.Context, date string) (*settlement.Reconciliation, error) {
	var out settlement.Reconciliation
	if err := c.doJSON(ctx, http.MethodGet, "/v1/settlement/"+url.PathEscape(date)+"/reconciliation", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MerchantReport calls GET /v1/reports/merchants?date=…&mid=….
func (c *Client) MerchantReport(ctx context.Context, date, mid string) (*settlement.MerchantReport, error) {
	q := url.Values{"date": {date}}
	if mid != "" {
		q.Set("mid", mid)
	}
	var out settlement.MerchantReport
	if err := c.doJSON(ctx, http.MethodGet, "/v1/reports/merchants?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
