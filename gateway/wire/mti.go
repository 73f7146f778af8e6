package wire

// The MTI rules of the contract (section 3), for both the host and the
// terminal side: what answers a request, and how a repeat relates to its
// first.

// ResponseMTI is the MTI of the response to a request: the third digit
// plus one and the last digit 0 (0100→0110, 0221→0230, 0401→0410).
func ResponseMTI(mti string) string {
	switch mti { // the contract's requests, without building a string
	case "0100":
		return "0110"
	case "0200":
		return "0210"
	case "0220", "0221":
		return "0230"
	case "0320":
		return "0330"
	case "0400", "0401":
		return "0410"
	case "0420", "0421":
		return "0430"
	case "0500":
		return "0510"
	case "0800":
		return "0810"
	}
	if len(mti) != 4 {
		return mti
	}
	b := []byte(mti)
	b[2] = '0' + (b[2]-'0'+1)%10
	b[3] = '0'
	return string(b)
}

// FirstOf folds a repeat MTI into its first (0221→0220, 0401→0400,
// 0421→0420); any other MTI is its own first.
func FirstOf(mti string) string {
	switch mti {
	case "0221":
		return "0220"
	case "0401":
		return "0400"
	case "0421":
		return "0420"
	}
	return mti
}

// RepeatOf is the repeat MTI of an advice or reversal (0220→0221,
// 0400→0401, 0420→0421); false for an MTI that has none.
func RepeatOf(mti string) (string, bool) {
	switch mti {
	case "0220", "0400", "0420":
		return mti[:3] + "1", true
	}
	return "", false
}

// RequestMTIs are the request MTIs the contract defines (section 3),
// repeats included, in ascending order. Anything else a terminal sends is
// outside the contract (answered 12, or closed when it cannot be read).
func RequestMTIs() []string {
	return []string{"0100", "0200", "0220", "0221", "0320", "0400", "0401", "0420", "0421", "0500", "0800"}
}
