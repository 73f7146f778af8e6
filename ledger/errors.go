package ledger

import (
	"errors"

	"github.com/cardcenter/cardcenter/money"
)

// Decision errors. The ledger answers every request with one of these (or
// nil for approval); the gateway maps them to ISO 8583 response codes in its
// one table. They wrap with %w so that errors.Is finds the sentinel while
// the message says which value failed.
var (
	ErrInvalidField      = errors.New("mandatory field missing or invalid")
	ErrUnknownMerchant   = errors.New("unknown merchant")
	ErrUnknownTerminal   = errors.New("unknown terminal or terminal not registered to merchant")
	ErrTerminalDisabled  = errors.New("terminal disabled")
	ErrNotSignedOn       = errors.New("terminal not signed on")
	ErrSecurity          = errors.New("security violation")
	ErrDuplicate         = errors.New("duplicate STAN with different content")
	ErrUnsupported       = errors.New("message or processing code not supported")
	ErrNotAllowed        = errors.New("transaction not allowed")
	ErrBadAmount         = errors.New("amount zero or above what the original allows")
	ErrUnknownCard       = errors.New("unknown card")
	ErrOriginalNotFound  = errors.New("original transaction not found")
	ErrCardLost          = errors.New("card reported lost")
	ErrCardStolen        = errors.New("card reported stolen")
	ErrInsufficientFunds = errors.New("insufficient funds")
	ErrCardExpired       = errors.New("card expired")
	ErrCardNotActive     = errors.New("card not active")
	ErrOverLimit         = errors.New("over amount limit")
	ErrBlacklisted       = errors.New("card on blacklist")
	ErrCountLimit        = errors.New("over daily transaction count limit")
	ErrTotalsMismatch    = errors.New("batch totals do not match")
	ErrDeclined          = errors.New("declined")
	ErrHost              = errors.New("host error")
	ErrWrongPIN          = errors.New("wrong PIN or needed PIN missing")
	ErrPINTriesExceeded  = errors.New("PIN tries exceeded; card blocked for PIN use")
	// ErrOutOfRange: an amount or points change would take a figure past
	// MaxAmount, or an account's running sum past int64 (money's
	// sentinel). A business decline (13 on the wire, 400 naming the field
	// at the admin API); nothing is changed.
	ErrOutOfRange = money.ErrOutOfRange
)

// decisionErrors fixes the stored code of each sentinel. Stored responses
// keep only this code; append new sentinels at the end, never reorder.
var decisionErrors = []error{
	nil,
	ErrInvalidField, ErrUnknownMerchant, ErrUnknownTerminal, ErrTerminalDisabled,
	ErrNotSignedOn, ErrSecurity, ErrDuplicate, ErrUnsupported, ErrNotAllowed,
	ErrBadAmount, ErrUnknownCard, ErrOriginalNotFound, ErrCardLost, ErrCardStolen,
	ErrInsufficientFunds, ErrCardExpired, ErrCardNotActive, ErrOverLimit,
	ErrBlacklisted, ErrCountLimit, ErrTotalsMismatch, ErrDeclined, ErrHost,
	ErrWrongPIN, ErrPINTriesExceeded,
	ErrOutOfRange,
}

// errorCode returns the stored code of err's sentinel (ErrHost's for an
// error that wraps none).
func errorCode(err error) uint8 {
	if err == nil {
		return 0
	}
	for i, s := range decisionErrors[1:] {
		if errors.Is(err, s) {
			return uint8(i + 1)
		}
	}
	return errorCode(ErrHost)
}

func errorFromCode(c uint8) error {
	if int(c) < len(decisionErrors) {
		return decisionErrors[c]
	}
	return ErrHost
}
