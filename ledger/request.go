package ledger

import (
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/money"
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
	// KindExpiry is the daily expiry job's breakage of one card's
	// expired lots (ledger/expiry.go): in the journal, in no batch.
	KindExpiry
	// KindMallOrder and KindMallCancel are a points-mall order and its
	// cancellation (ledger/mall.go): operator changes, in no terminal's
	// batch.
	KindMallOrder
	KindMallCancel
	// KindSettlement moves a merchant's settled position for a business
	// date between the program's settlement account and the merchant's
	// payable account (ledger/settle.go): in no batch, no card's history
	// and no date index.
	KindSettlement
)

var kindNames = [...]string{
	"unsupported", "sign-on", "sign-off", "key-change", "echo", "balance",
	"pre-auth", "purchase", "refund", "load", "void", "accrual", "redeem",
	"completion", "reversal", "batch-close", "batch-upload",
	"batch-close-after-upload", "adjust", "network-other", "expiry",
	"mall-order", "mall-cancel", "settlement",
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
		KindRedeem, KindCompletion, KindReversal, KindAdjust, KindExpiry, KindMallOrder, KindMallCancel, KindSettlement:
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

	// Security verdicts (contract section 7). The gateway computes them
	// before it submits, so the cryptography runs on the connections'
	// goroutines, not in the single writer; the ledger applies them in
	// the contract's check order against the terminal's and the card's
	// state, which only the writer may read and change.
	Security Security
}

// Security is what the gateway's security step found in a request.
type Security struct {
	// MACScope: the MTI is one the contract MACs once the terminal has
	// keys (0100/0200/0220/04xx/0500/0320).
	MACScope bool
	MAC      MACVerdict
	// KeyGen is the generation of the working keys the MAC verified
	// under (MACValid only); the ledger answers 63 unless it is the
	// terminal's current generation.
	KeyGen uint32
	// PIN is the verdict on field 52 against the card's PIN verification
	// data; the ledger decides whether a PIN was needed at all.
	PIN PINVerdict
	// Chip is set for chip entry (field 22 05x/07x) with usable field 55.
	Chip *ChipCheck
	// NewKeys are a sign-on's or key change's fresh working keys; nil
	// when the terminal has no TMK to send them under.
	NewKeys *WorkingKeys
}

// MACVerdict is the gateway's check of a request's MAC.
type MACVerdict uint8

const (
	// MACAbsent: no field 64 or 128.
	MACAbsent MACVerdict = iota
	// MACValid: verified under the terminal's TAK of generation KeyGen.
	MACValid
	// MACWrong: present but it does not verify, or no key to verify it.
	MACWrong
	// MACMisplaced: in 64 with a field 65–127 present, or in 128
	// without one.
	MACMisplaced
)

// PINVerdict is the gateway's check of field 52.
type PINVerdict uint8

const (
	// PINAbsent: no field 52.
	PINAbsent PINVerdict = iota
	// PINCorrect: the block decrypted under the TPK and the PIN matches
	// the card's verification data.
	PINCorrect
	// PINWrong: anything else (wrong PIN, a block that does not decrypt
	// to a format 0 block for this PAN, no PIN on the card). A terminal
	// without a TPK sends nothing the host can read: PINAbsent.
	PINWrong
)

// ChipCheck is the gateway's check of a chip request's ARQC.
type ChipCheck struct {
	// PSN is the card sequence number (last two digits of field 23).
	PSN string
	// ATC is the application transaction counter (tag 9F36).
	ATC uint16
	// CryptogramValid: the ARQC verified under the session key derived
	// from the program's IMK for this PAN, PSN and ATC.
	CryptogramValid bool
}

// WorkingKeys are fresh terminal working keys: sealed under the host's
// master key for the store, and field 62 (the keys under the TMK with
// their check values) for the answer.
type WorkingKeys struct {
	TPK, TAK       []byte // sealed
	TPKKCV, TAKKCV string // hex check values
	Field62        []byte
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
	// Field62 is a sign-on's or key change's working keys under the TMK.
	Field62 []byte
	// ChipAccepted: the ARQC and ATC were accepted, so the response
	// carries tag 91 (ARPC and ARC) in field 55.
	ChipAccepted bool
	// MACKeyGen is the generation of the working keys the response is to
	// be MACed under; 0 for no MAC (terminal without keys, 03, 58, 63).
	MACKeyGen uint32
	// KeyGen is the generation of the working keys a sign-on or key
	// change installed.
	KeyGen uint32
	// Tier is the member's tier after the decision, for a card request
	// of a program with loyalty rules; nil otherwise.
	Tier *TierInfo
	// LoyaltyInfo is the terminal's opt-in to field 63, as it was when
	// the request was decided (a retransmission renders the same bytes
	// even if an operator has since changed the flag).
	LoyaltyInfo bool
}

// TierInfo is what the terminal is told of a member's tier: its index
// in the program's rules, its name and the member discount.
type TierInfo struct {
	Index    int
	Name     string
	Discount money.BP
}

// Approved is shorthand for a nil decision error.
func (r *Result) Approved() bool { return r.Err == nil }
