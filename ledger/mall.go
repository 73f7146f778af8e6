package ledger

// mall.go: the points mall. Operators keep a catalog of rewards per
// program (PutReward; RestockReward adds to a stock in the writer, so
// that it composes with orders); an order (PlaceOrder) is one ledger change in the
// single writer: the card and reward checks, the stock taken, the points
// spent from the card's lots soonest-expiring first and posted
// pt/<pan> → prd/<prog> like a 910000 redemption, its journal entry
// (KindMallOrder, in no terminal batch) and the order record. Because the
// writer applies one change at a time, two orders for the last item
// cannot both see it: stock never goes below zero. Cancelling an order
// (SetOrderStatus) gives the points back to the lots they came from, by
// the same helper that undoes a redemption (undoPoints), and restores the
// stock. Every catalog change and every order transition writes its
// audit record in the same change.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// ErrOutOfStock is returned for an order beyond a reward's stock.
var ErrOutOfStock = fmt.Errorf("out of stock: %w", ErrConflict)

// ErrInsufficientPoints is returned for an order beyond the card's
// available points.
var ErrInsufficientPoints = fmt.Errorf("insufficient points: %w", ErrInsufficientFunds)

// PutReward creates or replaces a reward of an existing program's
// catalog, as op. Stock set here is absolute (a count or a correction);
// orders, cancellations and restocks (RestockReward) move it in their
// own changes.
func (s *Store) PutReward(ctx context.Context, r Reward, op Operator) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := op.validate(); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		p, err := registryGet[Program](t, keyProgram(r.ProgramID))
		if err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("program %s: %w", r.ProgramID, ErrNotFound)
		}
		old, err := registryGet[Reward](t, keyReward(r.ProgramID, r.ID))
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("new: %q, %d points, stock %d, active %t", r.Name, r.Price, r.Stock, r.Active)
		if old != nil {
			detail = fmt.Sprintf("%q -> %q, points %d -> %d, stock %d -> %d, active %t -> %t",
				old.Name, r.Name, old.Price, r.Price, old.Stock, r.Stock, old.Active, r.Active)
		}
		cp := r
		if err := registryPut(t, keyReward(r.ProgramID, r.ID), &cp); err != nil {
			return err
		}
		return s.audit(t, op, "mall_reward_put", r.ProgramID+"/"+r.ID, detail)
	})
}

// ErrStockOutOfRange is returned for a restock that would take a
// reward's stock, as it stands when the writer applies it, out of
// 0..MaxRewardStock.
var ErrStockOutOfRange = fmt.Errorf("stock out of range: %w", ErrConflict)

