package ledger

import (
	"fmt"
	"time"
)

// Kind is what a request asks the ledger to do. The gateway derives it from
// the MTI and processing code; the ledger never sees ISO 8583.
type Kind uint8

const (
	KindUnsupported Kind = iota
	KindSignOn
	KindSignOff
	KindKeyChange
	KindEcho
	KindBalance
	KindPreAuth
	KindPurchase
	KindRefund
	KindLoad
	KindVoid
	KindAccrual
	KindRedeem
	KindCompletion
	KindReversal
	KindBatchClose
	KindBatchUpload
	KindBatchCloseAfterUpload
	KindAdjust // operator credit or debit through the admin API
	// KindNetworkOther is an 0800 with an unknown or missing network
	// management code: allowed before sign-on, answered 12 (or 30).
	KindNetworkOther
)

var kindNames = [...]string{
	"unsupported", "sign-on", "sign-off", "key-change", "echo", "balance",
	"pre-auth", "purchase", "refund", "load", "void", "accrual", "redeem",
	"completion", "reversal", "batch-close", "batch-upload",
	"batch-close-after-upload", "adjust", "network-other",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Financial kinds change balances and appear in the journal.
func (k Kind) Financial() bool {
	switch k {
	case KindPreAuth, KindPurchase, KindRefund, KindLoad, KindVoid, KindAccrual,
		KindRedeem, KindCompletion, KindReversal, KindAdjust:
		return true
	}
	return false
}

// Network kinds are the 0800 family: allowed before sign-on.
func (k Kind) Network() bool {
	return k == KindSignOn || k == KindSignOff || k == KindKeyChange || k == KindEcho || k == KindNetworkOther
}

// OrigRef names an original transaction the way field 90 does: its MTI,
// STAN and transmission time (field 7), at the requesting terminal.
type OrigRef struct {
	MTI  string
	STAN string
	Time string
}

// BatchTotals are a batch's counts and amounts (0500 field 48).
type BatchTotals struct {
	DebitCount   int64
	DebitAmount  Amount
	CreditCount  int64
	CreditAmount Amount
}

// Request is one terminal request in domain terms.
type Request struct {
	Kind Kind
	// MTI is the request's MTI with a repeat folded into its first
	// (0221→0220, 0401→0400, 0421→0420).
	MTI      string
	ProcCode string
	TID, MID string
	// STAN and Time (field 7) with TID identify the request; Fingerprint
	// is a digest of its whole content (bar MAC and the repeat digit).
	STAN        string
	Time        string
	Fingerprint [16]byte
	// Invalid is the validator's verdict on the mandatory fields; it is
	// applied after the retransmission check, as the contract orders.
	Invalid error

	PAN       string
	CardExp   string // YYMM from field 14 or 35; empty when absent
	EntryMode string
	Amount    Amount
	Batch     uint32 // field 60; 0 when absent
	OrigRRN   string // field 37 of a refund or upload
	Orig      OrigRef
	Totals    BatchTotals // field 48 of a 0500
}

// Balances are the card's balances after a decision (field 54).
type Balances struct {
	Ledger    Amount
	Available Amount
	Points    Points
	Earned    Points
	Debited   Points
}

// Result is the ledger's answer to a request. It is stored under the
// request's identity, and a retransmission gets the stored Result back.
type Result struct {
	Err      error
	RRN      string
	AuthCode string
	Balances *Balances
	// Replayed is true when this Result is the stored answer to an earlier
	// identical request.
	Replayed bool
	// Stored is false for answers that the contract says are not stored
	// (unknown terminal, not signed on, duplicate); a resend is checked again.
	Stored bool
	// At is when the decision was made (the host's clock).
	At time.Time
}

// Approved is shorthand for a nil decision error.
func (r *Result) Approved() bool { return r.Err == nil }
