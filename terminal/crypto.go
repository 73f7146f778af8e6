package terminal

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// Keys, MAC and PIN block of contract section 7. All keys are double-length
// (two-key) triple-DES keys of 16 bytes. Nothing here logs or formats a key.

const (
	keyLen      = 16
	kcvLen      = 3
	macLen      = 8
	field62Len  = 2 * (keyLen + kcvLen) // TPK(16) KCV(3) TAK(16) KCV(3)
	pinBlockLen = 8
)

var (
	// ErrBadKey is wrapped when a key has the wrong length or its check value
	// does not match.
	ErrBadKey = errors.New("bad key")
	// ErrBadPIN is wrapped when a PIN or the PAN it is bound to is unusable.
	ErrBadPIN = errors.New("bad PIN")
)

// tdes returns a two-key triple-DES block cipher for a 16-byte key.
func tdes(key []byte) (cipher.Block, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("%w: length %d, want %d", ErrBadKey, len(key), keyLen)
	}
	k := make([]byte, 0, 24)
	k = append(k, key...)
	k = append(k, key[:8]...)
	return des.NewTripleDESCipher(k)
}

// kcv is the key check value: the first 3 bytes of the key encrypting 8 zero bytes.
func kcv(key []byte) ([]byte, error) {
	b, err := tdes(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8)
	b.Encrypt(out, make([]byte, 8))
	return out[:kcvLen], nil
}

// workingKeys are a terminal's clear TPK and TAK.
type workingKeys struct {
	TPK, TAK []byte
}

// decryptField62 decrypts the working keys of an 0810 field 62 under the TMK
// and checks both check values.
func decryptField62(tmk []byte, f62 []byte) (workingKeys, error) {
	if len(f62) != field62Len {
		return workingKeys{}, fmt.Errorf("%w: field 62 is %d bytes, want %d", ErrBadKey, len(f62), field62Len)
	}
	b, err := tdes(tmk)
	if err != nil {
		return workingKeys{}, fmt.Errorf("TMK: %w", err)
	}
	dec := func(off int, name string) ([]byte, error) {
		enc := f62[off : off+keyLen]
		clear := make([]byte, keyLen)
		b.Decrypt(clear[:8], enc[:8])
		b.Decrypt(clear[8:], enc[8:])
		got, err := kcv(clear)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(got, f62[off+keyLen:off+keyLen+kcvLen]) {
			return nil, fmt.Errorf("%w: %s check value does not match", ErrBadKey, name)
		}
		return clear, nil
	}
	tpk, err := dec(0, "TPK")
	if err != nil {
		return workingKeys{}, err
	}
	tak, err := dec(keyLen+kcvLen, "TAK")
	if err != nil {
		return workingKeys{}, err
	}
	return workingKeys{TPK: tpk, TAK: tak}, nil
}

// retailMAC is ISO 9797-1 MAC algorithm 3 (ANSI X9.19) with padding method 1
// (zeros; data already a multiple of 8 is not padded, empty data is one zero
// block) under a double-length key.
func retailMAC(key, data []byte) ([]byte, error) {
	if len(key) != keyLen {
		return nil, fmt.Errorf("%w: MAC key length %d", ErrBadKey, len(key))
	}
	k1, err := des.NewCipher(key[:8])
	if err != nil {
		return nil, err
	}
	k2, err := des.NewCipher(key[8:])
	if err != nil {
		return nil, err
	}
	var h, blk [8]byte
	n := len(data)
	if n == 0 {
		n = 8
	}
	for off := 0; off < n; off += 8 {
		blk = [8]byte{}
		if off < len(data) {
			copy(blk[:], data[off:])
		}
		for i := range h {
			h[i] ^= blk[i]
		}
		k1.Encrypt(h[:], h[:])
	}
	k2.Decrypt(h[:], h[:])
	k1.Encrypt(h[:], h[:])
	return h[:], nil
}

// macEqual compares two MACs in constant time.
func macEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// pinBlock builds an ISO 9564 format 0 PIN block for pin and pan and
// encrypts it under the TPK.
func pinBlock(tpk []byte, pin, pan string) ([]byte, error) {
	if len(pin) < 4 || len(pin) > 12 || !cardnum.Digits(pin) {
		return nil, fmt.Errorf("%w: a PIN is 4 to 12 digits", ErrBadPIN)
	}
	if len(pan) < 13 || !cardnum.Digits(pan) {
		return nil, fmt.Errorf("%w: PAN %s too short for a format 0 PIN block", ErrBadPIN, cardnum.Mask(pan))
	}
	var pinField, panField [16]byte // nibbles
	pinField[0] = 0
	pinField[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		pinField[i] = 0xF
		if i-2 < len(pin) {
			pinField[i] = pin[i-2] - '0'
		}
	}
	digits := pan[len(pan)-13 : len(pan)-1] // 12 rightmost excluding the check digit
	for i := 0; i < 12; i++ {
		panField[4+i] = digits[i] - '0'
	}
	clear := make([]byte, pinBlockLen)
	for i := 0; i < 8; i++ {
		clear[i] = (pinField[2*i]^panField[2*i])<<4 | (pinField[2*i+1] ^ panField[2*i+1])
	}
	b, err := tdes(tpk)
	if err != nil {
		return nil, fmt.Errorf("TPK: %w", err)
	}
	out := make([]byte, pinBlockLen)
	b.Encrypt(out, clear)
	return out, nil
}
