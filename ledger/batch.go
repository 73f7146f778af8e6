package ledger

// batch.go: terminal batches: opening on first use, totals, close
// (0500) and upload (0320).

import (
	"fmt"
	"time"
)

// openBatch finds the batch field 60 names. A number not seen before
// opens a new batch and closes the terminal's earlier open one on the
// host's totals (contract section 6). A closed batch is remembered and
// declined 12 at the very end.
func (d *decision) openBatch() error {
	r := d.r
	if r.Batch == 0 {
		return nil
	}
	b := &d.s.op.batch // the writer's scratch: put encodes it at once
	found, err := getRecordInto(d.t, d.s.batchKeyOf(d.te, r.Batch), b)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	}
	if found {
		d.batch = b
		d.batchClosed = b.State == BatchClosed
		return nil
	}
	if open := d.ts.OpenBatch; open != 0 {
		old, err := getRecord[Batch](d.t, d.s.keys.batch(r.TID, open))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrHost, err)
		}
		if old != nil && old.State != BatchClosed {
			old.State, old.Closed, old.ClosedHow = BatchClosed, d.now.UnixNano(), 3
			d.survive(d.s.keys.batch(r.TID, open), old)
		}
	}
	d.batch = &Batch{Number: r.Batch, State: BatchOpen, Opened: d.now.UnixNano(), BizDate: d.s.businessDate(d.now)}
	d.ts.OpenBatch = r.Batch
	d.survive(d.s.batchKeyOf(d.te, r.Batch), d.batch)
	d.survive(d.te.stateKey, d.ts)
	return nil
}

// businessDate is the yyyymmdd date the host books a moment on.
// BusinessDate is today's business date by the store's clock.
func (s *Store) BusinessDate() uint32 { return s.businessDate(s.opts.Now()) }

func (s *Store) businessDate(now time.Time) uint32 {
	l := now.In(s.opts.Location).Add(-time.Duration(s.opts.CutoffHour) * time.Hour)
	return uint32(l.Year()*10000 + int(l.Month())*100 + l.Day())
}

// addTotals counts a transaction into (sign +1) or out of (-1) batch
// totals per contract section 6: debits are purchases and completions,
// credits refunds and loads. A total that would leave ±MaxAmount (field
// 48 carries 12 digits) is refused and t is left as it was.
func addTotals(t *BatchTotals, txn *Txn, sign int64) error {
	count, amount := &t.DebitCount, &t.DebitAmount
	switch txn.Kind {
	case KindPurchase, KindCompletion:
	case KindRefund, KindLoad:
		count, amount = &t.CreditCount, &t.CreditAmount
	default:
		return nil
	}
	delta, err := signed(sign, int64(txn.Amount))
	if err != nil {
		return err
	}
	newAmount, err := amount.Add(Amount(delta))
	if err != nil {
		return err
	}
	newCount, err := addInt64(*count, sign)
	if err != nil {
		return err
	}
	*count, *amount = newCount, newAmount
	return nil
}

// addToBatch counts txn into the request's open batch.
func (d *decision) addToBatch(txn *Txn, sign int64) {
	if d.batch == nil || d.batchClosed {
		return
	}
	if err := addTotals(&d.batch.Totals, txn, sign); err != nil {
		d.refuse(fmt.Errorf("batch %06d of tid %s totals: %w", d.batch.Number, d.r.TID, err))
		return
	}
	d.t.put(d.s.batchKeyOf(d.te, d.batch.Number), d.batch)
}

func (d *decision) closeBatch() {
	r := d.r
	key := d.s.batchKeyOf(d.te, r.Batch)
	b, err := getRecord[Batch](d.t, key)
	if err != nil {
		d.hostErr(err)
		return
	}
	if b == nil {
		b = &Batch{Number: r.Batch, State: BatchOpen, Opened: d.now.UnixNano(), BizDate: d.s.businessDate(d.now)}
	}
	if b.State == BatchClosed {
		d.err = fmt.Errorf("batch %06d of tid %s is already closed: %w", r.Batch, r.TID, ErrNotAllowed)
		return
	}
	b.Reported = r.Totals
	if r.Kind == KindBatchClose && r.Totals != b.Totals {
		b.State = BatchMismatch
		d.survive(key, b)
		d.err = fmt.Errorf("batch %06d of tid %s: terminal %+v host %+v: %w", r.Batch, r.TID, r.Totals, b.Totals, ErrTotalsMismatch)
		return
	}
	b.State, b.Closed = BatchClosed, d.now.UnixNano()
	b.ClosedHow = 1
	if r.Kind == KindBatchCloseAfterUpload {
		b.ClosedHow = 2
		if r.Totals != b.Totals {
			d.s.log.Warn().Str("tid", r.TID).Str("batch", fmt.Sprintf("%06d", r.Batch)).
				Int64("terminal_debits", int64(r.Totals.DebitAmount)).Int64("host_debits", int64(b.Totals.DebitAmount)).
				Int64("terminal_credits", int64(r.Totals.CreditAmount)).Int64("host_credits", int64(b.Totals.CreditAmount)).
				Msg("batch closed on host totals after upload; totals differ")
		}
	}
	d.t.put(key, b)
	if d.ts.OpenBatch == r.Batch {
		d.ts.OpenBatch = 0
		d.t.put(d.te.stateKey, d.ts)
	}
}

func (d *decision) upload() {
	r := d.r
	orig, ok := d.original()
	if !ok {
		return
	}
	counted := orig.Status == TxnApplied && orig.Batch == r.Batch &&
		(orig.Kind == KindPurchase || orig.Kind == KindCompletion || orig.Kind == KindRefund || orig.Kind == KindLoad)
	if !counted || (r.OrigRRN != "" && r.OrigRRN != orig.RRN()) {
		d.err = fmt.Errorf("upload of %s stan %s: not in batch %06d: %w", r.Orig.MTI, r.Orig.STAN, r.Batch, ErrOriginalNotFound)
		return
	}
	if r.Amount != orig.Amount {
		d.err = fmt.Errorf("upload amount %d differs from host's %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
}
