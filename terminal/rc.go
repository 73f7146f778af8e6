package terminal

// Response codes (field 39) of contract section 5.
const (
	RCApproved         = "00"
	RCUnknownMerchant  = "03"
	RCDeclined         = "05"
	RCInvalidTxn       = "12"
	RCInvalidAmount    = "13"
	RCUnknownCard      = "14"
	RCOriginalNotFound = "25"
	RCFormatError      = "30"
	RCLostCard         = "41"
	RCStolenCard       = "43"
	RCInsufficient     = "51"
	RCExpiredCard      = "54"
	RCWrongPIN         = "55"
	RCCardNotActive    = "57"
	RCNotSignedOn      = "58"
	RCOverLimit        = "61"
	RCBlacklisted      = "62"
	RCSecurity         = "63"
	RCCountLimit       = "65"
	RCPINTriesExceeded = "75"
	RCDuplicate        = "94"
	RCTotalsMismatch   = "95"
	RCHostError        = "96"
)

var rcMeanings = map[string]string{
	RCApproved:         "approved",
	RCUnknownMerchant:  "unknown merchant or terminal",
	RCDeclined:         "declined",
	RCInvalidTxn:       "invalid transaction",
	RCInvalidAmount:    "invalid amount",
	RCUnknownCard:      "unknown card",
	RCOriginalNotFound: "original not found",
	RCFormatError:      "format error",
	RCLostCard:         "lost card",
	RCStolenCard:       "stolen card",
	RCInsufficient:     "insufficient funds",
	RCExpiredCard:      "expired card",
	RCWrongPIN:         "wrong or missing PIN",
	RCCardNotActive:    "card not active",
	RCNotSignedOn:      "terminal disabled or not signed on",
	RCOverLimit:        "over limit",
	RCBlacklisted:      "card blacklisted",
	RCSecurity:         "security violation",
	RCCountLimit:       "over count limit",
	RCPINTriesExceeded: "PIN tries exceeded",
	RCDuplicate:        "duplicate transmission",
	RCTotalsMismatch:   "batch totals mismatch",
	RCHostError:        "host error",
}

// RCMeaning returns a short English meaning of a response code, or "unknown
// response code" for codes the contract does not define.
func RCMeaning(rc string) string {
	if m, ok := rcMeanings[rc]; ok {
		return m
	}
	return "unknown response code"
}

// resultMeaning is RCMeaning for the answer to op. A 58 to a network
// management request (0800) can only mean the terminal is disabled: the
// host answers an 0800 whether or not the terminal is signed on. To any
// other request it means either, and the wire does not say which.
func resultMeaning(op Op, rc string) string {
	if rc == RCNotSignedOn {
		switch op {
		case OpSignOn, OpSignOff, OpEcho, OpKeyChange:
			return "terminal disabled"
		}
	}
	return RCMeaning(rc)
}
