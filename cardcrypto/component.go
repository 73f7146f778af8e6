package cardcrypto

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Key components as key custodians hand them over. Each custodian holds
// one clear component of a TMK or IMK on a form: 32 hex digits and the
// component's own check value (6 hex digits). The person loading the key
// types both; a check value that does not match the typed component is a
// typing slip caught before anything is combined.

// ErrKCVMismatch: a check value does not match the key it was given for.
var ErrKCVMismatch = fmt.Errorf("%w: check value does not match", ErrBadKey)

// FieldError is a refused key component. Field is the path of the input
// at fault as the caller named it ("components[1].kcv"); Problem says
// what is wrong, never the value. It wraps ErrBadKey, and ErrKCVMismatch
// for a check value that does not match.
type FieldError struct {
	Field   string
	Problem string
	err     error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

func (e *FieldError) Unwrap() error { return e.err }

// KCVHex is a key's check value as operators see it: 6 upper-case hex
// digits.
func KCVHex(key []byte) (string, error) {
	kcv, err := KCV(key)
	if err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(kcv)), nil
}

// ParseKCV decodes a check value written as 6 hex digits (either case).
// The error names field and never echoes the value.
func ParseKCV(field, s string) ([]byte, error) {
	if len(s) != 2*KCVLen {
		return nil, fmt.Errorf("%w: %s is %d characters, want %d hex digits", ErrBadKey, field, len(s), 2*KCVLen)
	}
	kcv, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrBadKey, field)
	}
	return kcv, nil
}

// ParseComponent decodes one custodian's clear key component, hexKey (32
// hex digits), and checks it against kcvHex, the check value on the
// custodian's form (6 hex digits). It returns the 16-byte component. An
// error is a *FieldError whose Field is field + ".key" or field + ".kcv";
// it never holds a value.
func ParseComponent(field, hexKey, kcvHex string) ([]byte, error) {
	fail := func(part string, err error, format string, args ...any) ([]byte, error) {
		return nil, &FieldError{Field: field + "." + part, Problem: fmt.Sprintf(format, args...), err: err}
	}
	switch {
	case hexKey == "":
		return fail("key", ErrBadKey, "missing; want %d hex digits", 2*KeyLen)
	case len(hexKey) != 2*KeyLen:
		return fail("key", ErrBadKey, "%d characters, want %d hex digits", len(hexKey), 2*KeyLen)
	}
	key, err := hex.DecodeString(hexKey)
	if err != nil {
		return fail("key", ErrBadKey, "not hex; want %d hex digits", 2*KeyLen)
	}
	switch {
	case kcvHex == "":
		return fail("kcv", ErrBadKey, "missing; want the component's %d-hex-digit check value", 2*KCVLen)
	case len(kcvHex) != 2*KCVLen:
		return fail("kcv", ErrBadKey, "%d characters, want %d hex digits", len(kcvHex), 2*KCVLen)
	}
	want, err := hex.DecodeString(kcvHex)
	if err != nil {
		return fail("kcv", ErrBadKey, "not hex; want %d hex digits", 2*KCVLen)
	}
	got, err := KCV(key)
	if err != nil {
		return nil, err // unreachable: the key has the right length
	}
	// Check values are public, but comparing in constant time costs
	// nothing and keeps the habit.
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return fail("kcv", ErrKCVMismatch, "does not match the component: check the key and the check value as typed")
	}
	return key, nil
}

// LoadComponents is a key loading: it parses every custodian's component
// (each a pair of key and check value, named field[0], field[1], … in
// errors) and combines them (CombineComponents). It refuses a component
// given twice, which CombineComponents cannot see among three. It returns
// the combined key and its check value.
func LoadComponents(field string, components [][2]string) (key []byte, kcv string, err error) {
	if len(components) < 2 || len(components) > 3 {
		return nil, "", &FieldError{Field: field, Problem: fmt.Sprintf("%d components, want 2 or 3 (one from each key custodian)", len(components)), err: ErrBadKey}
	}
	parts := make([][]byte, len(components))
	for i, c := range components {
		if parts[i], err = ParseComponent(fmt.Sprintf("%s[%d]", field, i), c[0], c[1]); err != nil {
			return nil, "", err
		}
		for j := range i {
			if subtle.ConstantTimeCompare(parts[i], parts[j]) == 1 {
				return nil, "", &FieldError{Field: fmt.Sprintf("%s[%d].key", field, i),
					Problem: fmt.Sprintf("the same as %s[%d]: each custodian gives their own component", field, j), err: ErrBadKey}
			}
		}
	}
	key, err = CombineComponents(parts)
	if err != nil {
		return nil, "", &FieldError{Field: field, Problem: "the components combine to a weak key (zero, or equal halves): check them", err: err}
	}
	kcv, err = KCVHex(key)
	return key, kcv, err
}
