package cardnum

import "strings"

// Shortest and longest PAN-like digit strings (ISO/IEC 7812 as this host
// issues them, and the contract's field 2).
const (
	MinLen = 12
	MaxLen = 19
)

// Mask rules (see the package doc): at most maxFirst leading and maxLast
// trailing digits shown, never fewer than minHidden hidden.
const (
	maxFirst  = 6
	maxLast   = 4
	minHidden = 6
)

// Digits reports whether s is non-empty and holds only ASCII digits.
func Digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Mask returns p with all but at most its first 6 and last 4 digits
// starred, hiding at least 6; a value that is not 12 to 19 digits is
// starred completely. The result has p's length.
func Mask(p string) string {
	if len(p) < MinLen || len(p) > MaxLen || !Digits(p) {
		return strings.Repeat("*", len(p))
	}
	show := min(maxFirst+maxLast, len(p)-minHidden)
	last := min(maxLast, show)
	first := show - last
	return p[:first] + strings.Repeat("*", len(p)-show) + p[len(p)-last:]
}

// Scrub masks every run of MinLen or more digits in s with Mask and leaves
// the rest of s as it is.
func Scrub(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		switch {
		case j-i >= MinLen:
			b.WriteString(Mask(s[i:j]))
			i = j
		case j > i:
			b.WriteString(s[i:j])
			i = j
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// LuhnValid reports whether p is a digit string of at least 2 digits whose
// last digit is its Luhn check digit.
func LuhnValid(p string) bool {
	if len(p) < 2 || !Digits(p) {
		return false
	}
	return luhnSum(p, false)%10 == 0
}

// LuhnDigit returns the check digit that makes body+digit Luhn-valid; for
// a body that is not a digit string it returns '0' (body+"0" is then not
// Luhn-valid, which is what a caller checking the result will see).
func LuhnDigit(body string) byte {
	if !Digits(body) {
		return '0'
	}
	return byte('0' + (10-luhnSum(body, true)%10)%10)
}

// luhnSum is the Luhn sum of the digit string s, read from the right,
// doubling every other digit: starting with the rightmost when doubleLast
// (s is a body whose check digit is still to come), else with the one
// before it (s ends in its check digit).
func luhnSum(s string, doubleLast bool) int {
	sum := 0
	double := doubleLast
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum
}
