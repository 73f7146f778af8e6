package cardcrypto

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"fmt"
)

// RetailMAC is ISO/IEC 9797-1 MAC algorithm 3 (the ANSI X9.19 retail MAC)
// with a 16-byte key and padding method 1: zeros up to a multiple of 8
// bytes; data already a multiple of 8 is not padded and empty data is one
// zero block. It is the message MAC of contract section 7 (fields 64/128).
func RetailMAC(key, data []byte) ([]byte, error) {
	k, err := NewMACKey(key)
	if err != nil {
		return nil, err
	}
	return k.MAC(data), nil
}

// MACKey is a MAC key prepared for many retail MACs: its two DES key
// schedules are made once. Making them costs more than MACing a whole
// message, so whoever MACs every message of a terminal (the host's
// security step, a terminal's client) keeps one per TAK. It is safe for
// concurrent use and never shows the key.
type MACKey struct {
	k1, k2 cipher.Block
}

// NewMACKey prepares a 16-byte key for RetailMAC.
func NewMACKey(key []byte) (*MACKey, error) {
	if err := checkKey("MAC key", key); err != nil {
		return nil, err
	}
	k1, err := des.NewCipher(key[:blockLen])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	k2, err := des.NewCipher(key[blockLen:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return &MACKey{k1: k1, k2: k2}, nil
}

func (k *MACKey) String() string   { return "MAC key" }
func (k *MACKey) GoString() string { return k.String() }

// MAC is RetailMAC of data under the key: padding method 1, without
// copying data to pad it.
func (k *MACKey) MAC(data []byte) []byte {
	h := make([]byte, blockLen)
	full := len(data) / blockLen * blockLen
	for off := 0; off < full; off += blockLen {
		subtle.XORBytes(h, h, data[off:off+blockLen])
		k.k1.Encrypt(h, h)
	}
	if rest := data[full:]; len(rest) > 0 || len(data) == 0 {
		subtle.XORBytes(h[:len(rest)], h[:len(rest)], rest) // the zero padding leaves h as it is
		k.k1.Encrypt(h, h)
	}
	k.k2.Decrypt(h, h)
	k.k1.Encrypt(h, h)
	return h
}

// MACAlg3Pad2 is ISO/IEC 9797-1 MAC algorithm 3 with padding method 2: one
// 0x80 byte, then zeros up to a multiple of 8 (always at least the 0x80).
// The EMV application cryptogram (ARQC) uses it.
func MACAlg3Pad2(key, data []byte) ([]byte, error) {
	n := (len(data)/blockLen + 1) * blockLen
	padded := make([]byte, n)
	copy(padded, data)
	padded[len(data)] = 0x80
	return macAlg3(key, padded)
}

// macAlg3 is MAC algorithm 3 over padded, a non-empty multiple of 8 bytes
// (MACKey.MAC adds no padding to such data).
func macAlg3(key, padded []byte) ([]byte, error) {
	k, err := NewMACKey(key)
	if err != nil {
		return nil, err
	}
	return k.MAC(padded), nil
}

// MACEqual compares two MACs (or cryptograms) in constant time.
func MACEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
