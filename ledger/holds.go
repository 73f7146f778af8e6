package ledger

// holds.go: pre-authorization holds: opening one, completing it, and
// releasing the ones whose period has passed.

import (
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

func (d *decision) preAuth() {
	sv, pts, ok := d.debitable()
	if !ok {
		return
	}
	holds, err := d.holds()
	if err != nil {
		d.hostErr(err)
		return
	}
	if len(holds) >= maxHoldsPerCard {
		d.err = fmt.Errorf("pan %s has %d open holds: %w", cardnum.Mask(d.card.PAN), len(holds), ErrOverLimit)
		return
	}
	txn := d.newTxn()
	txn.HoldAmount = d.r.Amount
	txn.HoldExpires = d.now.Add(d.holdPeriod()).UnixNano()
	txn.HoldState = HoldOpen
	d.post(txn, sv, d.merchantSV(), 0, int64(d.r.Amount))
	holds = append(holds, Hold{Seq: txn.Seq, Amount: d.r.Amount, Expires: txn.HoldExpires})
	d.t.put(d.t.cardKey(d.card.PAN, slotHolds), holds)
	d.finish(txn, sv, pts)
}

func (d *decision) holdPeriod() time.Duration {
	days := 7
	if p, err := d.programOf(d.card.ProgramID); err == nil && p != nil && p.HoldDays > 0 {
		days = p.HoldDays
	}
	return time.Duration(days) * 24 * time.Hour
}

func (d *decision) holds() (Holds, error) {
	p, err := getRecord[Holds](d.t, d.t.cardKey(d.card.PAN, slotHolds))
	if err != nil || p == nil {
		return nil, err
	}
	return *p, nil
}

// releaseExpiredHolds releases every hold of the card whose period has
// passed, with a balanced posting, before any decision that reads the
// card's available balance.
func (d *decision) releaseExpiredHolds() error {
	holds, err := d.holds()
	if err != nil || len(holds) == 0 {
		return err
	}
	now := d.now.UnixNano()
	kept := holds[:0:0]
	released := false
	for _, h := range holds {
		if h.Expires > now {
			kept = append(kept, h)
			continue
		}
		pre, err := d.txn(h.Seq)
		if err != nil {
			return err
		}
		if pre == nil || pre.HoldState != HoldOpen {
			released = true
			continue
		}
		if err := d.undoTransfers(pre, pre); err != nil {
			return err
		}
		pre.HoldState = HoldReleased
		d.t.put(keyTxn(pre.Seq), pre)
		released = true
	}
	if released {
		d.t.put(d.t.cardKey(d.card.PAN, slotHolds), kept)
	}
	return nil
}

func (d *decision) completion() {
	r := d.r
	if d.tombstoned() {
		return
	}
	pre, ok := d.original()
	if !ok {
		return
	}
	if pre.Kind != KindPreAuth || pre.PAN != r.PAN {
		d.err = fmt.Errorf("completion names %s rrn %s: %w", pre.Kind, pre.RRN(), ErrOriginalNotFound)
		return
	}
	if !d.positiveAmount() {
		return
	}
	if err := d.releaseExpiredHolds(); err != nil {
		d.hostErr(err)
		return
	}
	pre, err := d.txn(pre.Seq) // reread: releasing may have changed it
	if err != nil {
		d.hostErr(err)
		return
	}
	switch {
	case pre.HoldState == HoldReleased || pre.Status != TxnApplied:
		d.err = fmt.Errorf("hold rrn %s released or reversed: %w", pre.RRN(), ErrOriginalNotFound)
		return
	case pre.HoldState == HoldCompleted:
		d.err = fmt.Errorf("hold rrn %s already completed: %w", pre.RRN(), ErrNotAllowed)
		return
	case r.Amount > pre.HoldAmount:
		d.err = fmt.Errorf("completion %d above hold %d: %w", r.Amount, pre.HoldAmount, ErrBadAmount)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = pre.Seq
	txn.HoldAmount = pre.HoldAmount
	d.post(txn, sv, d.accountOf(accountMerchantSV(pre.MID), UnitMoney), int64(r.Amount), -int64(pre.HoldAmount))
	pre.HoldState = HoldCompleted
	d.t.put(keyTxn(pre.Seq), pre)
	if err := d.dropHold(pre.Seq); err != nil {
		d.hostErr(err)
		return
	}
	d.addToBatch(txn, +1)
	d.earn(txn, r.Amount, pts)
	d.finish(txn, sv, pts)
}

func (d *decision) dropHold(seq uint64) error {
	holds, err := d.holds()
	if err != nil {
		return err
	}
	kept := holds[:0:0]
	for _, h := range holds {
		if h.Seq != seq {
			kept = append(kept, h)
		}
	}
	d.t.put(d.t.cardKey(d.card.PAN, slotHolds), kept)
	return nil
}
