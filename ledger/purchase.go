package ledger

// purchase.go: the flows that move stored value at once: purchase,
// refund of a purchase, and load.

import (
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

func (d *decision) purchase() {
	sv, pts, ok := d.debitable()
	if !ok {
		return
	}
	txn := d.newTxn()
	d.post(txn, sv, d.merchantSV(), int64(d.r.Amount), 0)
	d.addToBatch(txn, +1)
	d.earn(txn, d.r.Amount, pts)
	d.finish(txn, sv, pts)
}

func (d *decision) refund() {
	r := d.r
	if d.tombstoned() {
		return
	}
	seq, ok := parseRRN(r.OrigRRN)
	var orig *Txn
	var err error
	if ok {
		if orig, err = d.txn(seq); err != nil {
			d.hostErr(err)
			return
		}
	}
	if orig == nil {
		d.err = fmt.Errorf("refund of rrn %q: %w", r.OrigRRN, ErrOriginalNotFound)
		return
	}
	switch {
	case orig.Kind != KindPurchase && orig.Kind != KindCompletion:
		d.err = fmt.Errorf("refund of a %s (rrn %s): %w", orig.Kind, orig.RRN(), ErrOriginalNotFound)
		return
	case orig.MID != r.MID:
		d.err = fmt.Errorf("refund at mid %s of a purchase at another merchant: %w", r.MID, ErrNotAllowed)
		return
	case orig.PAN != r.PAN:
		d.err = fmt.Errorf("refund to another card than rrn %s's: %w", orig.RRN(), ErrNotAllowed)
		return
	case orig.Status != TxnApplied:
		d.err = fmt.Errorf("refund of rrn %s, which is %s: %w", orig.RRN(), orig.Status, ErrNotAllowed)
		return
	}
	if !d.positiveAmount() {
		return
	}
	left, err := orig.Amount.Sub(orig.Refunded)
	if err != nil {
		d.err = fmt.Errorf("refund of rrn %s: amount left: %w", orig.RRN(), err)
		return
	}
	if r.Amount > left {
		d.err = fmt.Errorf("refund %d above the %d left of rrn %s: %w", r.Amount, left, orig.RRN(), ErrBadAmount)
		return
	}
	refunded, err := orig.Refunded.Add(r.Amount)
	if err != nil {
		d.err = fmt.Errorf("refund of rrn %s: refunded sum: %w", orig.RRN(), err)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	d.post(txn, d.merchantSV(), sv, int64(r.Amount), 0)
	orig.Refunded = refunded
	d.refundPoints(orig, txn, refunded, pts)
	d.t.put(keyTxn(orig.Seq), orig)
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}

func (d *decision) load() {
	if !d.positiveAmount() || d.tombstoned() {
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	c := d.card
	if c.PerTxnLimit > 0 && d.r.Amount > c.PerTxnLimit {
		d.err = fmt.Errorf("load %d over per-transaction limit %d: %w", d.r.Amount, c.PerTxnLimit, ErrOverLimit)
		return
	}
	after, err := Amount(sv.Balance()).Add(d.r.Amount)
	if err != nil {
		d.err = fmt.Errorf("pan %s load %d: balance: %w", cardnum.Mask(c.PAN), d.r.Amount, err)
		return
	}
	if max := c.EffectiveMaxBalance(); after > max {
		d.err = fmt.Errorf("pan %s load %d would exceed max balance %d: %w", cardnum.Mask(c.PAN), d.r.Amount, max, ErrOverLimit)
		return
	}
	txn := d.newTxn()
	d.post(txn, d.merchantSV(), sv, int64(d.r.Amount), 0)
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}
