package admin

import (
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/provision"
)

// The JSON bodies of the admin API, shared by Server and Client. Money is
// an integer count of fen in fields named *_fen, except where an operator
// types it: the adjust request's amount is yuan as a decimal string. No
// body carries a clear PAN: a card's PAN appears only masked.

// ErrorBody is every error response: what went wrong and, for bad input,
// which field (and, for an import, which line; every problem is listed).
type ErrorBody struct {
	Error  string                 `json:"error"`
	Field  string                 `json:"field,omitempty"`
	Line   int                    `json:"line,omitempty"`
	Errors []provision.FieldError `json:"errors,omitempty"`
}

// HealthBody is GET /healthz.
type HealthBody struct {
	Status string `json:"status"`
}

// ProgramList is GET /v1/programs.
type ProgramList struct {
	Programs []ProgramView `json:"programs"`
}

// ProgramView is a program as operators see it, and the body of PUT
// /v1/programs/{id}. Its issuer master key shows only as its check value
// (IMKKCV, read-only: PUT ignores it and keeps the stored key); the key
// itself is loaded with POST /v1/programs/{id}/imk.
type ProgramView struct {
	ID       string `json:"id,omitempty"` // optional on PUT; must equal the path's
	Name     string `json:"name"`
	Currency string `json:"currency"`
	// PointCost is what the merchant where points are earned pays per
	// point; RedemptionValue the purchase value one point pays for.
	PointCost       ledger.Amount `json:"point_cost_fen"`
	RedemptionValue ledger.Amount `json:"redemption_value_fen"`
	InterchangeBP   int64         `json:"interchange_bp"`
	HoldDays        int           `json:"hold_days"`
	// Products are the program's own card products and their PIN rules.
	Products []ledger.Product `json:"products,omitempty"`
	IMKKCV   string           `json:"imk_kcv,omitempty"`
	// Loyalty are the program's current loyalty rules (docs/loyalty.md),
	// with their version. On PUT a body without loyalty keeps the stored
	// rules; rules that differ from the stored ones get the next version
	// (the body's version is ignored: the store assigns it).
	Loyalty *loyalty.Rules `json:"loyalty,omitempty"`
	// Billing are the program's monthly fees to its merchants
	// (docs/settlement.md, "Merchant billing"); a PUT without it bills
	// nothing from the next month billed.
	Billing *ledger.Billing `json:"billing,omitempty"`
}

// MerchantList is GET /v1/merchants.
type MerchantList struct {
	Merchants []ledger.Merchant `json:"merchants"`
}

