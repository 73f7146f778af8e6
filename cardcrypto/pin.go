package cardcrypto

import (
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// PIN lengths of ISO 9564 format 0; PAN lengths of contract section 2.
const (
	minPINLen = 4
	maxPINLen = 12
	minPANLen = 12
	maxPANLen = 19
)

// isDigits reports whether s is non-empty and all ASCII decimal digits.
// (cardcrypto imports nothing of the repository, so it keeps its own.)
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// panField is the account-number block of format 0: 4 zero nibbles, then
// the 12 rightmost PAN digits excluding the check digit (zero-padded on the
// left for a 12-digit PAN, whose body has 11). It is built in place, digit
// by digit, as it is made for every PIN block the host checks.
func panField(pan string) (pf [PINBlockLen]byte, err error) {
	if len(pan) < minPANLen || len(pan) > maxPANLen || !isDigits(pan) {
		return pf, fmt.Errorf("%w: PAN is not %d-%d digits", ErrBadPIN, minPANLen, maxPANLen)
	}
	body := pan[:len(pan)-1]
	if len(body) > 12 {
		body = body[len(body)-12:]
	}
	for i := range len(body) {
		n := 2*PINBlockLen - len(body) + i // its nibble, right-aligned
		pf[n/2] |= (body[i] - '0') << (4 * (1 - n%2))
	}
	return pf, nil
}

// PINBlockFormat0 returns the clear ISO 9564 format 0 PIN block of pin (4
// to 12 digits) for pan: (0 L PIN F…F) XOR (0000 + the 12 rightmost PAN
// digits excluding the check digit).
func PINBlockFormat0(pin, pan string) ([]byte, error) {
	if len(pin) < minPINLen || len(pin) > maxPINLen || !isDigits(pin) {
		return nil, fmt.Errorf("%w: a PIN is %d to %d digits", ErrBadPIN, minPINLen, maxPINLen)
	}
	pf, err := panField(pan)
	if err != nil {
		return nil, err
	}
	nib := func(i int) byte { // nibble i of the PIN field
		switch {
		case i == 0:
			return 0
		case i == 1:
			return byte(len(pin))
		case i-2 < len(pin):
			return pin[i-2] - '0'
		}
		return 0xF
	}
	out := make([]byte, PINBlockLen)
	for i := range out {
		out[i] = (nib(2*i)<<4 | nib(2*i+1)) ^ pf[i]
	}
	return out, nil
}

// EncryptPINBlock builds the format 0 PIN block of pin and pan and encrypts
// it under the TPK (3DES ECB): field 52.
func EncryptPINBlock(tpk []byte, pin, pan string) ([]byte, error) {
	b, err := TDES(tpk)
	if err != nil {
		return nil, fmt.Errorf("TPK: %w", err)
	}
	return EncryptPINBlockWith(b, pin, pan)
}

// EncryptPINBlockWith is EncryptPINBlock under a TPK already prepared by
// TDES (its key schedule made once, for a terminal that sends many).
func EncryptPINBlockWith(tpk cipher.Block, pin, pan string) ([]byte, error) {
	b := tpk
	clear, err := PINBlockFormat0(pin, pan)
	if err != nil {
		return nil, err
	}
	return ecb(b, clear, false), nil
}

// DecryptPINBlock decrypts field 52 under the TPK and recovers the PIN,
// strictly: the control nibble must be 0, the length 4 to 12, the PIN
// nibbles digits and every nibble after them F. Its errors say which rule
// failed and never carry the PIN or the block.
func DecryptPINBlock(tpk, block []byte, pan string) (string, error) {
	b, err := TDES(tpk)
	if err != nil {
		return "", fmt.Errorf("TPK: %w", err)
	}
	return DecryptPINBlockWith(b, block, pan)
}

// DecryptPINBlockWith is DecryptPINBlock under a TPK already prepared by
// TDES (its key schedule made once, for a host that checks many).
func DecryptPINBlockWith(tpk cipher.Block, block []byte, pan string) (string, error) {
	if len(block) != PINBlockLen {
		return "", fmt.Errorf("%w: PIN block is %d bytes, want %d", ErrBadPIN, len(block), PINBlockLen)
	}
	pf, err := panField(pan)
	if err != nil {
		return "", err
	}
	// The clear block and the PIN's digits are the PIN in clear: both are
	// wiped before returning, so only the returned string holds it.
	var clearBlock [PINBlockLen]byte
	defer clear(clearBlock[:])
	tpk.Decrypt(clearBlock[:], block)
	subtle.XORBytes(clearBlock[:], clearBlock[:], pf[:])
	nib := func(i int) byte { return clearBlock[i/2] >> (4 * (1 - i%2)) & 0xF }
	if nib(0) != 0 {
		return "", fmt.Errorf("%w: PIN block control field is not format 0", ErrBadPIN)
	}
	n := int(nib(1))
	if n < minPINLen || n > maxPINLen {
		return "", fmt.Errorf("%w: PIN block length field is not %d to %d", ErrBadPIN, minPINLen, maxPINLen)
	}
	var pin [maxPINLen]byte
	defer clear(pin[:])
	for i := range n {
		d := nib(2 + i)
		if d > 9 {
			return "", fmt.Errorf("%w: PIN block holds a non-digit", ErrBadPIN)
		}
		pin[i] = '0' + d
	}
	for i := 2 + n; i < 2*PINBlockLen; i++ {
		if nib(i) != 0xF {
			return "", fmt.Errorf("%w: PIN block filler is not all F", ErrBadPIN)
		}
	}
	return string(pin[:n]), nil
}
