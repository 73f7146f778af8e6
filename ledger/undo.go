package ledger

// undo.go: finding an original (field 90) and undoing it: void,
// reversal, and what an undo changes besides the postings.

import "fmt"

// original finds the transaction field 90 names at this terminal. It
// declines 25 when the named request is unknown, was declined, or
// applied nothing.
func (d *decision) original() (*Txn, bool) {
	o := d.r.Orig
	rec, err := getRecord[IdemRecord](d.t, keyIdem(d.r.TID, o.STAN, o.Time))
	if err != nil {
		d.hostErr(err)
		return nil, false
	}
	if rec == nil || rec.Tombstone || rec.MTI != o.MTI || rec.Code != 0 || rec.Seq == 0 {
		d.err = fmt.Errorf("original %s stan %s at tid %s: %w", o.MTI, o.STAN, d.r.TID, ErrOriginalNotFound)
		return nil, false
	}
	txn, err := d.txn(rec.Seq)
	if err != nil {
		d.hostErr(err)
		return nil, false
	}
	if txn == nil {
		// Approved but nothing journaled: a balance inquiry, or a
		// reversal that had nothing to undo. Not an original.
		d.err = fmt.Errorf("original %s stan %s at tid %s applied nothing: %w", o.MTI, o.STAN, d.r.TID, ErrOriginalNotFound)
		return nil, false
	}
	return txn, true
}

