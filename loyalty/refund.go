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
// takenBack must be what this function returned for the earlier
// refunds (so it never exceeds the cumulative figure), or the error
// wraps ErrInvalid; the bounds of TakeBack apply to refundedTotal.
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
	if takenBack < 0 || int64(takenBack) > due {
		return 0, fmt.Errorf("take back: %d points already taken back, %d due after %d of %d fen: %w", takenBack, due, refundedTotal, original, ErrInvalid)
	}
	return money.Points(due) - takenBack, nil
}
