package loyalty

import (
	"math/big"

	"github.com/cardcenter/cardcenter/money"
)

// Tiers. A member's tier follows the average monthly spend over the
// program's trailing window (Rules.TierWindowMonths buckets, the ledger
// keeps them). Upgrades are immediate: the ledger adds a purchase to the
// current month's bucket, calls Upgrade with the new average and earns
// the purchase at the tier it returns, so the transaction that crosses a
// threshold already earns at the new multiplier. Downgrades happen only
// at the monthly Review, by one tier at most. All three assume
// Rules.Validate: thresholds rise, the first is 0.

// TierFor is the highest tier whose threshold avg reaches (0 when the
// rules have no tiers or avg is below every threshold).
func TierFor(r *Rules, avg money.Amount) int {
	t := 0
	for i, tier := range r.Tiers {
		if avg >= tier.ThresholdFen {
			t = i
		}
	}
	return t
}

// Upgrade is the tier after a transaction: the member moves up at once,
// several tiers if the average crosses several thresholds, and never
// down.
func Upgrade(r *Rules, current int, avg money.Amount) int {
	return max(current, TierFor(r, avg))
}

// Review is the tier after the monthly review: up to the qualified tier,
// or down by one tier at most when the member no longer qualifies.
func Review(r *Rules, current int, avg money.Amount) int {
	switch t := TierFor(r, avg); {
	case t > current:
		return t
	case t < current:
		return current - 1
	default:
		return current
	}
}

// AverageMonthlySpend is floor(sum(buckets) / len(buckets)), 0 for no
// buckets. A bucket may be negative (a month of refunds); the floor is
// toward minus infinity. The sum never wraps: past int64 it is taken in
// big integers, and an average of int64s is an int64.
func AverageMonthlySpend(buckets []money.Amount) money.Amount {
	if len(buckets) == 0 {
		return 0
	}
	var sum int64
	for _, b := range buckets {
		s, err := money.AddInt64(sum, int64(b))
		if err != nil {
			return bigAverage(buckets)
		}
		sum = s
	}
	n := int64(len(buckets))
	q := sum / n
	if sum%n != 0 && sum < 0 {
		q--
	}
	return money.Amount(q)
}

func bigAverage(buckets []money.Amount) money.Amount {
	sum := new(big.Int)
	for _, b := range buckets {
		sum.Add(sum, big.NewInt(int64(b)))
	}
	// Div is Euclidean: with a positive divisor, the floor.
	return money.Amount(sum.Div(sum, big.NewInt(int64(len(buckets)))).Int64())
}