// RestockReward adds add items (negative: takes them away, a write-off)
// to the stock of a reward of program's catalog, as op, and returns the
// reward after. It is decided in the writer like an order, so it
// composes with the orders and cancellations around it: the stock after
// is the stock at that instant plus add, and nothing taken between an
// operator's read and this call is lost (as it is by PutReward's
// absolute stock). It refuses, changing nothing: add 0 or beyond
// ±MaxRewardStock (ErrBadAmount); an unknown program or reward
// (ErrNotFound); a stock after outside 0..MaxRewardStock
// (ErrStockOutOfRange). An inactive reward may be restocked. The audit
// record (mall_reward_restock) says the stock before and after.
func (s *Store) RestockReward(ctx context.Context, program, rewardID string, add int64, op Operator) (*Reward, error) {
	if add == 0 || add < -MaxRewardStock || add > MaxRewardStock {
		return nil, fmt.Errorf("add %d: want a nonzero count of items within -%d..%d: %w", add, MaxRewardStock, MaxRewardStock, ErrBadAmount)
	}
	if !validRewardID(rewardID) {
		return nil, fmt.Errorf("reward %q: %w", rewardID, ErrNotFound)
	}
	if err := op.validate(); err != nil {
		return nil, err
	}
	var out *Reward
	err := s.update(ctx, func(t *tx) error {
		rw, err := registryGet[Reward](t, keyReward(program, rewardID))
		if err != nil {
			return err
		}
		if rw == nil {
			return fmt.Errorf("reward %s/%s: %w", program, rewardID, ErrNotFound)
		}
		after := rw.Stock + add // both within ±MaxRewardStock: no wrap
		if after < 0 || after > MaxRewardStock {
			return fmt.Errorf("reward %s/%s: add %d to stock %d makes %d: want 0..%d: %w",
				program, rewardID, add, rw.Stock, after, MaxRewardStock, ErrStockOutOfRange)
		}
		next := *rw
		next.Stock = after
		if err := registryPut(t, keyReward(program, rewardID), &next); err != nil {
			return err
		}
		out = &next
		return s.audit(t, op, "mall_reward_restock", program+"/"+rewardID, fmt.Sprintf("stock %d -> %d (%+d)", rw.Stock, after, add))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reward reads one reward of a program's catalog.
func (s *Store) Reward(program, id string) (*Reward, error) {
	if !validRewardID(id) {
		return nil, fmt.Errorf("reward id %q: %w", id, ErrNotFound)
	}
	return readJSON[Reward](s, keyReward(program, id))
}

// Rewards lists a program's catalog in id order.
func (s *Store) Rewards(program string) ([]Reward, error) {
	return listJSON[Reward](s, prefixReward+program+"/", "", maxListLimit)
}

// Order reads an order by its seq.
func (s *Store) Order(seq uint64) (*Order, error) {
	return readJSON[Order](s, keyOrder(seq))
}

// CardOrders lists a card's orders, newest first, found through the
// card's history (an order's seq is its placement's entry).
func (s *Store) CardOrders(pan string, limit int) ([]Order, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	db, release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	out := []Order{}
	err = cardEntriesNewestFirst(db, pan, func(t *Txn) (bool, error) {
		o, err := s.Order(t.Seq)
		if errors.Is(err, ErrNotFound) {
			return true, nil // another kind of entry
		}
		if err != nil {
			return false, err
		}
		out = append(out, *o)
		return len(out) < limit, nil
	})
	return out, err
}

// PlaceOrder orders qty of a reward of program for the card pan, paid
// with its points, as op (the operator taking the order, and why). It
// refuses, changing nothing: a card not in program (ErrNotAllowed), not
// active, expired or blacklisted (the card checks' errors); an unknown
// (ErrNotFound) or inactive (ErrNotAllowed) reward; qty beyond the stock
// (ErrOutOfStock); points beyond the card's available points
// (ErrInsufficientPoints).
func (s *Store) PlaceOrder(ctx context.Context, pan, program, rewardID string, qty int64, op Operator) (*Order, error) {
	if qty < 1 || qty > MaxOrderQty {
		return nil, fmt.Errorf("qty %d: want 1..%d: %w", qty, MaxOrderQty, ErrBadAmount)
	}
	if !validRewardID(rewardID) {
		return nil, fmt.Errorf("reward %q: %w", rewardID, ErrNotFound)
	}
	if err := op.validate(); err != nil {
		return nil, err
	}
	masked := cardnum.Mask(pan)
	var placed *Order
	err := s.update(ctx, func(t *tx) error {
		c, err := existingCard(t, pan)
		if err != nil {
			return err
		}
		if c.ProgramID != program {
			return fmt.Errorf("card %s is not in program %s: %w", masked, program, ErrNotAllowed)
		}
		now := s.opts.Now()
		d := decision{s: s, t: t, r: &Request{Kind: KindMallOrder, PAN: pan}, card: c, now: now, m: &Merchant{ProgramID: program}}
		if err := d.checkCard(); err != nil {
			return err
		}
		rw, err := registryGet[Reward](t, keyReward(program, rewardID))
		if err != nil {
			return err
		}
		switch {
		case rw == nil:
			return fmt.Errorf("reward %s/%s: %w", program, rewardID, ErrNotFound)
		case !rw.Active:
			return fmt.Errorf("reward %s/%s is not active: %w", program, rewardID, ErrNotAllowed)
		case rw.Stock < qty:
			return fmt.Errorf("reward %s/%s: qty %d, %d in stock: %w", program, rewardID, qty, rw.Stock, ErrOutOfStock)
		}
		if rw.Price > MaxAmount/Points(qty) {
			return fmt.Errorf("reward %s/%s: %d × %d points: beyond %d: %w", program, rewardID, qty, rw.Price, int64(MaxAmount), ErrOutOfRange)
		}
		n := rw.Price * Points(qty)
		if _, rules := d.loyaltyRules(); rules == nil {
			if d.ioErr != nil {
				return d.ioErr
			}
			return fmt.Errorf("program %s has no loyalty rules: %w", program, ErrNotAllowed)
		}
		sv, pts, err := d.cardAccounts()
		if err != nil {
			return err
		}
		w := d.wallet()
		lots := lotsBySeq(w)
		uses, err := w.Redeem(n, now)
		if err != nil {
			return fmt.Errorf("card %s: order of %d points, %d available: %w", masked, n, w.Available(now), ErrInsufficientPoints)
		}
		txn := d.newTxn()
		txn.MID, txn.Note = c.HomeMID, fmt.Sprintf("mall order %s/%s x%d", program, rewardID, qty)
		d.post(txn, pts, d.accountOf(accountPointsRedeemed(program), UnitPoints), int64(n), 0)
		txn.Debited, txn.PointUses = n, lotUses(uses, lots)
		d.storeLoyalty()
		if d.ioErr != nil {
			return d.ioErr
		}
		if d.refused != nil {
			return fmt.Errorf("card %s: order of %d points: %w", masked, n, d.refused)
		}
		d.finish(txn, sv, pts)
		left := *rw
		left.Stock -= qty // rw.Stock >= qty: checked above
		if err := registryPut(t, keyReward(program, rewardID), &left); err != nil {
			return err
		}
		o := &Order{
			Seq: txn.Seq, PAN: pan, ProgramID: program, RewardID: rewardID, RewardName: rw.Name,
			Qty: qty, Points: n, Status: OrderPlaced,
			History: []OrderEvent{{At: now.UnixNano(), Status: OrderPlaced, Operator: op.Name, Reason: op.Reason, Seq: txn.Seq}},
		}
		if err := putOrder(t, o); err != nil {
			return err
		}
		placed = o
		return s.audit(t, op, "mall_order_place", masked,
			fmt.Sprintf("order %d: %s/%s x%d, %d points", o.Seq, program, rewardID, qty, n))
	})
	if err != nil {
		return nil, err
	}
	return placed, nil
}

// SetOrderStatus moves an order on, as op: placed → shipped →
// delivered, or placed/shipped → cancelled, which posts the points back
// (prd/<prog> → pt/<pan>, a KindMallCancel entry) into the lots they
// came from and restores the reward's stock. Any other move is refused
// (ErrConflict) and changes nothing.
func (s *Store) SetOrderStatus(ctx context.Context, seq uint64, to OrderStatus, op Operator) (*Order, error) {
	if _, err := ParseOrderStatus(string(to)); err != nil {
		return nil, err
	}
	if err := op.validate(); err != nil {
		return nil, err
	}
	var out *Order
	err := s.update(ctx, func(t *tx) error {
		o, err := getOrder(t, seq)
		if err != nil {
			return err
		}
		if !o.Status.canBecome(to) {
			return fmt.Errorf("order %d is %s: it cannot become %s: %w", seq, o.Status, to, ErrConflict)
		}
		now := s.opts.Now()
		ev := OrderEvent{At: now.UnixNano(), Status: to, Operator: op.Name, Reason: op.Reason}
		if to == OrderCancelled {
			if ev.Seq, err = s.cancelOrder(t, o, now); err != nil {
				return err
			}
			o.CancelSeq = ev.Seq
		}
		from := o.Status
		o.Status, o.History = to, append(o.History, ev)
		if err := putOrder(t, o); err != nil {
			return err
		}
		out = o
		return s.audit(t, op, "mall_order_status", cardnum.Mask(o.PAN), fmt.Sprintf("order %d: %s -> %s", seq, from, to))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// cancelOrder gives an order's points back exactly (undoPoints, as the
// undo of a redemption does) under a new journal entry, and its
// quantity back to the reward's stock; it returns the entry's seq.
func (s *Store) cancelOrder(t *tx, o *Order, now time.Time) (uint64, error) {
	c, err := existingCard(t, o.PAN)
	if err != nil {
		return 0, err
	}
	d := decision{s: s, t: t, r: &Request{Kind: KindMallCancel, PAN: o.PAN}, card: c, now: now}
	orig, err := d.txn(o.Seq)
	if err != nil {
		return 0, err
	}
	if orig == nil || orig.Kind != KindMallOrder {
		return 0, fmt.Errorf("order %d: its journal entry is missing", o.Seq)
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		return 0, err
	}
	txn := d.newTxn()
	txn.MID, txn.OrigSeq = c.HomeMID, o.Seq
	txn.Note = fmt.Sprintf("mall order %d cancelled", o.Seq)
	if err := d.undoPoints(orig, txn); err != nil {
		return 0, err
	}
	if d.refused != nil {
		return 0, fmt.Errorf("order %d: cancellation: %w", o.Seq, d.refused)
	}
	*pts = *d.cardAccountOf(o.PAN, slotPoints) // undoPoints posted to its own copy
	d.finish(txn, sv, pts)
	rw, err := registryGet[Reward](t, keyReward(o.ProgramID, o.RewardID))
	if err != nil {
		return 0, err
	}
	if rw == nil {
		return 0, fmt.Errorf("order %d: reward %s/%s: %w", o.Seq, o.ProgramID, o.RewardID, ErrNotFound)
	}
	back := *rw
	if back.Stock > MaxRewardStock-o.Qty {
		return 0, fmt.Errorf("order %d: reward %s/%s stock %d + %d: beyond %d: %w", o.Seq, o.ProgramID, o.RewardID, rw.Stock, o.Qty, MaxRewardStock, ErrOutOfRange)
	}
	back.Stock += o.Qty
	return txn.Seq, registryPut(t, keyReward(o.ProgramID, o.RewardID), &back)
}

func getOrder(t *tx, seq uint64) (*Order, error) {
	raw, err := t.get(keyOrder(seq))
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("order %d: %w", seq, ErrNotFound)
	}
	o := new(Order)
	if err := json.Unmarshal(raw, o); err != nil {
		return nil, fmt.Errorf("ledger: decode %s: %w", keyKind(keyOrder(seq)), err)
	}
	return o, nil
}

func putOrder(t *tx, o *Order) error {
	raw, err := json.Marshal(o)
	if err != nil {
		return err
	}
	t.set(keyOrder(o.Seq), raw)
	return nil
}
