package terminal

import "strings"

// MaskPAN keeps the first 6 and last 4 digits of a PAN and replaces the rest
// with '*'. PANs of 10 characters or fewer are masked completely. It is the
// only form in which this package prints, logs or puts a PAN in an error.
func MaskPAN(pan string) string {
	if len(pan) <= 10 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}
