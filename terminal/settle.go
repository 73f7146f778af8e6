package terminal

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// settle.go: batch close, with the upload after a 95.

// SettleResult is the outcome of a batch close.
type SettleResult struct {
	Batch   int       // the batch that was settled
	Totals  Totals    // the terminal's totals sent in field 48
	Settle  *Result   // 0500/920000
	Uploads []*Result // 0320s after a 95
	Close   *Result   // 0500/960000 after the uploads, nil without a 95
	Closed  bool      // the host answered 00 and the terminal moved to the next batch
}

// Settle closes the batch: 0500/920000 with the terminal's totals. On 95 it
// uploads every transaction its totals count with 0320 and closes with
// 0500/960000. After a 00 it moves to the next batch number and forgets the
// batch's transactions.
func (t *Terminal) Settle(ctx context.Context) (*SettleResult, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sr := &SettleResult{Batch: t.st.Batch, Totals: batchTotals(t.st.Txns)}
	settle := func(op Op, pc string) (*Result, error) {
		m := t.newRequest("0500")
		m.Set(3, pc)
		m.Set(48, sr.Totals.Field48())
		m.Set(60, t.batchField())
		return t.exchange(ctx, op, m, Txn{})
	}
	var err error
	if sr.Settle, err = settle(OpSettle, pcSettle); err != nil {
		return sr, err
	}
	final := sr.Settle
	if sr.Settle.RC == RCTotalsMismatch {
		for _, x := range t.st.Txns {
			if d, c := x.counts(); !d && !c {
				continue
			}
			res, err := t.cardRequest(ctx, OpUpload, "0320", x.ProcCode, x.card(), x.Amount, true, false, func(m *wire.Message) {
				m.Set(37, x.RRN)
				m.Set(90, x.Field90())
			})
			if res != nil {
				sr.Uploads = append(sr.Uploads, res)
			}
			if err != nil {
				return sr, err
			}
		}
		if sr.Close, err = settle(OpClose, pcCloseUpl); err != nil {
			return sr, err
		}
		final = sr.Close
	}
	if !final.Approved() {
		return sr, nil
	}
	if t.st.Batch >= maxBatch {
		return sr, fmt.Errorf("terminal %s: %w", t.cfg.TID, ErrBatchExhausted)
	}
	t.st.Batch++
	t.st.Txns = nil
	sr.Closed = true
	return sr, t.save()
}