// TerminalInput is the body of PUT /v1/terminals/{tid}.
type TerminalInput struct {
	TID string `json:"tid,omitempty"` // optional; must equal the path's
	MID string `json:"mid"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// LoyaltyInfo opts the terminal in to field 63, the member's tier
	// and discount on approvals (docs/protocol.md "Field 63"); it
	// defaults to false, as a PUT replaces the registration.
	LoyaltyInfo bool `json:"loyalty_info,omitempty"`
}

// TerminalView is a terminal's registration and runtime state. Keys show
// only as check values: the TMK's (empty: none loaded) and the working
// keys' of the current key generation (empty: none issued, or signed off).
type TerminalView struct {
	TID           string `json:"tid"`
	MID           string `json:"mid"`
	Enabled       bool   `json:"enabled"`
	LoyaltyInfo   bool   `json:"loyalty_info"`
	SignedOn      bool   `json:"signed_on"`
	OpenBatch     uint32 `json:"open_batch,omitempty"`
	TMKKCV        string `json:"tmk_kcv,omitempty"`
	KeyGeneration uint32 `json:"key_generation"`
	TPKKCV        string `json:"tpk_kcv,omitempty"`
	TAKKCV        string `json:"tak_kcv,omitempty"`
}

// TerminalList is GET /v1/terminals.
type TerminalList struct {
	Terminals []TerminalView `json:"terminals"`
}

// CardInput is the body of PUT /v1/cards/{pan}. The PAN is the path's;
// the body has none.
type CardInput struct {
	ProgramID string `json:"program_id"`
	HomeMID   string `json:"home_mid"`
	Product   string `json:"product"`
	// State defaults to "issued" for a new card and to its current state
	// for an existing one, which it must equal (POST …/state changes it).
	State       string `json:"state,omitempty"`
	Expiry      string `json:"expiry"`
	ServiceCode string `json:"service_code,omitempty"`
	PSN         string `json:"psn,omitempty"`
	// Blacklisted sets a new card's flag; for an existing card it must be
	// absent or equal to the stored flag (POST …/blacklist changes it).
	Blacklisted     *bool         `json:"blacklisted,omitempty"`
	Member          ledger.Member `json:"member"`
	MaxBalanceFen   ledger.Amount `json:"max_balance_fen,omitempty"`
	PerTxnLimitFen  ledger.Amount `json:"per_txn_limit_fen,omitempty"`
	DailyLimitFen   ledger.Amount `json:"daily_limit_fen,omitempty"`
	DailyCountLimit int           `json:"daily_count_limit,omitempty"`
}

// CardView is a card as operators see it: masked PAN, registration,
// limits and (for a single card) balances.
type CardView struct {
	PAN         string        `json:"pan"` // masked
	ProgramID   string        `json:"program_id"`
	HomeMID     string        `json:"home_mid"`
	Product     string        `json:"product"`
	State       string        `json:"state"`
	Expiry      string        `json:"expiry"`
	Expired     bool          `json:"expired"` // by the server's clock
	ServiceCode string        `json:"service_code,omitempty"`
	PSN         string        `json:"psn,omitempty"`
	Blacklisted bool          `json:"blacklisted"`
	Member      ledger.Member `json:"member"`
	// MaxBalanceFen is the effective limit (the default when none is set).
	MaxBalanceFen   ledger.Amount `json:"max_balance_fen"`
	PerTxnLimitFen  ledger.Amount `json:"per_txn_limit_fen,omitempty"`
	DailyLimitFen   ledger.Amount `json:"daily_limit_fen,omitempty"`
	DailyCountLimit int           `json:"daily_count_limit,omitempty"`
	Balances        *BalancesView `json:"balances,omitempty"`
	// PIN is the card's PIN state (one card only): whether it has a PIN,
	// the wrong PINs in a row, and whether it is blocked for PIN use.
	PIN *ledger.PINState `json:"pin,omitempty"`
}

// BalancesView is a card's committed balances.
type BalancesView struct {
	LedgerFen    ledger.Amount `json:"ledger_fen"`
	AvailableFen ledger.Amount `json:"available_fen"`
	Points       ledger.Points `json:"points"`
}

// CardList is GET /v1/cards: a page of cards in PAN order. NextCursor,
// when set, fetches the next page (?cursor=); it is opaque and valid while
// the server runs.
type CardList struct {
	Cards      []CardView `json:"cards"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// StateRequest is the body of POST /v1/cards/{pan}/state.
type StateRequest struct {
	State string `json:"state"`
	Note  string `json:"note,omitempty"`
}

// AdjustRequest is the body of POST /v1/cards/{pan}/adjust: either an
// amount in yuan ("12.50" credits, "-12.50" debits) or points (positive
// credits, negative debits), and a note saying why (required).
type AdjustRequest struct {
	Amount string `json:"amount,omitempty"`
	Points int64  `json:"points,omitempty"`
	Note   string `json:"note"`
}

// AdjustResult answers an adjustment: its journal entry and the card's
// balances after it.
type AdjustResult struct {
	RRN      string       `json:"rrn"`
	PAN      string       `json:"pan"` // masked
	Balances BalancesView `json:"balances"`
}

// TxnView is one journal entry of a card's history.
type TxnView struct {
	RRN           string        `json:"rrn"`
	Kind          string        `json:"kind"`
	Status        string        `json:"status"`
	MTI           string        `json:"mti,omitempty"`
	ProcCode      string        `json:"proc_code,omitempty"`
	TID           string        `json:"tid,omitempty"`
	MID           string        `json:"mid,omitempty"`
	HomeMID       string        `json:"home_mid,omitempty"`
	ProgramID     string        `json:"program_id,omitempty"`
	PAN           string        `json:"pan"` // masked
	STAN          string        `json:"stan,omitempty"`
	Field7        string        `json:"field7,omitempty"`
	AuthCode      string        `json:"auth_code,omitempty"`
	Batch         uint32        `json:"batch,omitempty"`
	BizDate       uint32        `json:"biz_date"`
	At            time.Time     `json:"at"`
	AmountFen     ledger.Amount `json:"amount_fen"`
	RefundedFen   ledger.Amount `json:"refunded_fen,omitempty"`
	OrigRRN       string        `json:"orig_rrn,omitempty"`
	UndoneByRRN   string        `json:"undone_by_rrn,omitempty"`
	HoldAmountFen ledger.Amount `json:"hold_amount_fen,omitempty"`
	Earned        ledger.Points `json:"earned,omitempty"`
	Debited       ledger.Points `json:"debited,omitempty"`
}

// History is GET /v1/cards/{pan}/history: newest first.
type History struct {
	PAN  string    `json:"pan"` // masked
	Txns []TxnView `json:"txns"`
}

// CheckResult is GET /v1/check: the ledger's consistency report.
type CheckResult struct {
	OK bool `json:"ok"`
	ledger.CheckReport
}

// ImportResult is POST /v1/import.
type ImportResult struct {
	Summary provision.Summary `json:"summary"`
}

// KeyComponent is one key custodian's clear component: 32 hex digits and
// its check value, 6 hex digits, as on the custodian's form.
type KeyComponent struct {
	Key string `json:"key"`
	KCV string `json:"kcv"`
}

// KeyLoadRequest is the body of POST /v1/terminals/{tid}/tmk and POST
// /v1/programs/{id}/imk: 2 or 3 components, optionally the check value
// the combined key must have (from the key ceremony's record), and the
// reason for the audit record.
type KeyLoadRequest struct {
	Components []KeyComponent `json:"components"`
	KCV        string         `json:"kcv,omitempty"`
	Note       string         `json:"note"`
}

// KeyLoadResult answers a key load: the check values of the components
// as verified, and the combined key's. Never a key.
type KeyLoadResult struct {
	Target        string   `json:"target"` // the TID or program id
	ComponentKCVs []string `json:"component_kcvs"`
	KCV           string   `json:"kcv"`
}

// NoteRequest is the body of POST /v1/cards/{pan}/pin/unblock: why.
type NoteRequest struct {
	Note string `json:"note"`
}

// BlacklistRequest is the body of POST /v1/cards/{pan}/blacklist: on
// (required) puts the card on the blacklist, off takes it off.
type BlacklistRequest struct {
	On   *bool  `json:"on"`
	Note string `json:"note"`
}

// BINRangeRequest is the body of POST /v1/blacklist/bins: a range of 6 to
// 12 digit BINs, low and high of one length, both inclusive.
type BINRangeRequest struct {
	Low  string `json:"low"`
	High string `json:"high"`
	Note string `json:"note"`
}

// BINList is GET /v1/blacklist/bins, and the answer to a change of it.
type BINList struct {
	Ranges []ledger.BINRange `json:"ranges"`
}

// AuditList is GET /v1/audit: operators' security changes, oldest first.
// Next, when set, is the after= of the next page.
type AuditList struct {
	Records []ledger.AuditRecord `json:"records"`
	Next    uint64               `json:"next,omitempty"`
}
