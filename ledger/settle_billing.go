package ledger

// settle_billing.go: what merchant billing and the reconciliation report
// (package settlement) need of the ledger beyond settle.go: the month's
// invoices recorded once, the billing markers, and a terminal's batches.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// Keys of billing (keys.go lists them with the others).
const (
	prefixBillingMarker = "bill/"
	prefixBillingJob    = "job/bill/"
)

func keyBillingMarker(month uint32, prog, mid string) string {
	return prefixBillingMarker + strconv.Itoa(int(month)) + "/" + prog + "/" + mid
}
func keyBillingJob(month uint32) string { return prefixBillingJob + strconv.Itoa(int(month)) }

// FormatMonth renders a billing month (yyyymm) as YYYY-MM.
func FormatMonth(m uint32) string { return formatMonth(m) }

// IsMonthEnd reports whether business date d (yyyymmdd) is the last
// calendar day of its month: business dates are calendar days (the
// cut-off only says where a day ends), so that is the month's last
// business date, the one whose settlement bills the month.
func IsMonthEnd(d uint32) bool { return NextBusinessDate(d)/100 != d/100 }

// RecordInvoices records the invoices of billing month (yyyymm) the
// first time it is called for that month and returns what is recorded:
// raw on the first call, the first call's on every later one. The
// settlement job computes a month's invoices from the registry as it is
// when the month is first billed and keeps them here, so that a rerun,
// or a run finished after a kill, bills exactly the same even if
// terminals were registered or disabled in between.
func (s *Store) RecordInvoices(ctx context.Context, month uint32, raw json.RawMessage) (json.RawMessage, error) {
	if month < 100001 || month%100 < 1 || month%100 > 12 {
		return nil, fmt.Errorf("billing month %d: not a yyyymm month", month)
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("billing month %s: invoices are not JSON", formatMonth(month))
	}
	var out json.RawMessage
	err := s.update(ctx, func(t *tx) error {
		v, err := t.get(keyBillingJob(month))
		if err != nil {
			return err
		}
		if v != nil {
			out = append(json.RawMessage(nil), v...)
			return nil
		}
		t.set(keyBillingJob(month), raw)
		out = raw
		return nil
	})
	return out, err
}

// Invoices reads the invoices recorded for billing month (yyyymm); nil
// when the month has not been billed.
func (s *Store) Invoices(month uint32) (json.RawMessage, error) {
	return s.dbGet(keyBillingJob(month))
}

// BillingEntry is the journal seq of the billing posting of (month,
// prog, mid): posted reports whether its marker exists.
func (s *Store) BillingEntry(month uint32, prog, mid string) (seq uint64, posted bool, err error) {
	v, err := s.dbGet(keyBillingMarker(month, prog, mid))
	if err != nil || v == nil {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, true, fmt.Errorf("ledger: billing marker of %s: %w", formatMonth(month), errCorrupt)
	}
	return u64(v), true, nil
}

// maxTerminalBatches bounds the batches TerminalBatches returns: a
// terminal closing a batch a day keeps a few hundred a year.
const maxTerminalBatches = 100_000

// TerminalBatches lists a terminal's batches in batch-number order: the
// host's totals, the terminal's reported 0500 totals, state, how it was
// closed and the business date it was opened on.
func (s *Store) TerminalBatches(tid string) ([]Batch, error) {
	// A snapshot: the aggregate log and the batches it lays over are
	// read as of one instant (aggregatelog.go).
	snap, done, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer done()
	var out []Batch
	err = scanAggregates(snap, prefixBatch+tid+"/", func(k, v []byte) error {
		if len(out) == maxTerminalBatches {
			return fmt.Errorf("ledger: terminal %s has more than %d batches", tid, maxTerminalBatches)
		}
		var b Batch
		if err := b.decode(v); err != nil {
			return fmt.Errorf("ledger: batch %s: %w", k, err)
		}
		out = append(out, b)
		return nil
	})
	return out, err
}
