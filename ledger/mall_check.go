package ledger

// mall_check.go: the checker's points mall part.

import (
	"context"
	"encoding/json"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// checkMall verifies every reward (valid, stock within 0..MaxRewardStock,
// filed under its own program and id) and every order against the
// journal: its placement entry is a mall order of the order's card that
// debited exactly its points; a cancelled order has a cancellation entry
// of the order that gave exactly those points back, any other has none.
// The points themselves are in the per-program conservation already
// (orders post to prd/<prog>).
func checkMall(ctx context.Context, snap *pebble.Snapshot, problem func(string, ...any)) error {
	err := scan(snap, prefixReward, func(k, v []byte) error {
		var r Reward
		if err := json.Unmarshal(v, &r); err != nil {
			problem("reward %s: %v", k[len(prefixReward):], err)
			return ctx.Err()
		}
		if err := r.Validate(); err != nil {
			problem("reward %s: %v", k[len(prefixReward):], err)
		} else if string(k) != keyReward(r.ProgramID, r.ID) {
			problem("reward %s/%s filed under %s", r.ProgramID, r.ID, k)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	return scan(snap, prefixOrder, func(k, v []byte) error {
		var o Order
		if err := json.Unmarshal(v, &o); err != nil {
			problem("order %s: %v", k[len(prefixOrder):], err)
			return ctx.Err()
		}
		if string(k) != keyOrder(o.Seq) {
			problem("order %d filed under %s", o.Seq, k[len(prefixOrder):])
			return ctx.Err()
		}
		placed, err := readTxn(snap, o.Seq)
		if err != nil {
			return err
		}
		if placed == nil || placed.Kind != KindMallOrder || placed.PAN != o.PAN || placed.Debited != o.Points {
			problem("order %d (card %s, %d points): its placement entry is missing or does not match", o.Seq, cardnum.Mask(o.PAN), o.Points)
		}
		if _, err := ParseOrderStatus(string(o.Status)); err != nil {
			problem("order %d: %v", o.Seq, err)
		}
		switch {
		case o.Status == OrderCancelled:
			undo, err := readTxn(snap, o.CancelSeq)
			if err != nil {
				return err
			}
			if o.CancelSeq == 0 || undo == nil || undo.Kind != KindMallCancel || undo.OrigSeq != o.Seq || undo.Earned != o.Points {
				problem("order %d: cancelled, but its cancellation entry %d is missing or does not give back %d points", o.Seq, o.CancelSeq, o.Points)
			}
		case o.CancelSeq != 0:
			problem("order %d is %s but has a cancellation entry %d", o.Seq, o.Status, o.CancelSeq)
		}
		return ctx.Err()
	})
}
