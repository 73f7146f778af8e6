package cardcrypto

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Sizes of contract section 7.
const (
	KeyLen      = 16 // double-length (two-key) 3DES key
	KCVLen      = 3  // key check value
	MACLen      = 8  // ISO 9797-1 algorithm 3 MAC
	PINBlockLen = 8  // ISO 9564 format 0 PIN block
	blockLen    = des.BlockSize
)

// Sentinel errors. Every error of the package wraps one of them with a
// detail that names the field or tag and the lengths involved, never a key,
// PIN, PIN block or ICC value.
var (
	// ErrBadKey: a key, key component or key-derivation input has the wrong
	// length or form, or a check value does not match.
	ErrBadKey = errors.New("bad key")
	// ErrBadPIN: a PIN, PIN block or the PAN it is bound to is unusable.
	ErrBadPIN = errors.New("bad PIN")
	// ErrBadICC: field 55 (BER-TLV ICC data) is malformed or incomplete.
	ErrBadICC = errors.New("bad ICC data")
)

// maxNewKeyTries bounds the retries of NewKey when the random source yields
// a degenerate key (both halves equal: single DES in disguise).
const maxNewKeyTries = 8

func checkKey(name string, key []byte) error {
	if len(key) != KeyLen {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrBadKey, name, len(key), KeyLen)
	}
	return nil
}

// TDES returns the two-key triple-DES block cipher (K1 K2 K1, EDE) of a
// 16-byte key.
func TDES(key []byte) (cipher.Block, error) {
	if err := checkKey("key", key); err != nil {
		return nil, err
	}
	var k [24]byte
	copy(k[:], key)
	copy(k[16:], key[:8])
	return des.NewTripleDESCipher(k[:])
}

// KCV is the key check value: the first 3 bytes of the key encrypting 8
// zero bytes.
func KCV(key []byte) ([]byte, error) {
	b, err := TDES(key)
	if err != nil {
		return nil, err
	}
	var out [blockLen]byte
	b.Encrypt(out[:], make([]byte, blockLen))
	return out[:KCVLen:KCVLen], nil
}

// ecb encrypts or decrypts src (a multiple of 8 bytes) block by block.
func ecb(b cipher.Block, src []byte, decrypt bool) []byte {
	out := make([]byte, len(src))
	for off := 0; off < len(src); off += blockLen {
		if decrypt {
			b.Decrypt(out[off:off+blockLen], src[off:off+blockLen])
		} else {
			b.Encrypt(out[off:off+blockLen], src[off:off+blockLen])
		}
	}
	return out
}

// EncryptKey encrypts a 16-byte key under a 16-byte key-encrypting key,
// 3DES ECB: the form of each key in an 0810's field 62.
func EncryptKey(kek, key []byte) ([]byte, error) {
	return wrapKey(kek, key, false)
}

// DecryptKey is the inverse of EncryptKey.
func DecryptKey(kek, enc []byte) ([]byte, error) {
	return wrapKey(kek, enc, true)
}

func wrapKey(kek, key []byte, decrypt bool) ([]byte, error) {
	b, err := TDES(kek)
	if err != nil {
		return nil, fmt.Errorf("key-encrypting key: %w", err)
	}
	if err := checkKey("wrapped key", key); err != nil {
		return nil, err
	}
	return ecb(b, key, decrypt), nil
}

// AdjustParity sets the least significant bit of every byte of key so that
// each byte has an odd number of one bits (DES key parity). DES ignores
// these bits, so adjusting them never changes a result computed with the key.
func AdjustParity(key []byte) {
	for i, c := range key {
		c &^= 1
		ones := 0
		for v := c; v != 0; v >>= 1 {
			ones += int(v & 1)
		}
		if ones%2 == 0 {
			c |= 1
		}
		key[i] = c
	}
}

// NewKey reads a fresh 16-byte key from rand (crypto/rand.Reader in
// production) and gives it odd parity. It retries, a bounded number of
// times, a key whose two halves are equal.
func NewKey(rand io.Reader) ([]byte, error) {
	key := make([]byte, KeyLen)
	for range maxNewKeyTries {
		if _, err := io.ReadFull(rand, key); err != nil {
			return nil, fmt.Errorf("new key: %w", err)
		}
		AdjustParity(key)
		if !degenerate(key) {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%w: random source gave %d degenerate keys in a row", ErrBadKey, maxNewKeyTries)
}

// degenerate reports whether key is all zero or its halves are equal (then
// two-key 3DES is single DES), ignoring parity bits.
func degenerate(key []byte) bool {
	zero, same := true, true
	for i := 0; i < blockLen; i++ {
		a, b := key[i]&^1, key[i+blockLen]&^1
		zero = zero && a == 0 && b == 0
		same = same && a == b
	}
	return zero || same
}

// CombineComponents XORs 2 or 3 clear 16-byte key components (one from each
// key custodian) into a key with odd parity. It rejects fewer than 2 or
// more than 3 components, a component of the wrong length, and a result
// that is zero or has equal halves (a component entered twice, or a typing
// slip that makes the key single DES), ignoring parity bits.
func CombineComponents(components [][]byte) ([]byte, error) {
	if len(components) < 2 || len(components) > 3 {
		return nil, fmt.Errorf("%w: %d key components, want 2 or 3", ErrBadKey, len(components))
	}
	key := make([]byte, KeyLen)
	for i, c := range components {
		if err := checkKey(fmt.Sprintf("component %d", i+1), c); err != nil {
			return nil, err
		}
		for j := range key {
			key[j] ^= c[j]
		}
	}
	if degenerate(key) {
		return nil, fmt.Errorf("%w: the components combine to a zero key or one with equal halves", ErrBadKey)
	}
	AdjustParity(key)
	return key, nil
}

// ParseKeyHex decodes a 16-byte key written as 32 hex characters (either
// case). The error names field and never echoes the value.
func ParseKeyHex(field, s string) ([]byte, error) {
	if len(s) != 2*KeyLen {
		return nil, fmt.Errorf("%w: %s is %d characters, want %d hex characters", ErrBadKey, field, len(s), 2*KeyLen)
	}
	key, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex", ErrBadKey, field)
	}
	return key, nil
}
