package loyalty

import (
	"fmt"

	"github.com/cardcenter/cardcenter/money"
)

// TakeBack is what one refund takes back of an earning:
//
//	floor(earned × refunded / original)
//
// computed exactly (the product of points and fen exceeds int64). It is
// the first refund's figure; for later partial refunds of the same
// purchase use RefundTakeBack, which keeps the total within earned. A
// void or reversal takes back exactly what was earned (less what refunds
// already took back) and needs no arithmetic.
//
// earned must be >= 0, original > 0 and 0 <= refunded <= original, or
// the error wraps ErrInvalid.
func TakeBack(earned money.Points, refunded, original money.Amount) (money.Points, error) {
	return RefundTakeBack(earned, 0, refunded, original)
}

// RefundTakeBack is what a refund takes back when the purchase's
// refunds, this one included, now total refundedTotal and earlier ones
// took back takenBack:
//
//	floor(earned × refundedTotal / original) − takenBack
//
// Rounding the cumulative figure, not each refund, is what keeps the
// sum of take-backs equal to floor(earned × refundedTotal / original):
// never more than earned, and exactly earned once the purchase is
// refunded in full (three refunds of 33.33 on 100.00 that earned 99
// take back 32, 33, 33; the last 0.01 takes the final 1). Rounding each
// refund alone would leave points behind.
//
// takenBack is what the earlier refunds still in force took back. When
// one of them was undone since (its void or reversal gives back exactly
// what it took, and lowers refundedTotal by its amount), takenBack can
// exceed the cumulative figure: rounding the whole down is not rounding
// the parts down (on 1 point earned by 1.00, refunds of 0.50 and 0.50
// take back 0 and 1; undo the first, and 0.50 refunded has 1 taken back
// where floor(0.5) is 0). This refund then takes back nothing: its
// share was taken back already. The total stays within earned, and a
// refund in full still makes it exactly earned. takenBack outside
// 0..earned is an error wrapping ErrInvalid; the bounds of TakeBack
// apply to refundedTotal.
func RefundTakeBack(earned, takenBack money.Points, refundedTotal, original money.Amount) (money.Points, error) {
	switch {
	case earned < 0:
		return 0, fmt.Errorf("take back: earned %d points: negative: %w", earned, ErrInvalid)
	case original <= 0:
		return 0, fmt.Errorf("take back: original amount %d fen: want > 0: %w", original, ErrInvalid)
	case refundedTotal < 0 || refundedTotal > original:
		return 0, fmt.Errorf("take back: refunded %d fen of %d: want 0..original: %w", refundedTotal, original, ErrInvalid)
	}
	due, err := money.Scale(int64(earned), []int64{int64(refundedTotal)}, int64(original), money.Floor)
	if err != nil {
		return 0, fmt.Errorf("take back %d points × %d / %d fen: %w", earned, refundedTotal, original, err)
	}
	if takenBack < 0 || takenBack > earned {
		return 0, fmt.Errorf("take back: %d points already taken back of %d earned: want 0..earned: %w", takenBack, earned, ErrInvalid)
	}
	return max(money.Points(due)-takenBack, 0), nil
}