func (d *decision) void() {
	r := d.r
	if d.tombstoned() {
		return
	}
	orig, ok := d.original()
	if !ok {
		return
	}
	switch {
	case orig.Kind != KindPurchase && orig.Kind != KindRefund && orig.Kind != KindLoad && orig.Kind != KindRedeem:
		d.err = fmt.Errorf("void of a %s: %w", orig.Kind, ErrNotAllowed)
		return
	case orig.Status != TxnApplied:
		d.err = fmt.Errorf("void of rrn %s, which is %s: %w", orig.RRN(), orig.Status, ErrNotAllowed)
		return
	case orig.PAN != r.PAN:
		d.err = fmt.Errorf("void with another card than rrn %s's: %w", orig.RRN(), ErrNotAllowed)
		return
	case orig.Batch != d.ts.OpenBatch || orig.Batch != r.Batch || d.batchClosed:
		d.err = fmt.Errorf("void of rrn %s outside its open batch %06d: %w", orig.RRN(), orig.Batch, ErrNotAllowed)
		return
	case r.Amount != orig.Amount:
		d.err = fmt.Errorf("void amount %d differs from original %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
	if d.refundsStand(orig) || !d.coversUndo(orig) {
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	if err := d.undo(orig, txn, TxnVoided); err != nil {
		d.hostErr(err)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.finish(txn, sv, pts)
}

// refundsStand declines (12) the undo of a purchase or completion that
// has applied refunds: undoing it gives back its whole amount, and the
// refunds already gave back part of it, so the card would get that part
// twice. The refunds are voided or reversed first; then the original may
// be.
func (d *decision) refundsStand(orig *Txn) bool {
	if orig.Refunded > 0 {
		d.err = fmt.Errorf("rrn %s has %s refunded: undo its refunds first: %w", orig.RRN(), orig.Refunded, ErrNotAllowed)
		return true
	}
	return false
}

// reversal undoes any applied financial request named by field 90. An
// original the host never saw is answered 00 and remembered, so that the
// original, arriving late, is declined 05.
func (d *decision) reversal() {
	r := d.r
	o := r.Orig
	if !d.positiveAmount() {
		return
	}
	// Expired holds are released first, so that a reversal of an expired
	// pre-authorization finds nothing left to release.
	if err := d.releaseExpiredHolds(); err != nil {
		d.hostErr(err)
		return
	}
	rec, err := getRecord[IdemRecord](d.t, keyIdem(r.TID, o.STAN, o.Time))
	if err != nil {
		d.hostErr(err)
		return
	}
	if rec == nil || rec.Tombstone || rec.MTI != o.MTI {
		if rec == nil || rec.Tombstone {
			// Remember the reversal under the original's identity.
			d.t.put(keyIdem(r.TID, o.STAN, o.Time), &IdemRecord{MTI: o.MTI, Tombstone: true, At: d.now.UnixNano()})
		}
		d.assignRRN()
		return
	}
	if rec.Kind == KindReversal {
		d.err = fmt.Errorf("reversal of a reversal: %w", ErrNotAllowed)
		return
	}
	if rec.Code != 0 {
		d.assignRRN() // the original was declined: nothing to undo
		return
	}
	if rec.Seq == 0 || !rec.Kind.Financial() {
		d.err = fmt.Errorf("reversal of a %s: %w", rec.Kind, ErrNotAllowed)
		return
	}
	orig, err := d.txn(rec.Seq)
	if err != nil || orig == nil {
		d.hostErr(fmt.Errorf("journal entry %d missing: %v", rec.Seq, err))
		return
	}
	if orig.PAN != r.PAN {
		d.err = fmt.Errorf("reversal with another card than rrn %s's: %w", orig.RRN(), ErrOriginalNotFound)
		return
	}
	if r.Amount != orig.Amount {
		d.err = fmt.Errorf("reversal amount %d differs from original %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
	if orig.Kind == KindPreAuth && orig.HoldState == HoldCompleted {
		d.err = fmt.Errorf("reversal of completed hold rrn %s: %w", orig.RRN(), ErrNotAllowed)
		return
	}
	if orig.Status != TxnApplied {
		d.assignRRN() // already undone: the outcome the terminal asks for holds
		return
	}
	if d.refundsStand(orig) || !d.coversUndo(orig) {
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	if orig.Kind == KindVoid {
		// Reversing a void re-applies its original.
		voided, err := d.txn(orig.OrigSeq)
		if err != nil || voided == nil {
			d.hostErr(fmt.Errorf("voided entry %d missing: %v", orig.OrigSeq, err))
			return
		}
		if err := d.undo(orig, txn, TxnReversed); err != nil {
			d.hostErr(err)
			return
		}
		voided.Status, voided.UndoneBy = TxnApplied, 0
		if txn.Debited > 0 {
			// The re-applied redemption or refund took these lots now.
			voided.PointUses, voided.DebtAdded = txn.PointUses, 0
		}
		d.t.put(keyTxn(voided.Seq), voided)
		if err := d.adjustForUndo(voided, +1); err != nil {
			d.hostErr(err)
			return
		}
	} else if err := d.undo(orig, txn, TxnReversed); err != nil {
		d.hostErr(err)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.finish(txn, sv, pts)
}

// undo reverses orig's postings under txn and marks orig undone. Its
// batch totals, refunded sums and holds follow.
func (d *decision) undo(orig, txn *Txn, status TxnStatus) error {
	if err := d.undoTransfers(orig, txn); err != nil {
		return err
	}
	if err := d.undoPoints(orig, txn); err != nil {
		return err
	}
	orig.Status, orig.UndoneBy = status, txn.Seq
	if orig.Kind == KindPreAuth && orig.HoldState == HoldOpen {
		orig.HoldState = HoldReleased
		if err := d.dropHold(orig.Seq); err != nil {
			return err
		}
	}
	d.t.put(keyTxn(orig.Seq), orig)
	if orig.Kind == KindVoid {
		return nil
	}
	return d.adjustForUndo(orig, -1)
}

// adjustForUndo takes orig out of (sign -1) or back into (+1) its batch
// totals and its purchase's refunded sum. A figure that would leave its
// range refuses the decision (13); the error returned is a storage one.
func (d *decision) adjustForUndo(orig *Txn, sign int64) error {
	if orig.Kind == KindRefund && orig.OrigSeq != 0 {
		p, err := d.txn(orig.OrigSeq)
		if err != nil || p == nil {
			return fmt.Errorf("purchase %d of refund %d missing: %v", orig.OrigSeq, orig.Seq, err)
		}
		var refunded Amount
		delta, err := signed(sign, int64(orig.Amount))
		if err == nil {
			refunded, err = p.Refunded.Add(Amount(delta))
		}
		if err != nil {
			d.refuse(fmt.Errorf("refunded sum of rrn %s: %w", p.RRN(), err))
			return nil
		}
		if refunded > p.Amount {
			// Reversing the void of a refund re-applies the refund; after
			// later refunds of the same purchase that may refund more than
			// it cost (contract section 3: never; 13).
			d.refuse(fmt.Errorf("refunded sum of rrn %s would be %s of %s: %w", p.RRN(), refunded, p.Amount, ErrBadAmount))
			return nil
		}
		p.Refunded = refunded
		if p.TakenBack, err = p.TakenBack.Add(Points(sign) * orig.Debited); err != nil || p.TakenBack < 0 || p.TakenBack > p.Earned {
			return fmt.Errorf("points taken back of rrn %s: %d of %d earned: %v", p.RRN(), p.TakenBack, p.Earned, err)
		}
		d.t.put(keyTxn(p.Seq), p)
	}
	if err := d.spendForUndo(orig, sign); err != nil {
		d.refuse(err)
		return nil
	}
	b, err := getRecord[Batch](d.t, keyBatch(orig.TID, orig.Batch))
	if err != nil {
		return err
	}
	if b != nil && b.State != BatchClosed {
		if err := addTotals(&b.Totals, orig, sign); err != nil {
			d.refuse(fmt.Errorf("batch %06d of tid %s totals: %w", b.Number, orig.TID, err))
			return nil
		}
		d.t.put(keyBatch(orig.TID, orig.Batch), b)
		if d.batch != nil && d.batch.Number == b.Number && orig.TID == d.r.TID {
			d.batch = b
		}
	}
	return nil
}
