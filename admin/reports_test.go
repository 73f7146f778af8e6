package admin

import (
	"context"
	"errors"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// TestSettlementReports: the report and reconciliation endpoints answer
// for a date (live: nothing settled) and refuse a bad date, a future
// date and an unknown merchant with 4xx naming the field.
func TestSettlementReports(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	today := ledger.FormatBusinessDate(ledger.NextBusinessDate(e.store.LastEndedBusinessDate(e.now)))
	rep, err := e.client.MerchantReport(ctx, today, "MALL00000000001")
	if err != nil || rep.Source != "live" || len(rep.Rows) != 1 || rep.Rows[0].MID != "MALL00000000001" {
		t.Fatalf("report: %+v %v", rep, err)
	}
	rec, err := e.client.Reconciliation(ctx, today)
	if err != nil || rec.Source != "live" || rec.Date != today {
		t.Fatalf("reconciliation: %+v %v", rec, err)
	}
	for _, tc := range []struct {
		path   string
		status int
		field  string
	}{
		{"/v1/reports/merchants?date=2026-02-30", 400, "date"},
		{"/v1/reports/merchants", 400, "date"},
		{"/v1/reports/merchants?date=2999-01-01", 400, "date"},
		{"/v1/reports/merchants?date=" + today + "&mid=NOSUCHMERCHANT1", 404, "mid"},
		{"/v1/settlement/yesterday/reconciliation", 400, "date"},
		{"/v1/settlement/2999-01-01/reconciliation", 400, "date"},
	} {
		st, eb, raw := e.raw("GET", tc.path, e.token, nil)
		if st != tc.status || eb.Field != tc.field {
			t.Errorf("%s: %d field %q, want %d %q: %s", tc.path, st, eb.Field, tc.status, tc.field, raw)
		}
	}
	var apiErr *APIError
	if _, err := e.client.MerchantReport(ctx, "2999-01-01", ""); !errors.As(err, &apiErr) || apiErr.Body.Field != "date" {
		t.Errorf("client, future date: %v", err)
	}
}
