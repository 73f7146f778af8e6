package gateway

import (
	"errors"

	"github.com/cardcenter/cardcenter/ledger"
)

// responseCodes is the one table from internal decisions to field 39
// (terminal-protocol.md section 5). Order matters only for errors that
// wrap two sentinels; none do.
var responseCodes = []struct {
	err error
	rc  string
}{
	{ledger.ErrInvalidField, "30"},
	{ledger.ErrUnknownMerchant, "03"},
	{ledger.ErrUnknownTerminal, "03"},
	{ledger.ErrTerminalDisabled, "58"},
	{ledger.ErrNotSignedOn, "58"},
	{ledger.ErrSecurity, "63"},
	{ledger.ErrDuplicate, "94"},
	{ledger.ErrUnsupported, "12"},
	{ledger.ErrNotAllowed, "12"},
	{ledger.ErrBadAmount, "13"},
	// An amount that would take a balance, total or counter past what
	// the ledger (and fields 48 and 54) can represent: a business
	// decline like any other amount the rules refuse, not a host error.
	{ledger.ErrOutOfRange, "13"},
	{ledger.ErrUnknownCard, "14"},
	{ledger.ErrOriginalNotFound, "25"},
	{ledger.ErrCardLost, "41"},
	{ledger.ErrCardStolen, "43"},
	{ledger.ErrInsufficientFunds, "51"},
	{ledger.ErrCardExpired, "54"},
	{ledger.ErrCardNotActive, "57"},
	{ledger.ErrOverLimit, "61"},
	{ledger.ErrBlacklisted, "62"},
	{ledger.ErrCountLimit, "65"},
	{ledger.ErrTotalsMismatch, "95"},
	{ledger.ErrDeclined, "05"},
	{ledger.ErrHost, rcHostError},
	{ledger.ErrWrongPIN, "55"},
	{ledger.ErrPINTriesExceeded, "75"},
}

// rcHostError is field 39 for a host error: the host, not the card or
// the request, failed.
const rcHostError = "96"

// ResponseCode maps a decision to field 39: "00" for approval, "96" for
// anything the table does not know.
func ResponseCode(err error) string {
	if err == nil {
		return "00"
	}
	for _, e := range responseCodes {
		if errors.Is(err, e.err) {
			return e.rc
		}
	}
	return rcHostError
}
