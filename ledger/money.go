package ledger

import (
	"strconv"

	"github.com/cardcenter/cardcenter/money"
)

// Money and points are package money's types; the ledger names them as
// its own so that its records and API read as before.
type (
	Amount = money.Amount
	Points = money.Points
)

// MaxAmount is money.MaxAmount: the largest magnitude of any figure the
// ledger keeps (12 digits, what fields 4, 48 and 54 carry).
const MaxAmount = money.MaxAmount

// ParseAmount reads a decimal yuan amount exactly (money.ParseAmount).
func ParseAmount(s string) (Amount, error) { return money.ParseAmount(s) }

// InRange reports whether |v| <= MaxAmount.
func InRange(v int64) bool { return money.InRange(v) }

func addInRange(a, b int64) (int64, error) { return money.AddInRange(a, b) }
func addInt64(a, b int64) (int64, error)   { return money.AddInt64(a, b) }
func signed(sign, v int64) (int64, error)  { return money.Signed(sign, v) }

// Unit says what an account counts: money or points. Transfers only move
// value between accounts of the same unit.
type Unit uint8

const (
	UnitMoney  Unit = 1
	UnitPoints Unit = 2
)

func (u Unit) String() string {
	switch u {
	case UnitMoney:
		return "money"
	case UnitPoints:
		return "points"
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}
