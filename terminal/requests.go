package terminal

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// requests.go: the card requests: balance, pre-authorization and
// completion, purchase, refund, load, points, void, reversal.

// cardRequest builds and sends a request that carries a card. It records the
// transaction when approved and record is set.
func (t *Terminal) cardRequest(ctx context.Context, op Op, mti, pc string, c Card, amount Fen, hasAmount, record bool, extra func(m *wire.Message)) (*Result, error) {
	if record {
		if err := t.checkRoom(); err != nil {
			return nil, err
		}
	}
	m := t.newRequest(mti)
	m.Set(3, pc)
	if hasAmount {
		f4, err := amount.field4()
		if err != nil {
			return nil, err
		}
		m.Set(4, f4)
	}
	// PINs only travel in 0100 and original 0200s; voids never need one.
	if err := t.setCard(m, c, (mti == "0100" || mti == "0200") && pc != pcVoid); err != nil {
		return nil, err
	}
	var chip *chipTxn
	if c.Chip != nil {
		var err error
		if c.Chip.ICC != nil {
			chip, err = t.setICC(ctx, m, c, pc, amount)
		} else {
			chip, err = t.setChip(m, c, pc, amount)
		}
		if err != nil {
			return nil, err
		}
	}
	if mti != "0100" && mti != "0320" {
		m.Set(49, currencyCNY)
	}
	m.Set(60, t.batchField())
	if extra != nil {
		extra(m)
	}
	res, err := t.exchange(ctx, op, m, Txn{Amount: amount, PAN: c.PAN, Expiry: c.Expiry})
	if err == nil && chip != nil {
		// A card that rejects the issuer's answer ends the transaction
		// there: it is not recorded, and the caller sees why.
		if verr := chip.verify(res); verr != nil {
			return res, fmt.Errorf("terminal %s %s stan %s: %w", t.cfg.TID, op, res.Txn.STAN, verr)
		}
	}
	if err != nil || !res.Approved() || !record {
		return res, err
	}
	return res, t.record(res.Txn)
}

// Balance sends a balance inquiry, 0100/310000.
func (t *Terminal) Balance(ctx context.Context, c Card) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpBalance, "0100", pcBalance, c, 0, false, false, nil)
}

// PreAuth sends a pre-authorization, 0100/000000, placing a hold of amount.
func (t *Terminal) PreAuth(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpPreAuth, "0100", pcGoods, c, amount, true, true, nil)
}

// Complete sends a completion advice, 0220/000000 with field 90 naming the
// pre-authorization, capturing amount.
func (t *Terminal) Complete(ctx context.Context, preauth Txn, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpComplete, "0220", pcGoods, preauth.card(), amount, true, true, func(m *wire.Message) {
		m.Set(90, preauth.Field90())
	})
}

// Purchase sends a purchase paid with stored value, 0200/000000.
func (t *Terminal) Purchase(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpPurchase, "0200", pcGoods, c, amount, true, true, nil)
}

// Refund sends a refund of the purchase with RRN originalRRN, 0200/200000.
func (t *Terminal) Refund(ctx context.Context, c Card, originalRRN string, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(originalRRN) != 12 {
		return nil, fmt.Errorf("terminal %s refund: RRN %q is not 12 characters", t.cfg.TID, originalRRN)
	}
	return t.cardRequest(ctx, OpRefund, "0200", pcRefund, c, amount, true, true, func(m *wire.Message) {
		m.Set(37, originalRRN)
	})
}

// Load sends a cash load (top-up), 0200/210000.
func (t *Terminal) Load(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpLoad, "0200", pcLoad, c, amount, true, true, nil)
}

// Accrual sends a points accrual for a purchase of amount paid otherwise, 0200/900000.
func (t *Terminal) Accrual(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpAccrual, "0200", pcAccrual, c, amount, true, true, nil)
}

// Redeem sends a points redemption worth amount, 0200/910000.
func (t *Terminal) Redeem(ctx context.Context, c Card, amount Fen) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cardRequest(ctx, OpRedeem, "0200", pcRedeem, c, amount, true, true, nil)
}

// Void sends a void of original, 0200/020000 with field 90 naming it and
// field 4 its amount. When approved, original stops counting in the totals.
func (t *Terminal) Void(ctx context.Context, original Txn) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.checkRoom(); err != nil {
		return nil, err
	}
	res, err := t.cardRequest(ctx, OpVoid, "0200", pcVoid, original.card(), original.Amount, true, false, func(m *wire.Message) {
		m.Set(90, original.Field90())
	})
	if err != nil || !res.Approved() {
		return res, err
	}
	res.Txn.Original = original.ID()
	t.mark(original.ID(), func(x *Txn) { x.Voided = true })
	return res, t.record(res.Txn)
}

// Reverse sends a reversal of original, 0400 with original's processing code
// and amount and field 90 naming it. When approved the original stops
// counting; a reversed void puts its own original back.
func (t *Terminal) Reverse(ctx context.Context, original Txn) (*Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if original.MTI == "" || original.ProcCode == "" {
		return nil, fmt.Errorf("terminal %s reverse: %w: original has no MTI or processing code", t.cfg.TID, ErrNotFound)
	}
	res, err := t.cardRequest(ctx, OpReverse, "0400", original.ProcCode, original.card(), original.Amount, true, false, func(m *wire.Message) {
		m.Set(90, original.Field90())
	})
	if err != nil || !res.Approved() {
		return res, err
	}
	res.Txn.Original = original.ID()
	t.mark(original.ID(), func(x *Txn) { x.Reversed = true })
	if original.Original != "" && original.ProcCode == pcVoid {
		t.mark(original.Original, func(x *Txn) { x.Voided = false })
	}
	return res, t.save()
}

// mark applies f to the recorded transaction with that ID, if any.
func (t *Terminal) mark(id string, f func(*Txn)) {
	for i := range t.st.Txns {
		if t.st.Txns[i].ID() == id {
			f(&t.st.Txns[i])
			return
		}
	}
}
