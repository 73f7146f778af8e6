package ledger

// mall_records.go: the points mall's records — a program's catalog of
// rewards (reg/reward/<program>/<id>) and the orders placed against it
// (order/<seq>) — with their validation and the order's status
// machine. Both are JSON, like the registry: small, operator-paced.

import (
	"fmt"
	"strings"
)

// Key prefixes of the points mall (the layout table is in keys.go).
const (
	prefixReward = "reg/reward/"
	prefixOrder  = "order/"
)

func keyReward(prog, id string) string { return prefixReward + prog + "/" + id }
func keyOrder(seq uint64) string       { return prefixOrder + hex16(seq) }

// Limits of the catalog and of one order.
const (
	maxRewardIDLen   = 32
	maxRewardNameLen = 100
	// MaxRewardStock bounds a reward's stock: far inside int64, so that
	// restoring a cancelled order's quantity cannot wrap.
	MaxRewardStock = 1_000_000_000
	// MaxOrderQty bounds the quantity of one order.
	MaxOrderQty = 1000
)

// Reward is one item of a program's points mall catalog. Stock is what
// orders may still take; it never goes below zero (the single writer
// checks and decrements it in the order's change).
type Reward struct {
	ID        string `json:"id"`
	ProgramID string `json:"program_id"`
	Name      string `json:"name"`
	Price     Points `json:"points_price"`
	Stock     int64  `json:"stock"`
	Active    bool   `json:"active"`
}

// Validate checks a reward; errors name the field.
func (r *Reward) Validate() error {
	switch {
	case !validRewardID(r.ID):
		return fmt.Errorf("reward id %q: want 1 to %d letters, digits, '-' or '_'", r.ID, maxRewardIDLen)
	case r.ProgramID == "" || len(r.ProgramID) > 32 || strings.Contains(r.ProgramID, "/"):
		return fmt.Errorf("reward %s program_id %q: want 1 to 32 characters without '/'", r.ID, r.ProgramID)
	case strings.TrimSpace(r.Name) == "" || len(r.Name) > maxRewardNameLen || !printable(r.Name):
		return fmt.Errorf("reward %s name: want 1 to %d printable characters", r.ID, maxRewardNameLen)
	case r.Price <= 0 || r.Price > MaxAmount:
		return fmt.Errorf("reward %s points_price %d: want 1..%d: %w", r.ID, r.Price, int64(MaxAmount), ErrBadAmount)
	case r.Stock < 0 || r.Stock > MaxRewardStock:
		return fmt.Errorf("reward %s stock %d: want 0..%d: %w", r.ID, r.Stock, MaxRewardStock, ErrBadAmount)
	}
	return nil
}

func validRewardID(id string) bool {
	if id == "" || len(id) > maxRewardIDLen {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OrderStatus is where an order stands.
type OrderStatus string

// The statuses of an order: placed → shipped → delivered; placed or
// shipped → cancelled (the points and the stock come back). Delivered
// and cancelled are final.
const (
	OrderPlaced    OrderStatus = "placed"
	OrderShipped   OrderStatus = "shipped"
	OrderDelivered OrderStatus = "delivered"
	OrderCancelled OrderStatus = "cancelled"
)

// ParseOrderStatus reads a status name.
func ParseOrderStatus(s string) (OrderStatus, error) {
	switch st := OrderStatus(s); st {
	case OrderPlaced, OrderShipped, OrderDelivered, OrderCancelled:
		return st, nil
	}
	return "", fmt.Errorf("order status %q: want one of placed, shipped, delivered, cancelled", s)
}

// canBecome says whether an order in status from may move to to.
func (from OrderStatus) canBecome(to OrderStatus) bool {
	switch from {
	case OrderPlaced:
		return to == OrderShipped || to == OrderCancelled
	case OrderShipped:
		return to == OrderDelivered || to == OrderCancelled
	}
	return false
}

// Order is one points mall order. Seq is its placement's journal entry
// (its RRN), which records the lots the points came from; CancelSeq is
// the cancellation's entry, which gave them back. PAN is clear here, as
// in the card record: the admin API shows it masked.
type Order struct {
	Seq        uint64       `json:"seq"`
	PAN        string       `json:"pan"`
	ProgramID  string       `json:"program_id"`
	RewardID   string       `json:"reward_id"`
	RewardName string       `json:"reward_name"`
	Qty        int64        `json:"qty"`
	Points     Points       `json:"points"`
	Status     OrderStatus  `json:"status"`
	CancelSeq  uint64       `json:"cancel_seq,omitempty"`
	History    []OrderEvent `json:"history"`
}

// OrderEvent is one status an order took, who set it and why. Seq is
// the journal entry the change made (placement, cancellation), if any.
type OrderEvent struct {
	At       int64       `json:"at_unix_nano"`
	Status   OrderStatus `json:"status"`
	Operator string      `json:"operator"`
	Reason   string      `json:"reason"`
	Seq      uint64      `json:"seq,omitempty"`
}
