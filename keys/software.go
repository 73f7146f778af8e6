package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
)

// softIDPrefix starts the id of every software KEK. The id names the key
// (by its check value), not where it was read from, so the same key moved
// from a file to an environment variable still opens its blobs.
const softIDPrefix = "soft:"

// kcvBytes is the length of an AES key check value: the leftmost 5 bytes
// of AES-CMAC over a zero block (ANSI X9.24-1:2017). Unlike the 3DES
// habit of encrypting zeros (protocol §7), it does not reveal bytes of
// E(K, 0), which is GCM's hash key.
const kcvBytes = 5

// softKEK is a KEK whose AES key lives in process memory.
type softKEK struct {
	id     string
	aead   cipher.AEAD
	closed atomic.Bool
}

// NewSoftware makes a KEK of a 32-byte AES-256 key. The caller should
// wipe key afterwards; the KEK keeps only the expanded cipher.
func NewSoftware(key []byte) (KEK, error) {
	if len(key) != KeyBytes {
		return nil, fmt.Errorf("keys: software KEK: key of %d bytes (want %d, AES-256)", len(key), KeyBytes)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keys: software KEK: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: software KEK: %w", err)
	}
	return &softKEK{id: softIDPrefix + CheckValue(block), aead: aead}, nil
}

// Ephemeral makes a software KEK of a fresh random key that exists only in
// this process: for tests, and for a demo store that needs no restart.
func Ephemeral() (KEK, error) {
	key := make([]byte, KeyBytes)
	defer wipe(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keys: ephemeral KEK: random: %w", err)
	}
	return NewSoftware(key)
}

// CheckValue is the AES key check value of a key, in upper-case hex: the
// leftmost 5 bytes of AES-CMAC(key, 16 zero bytes). It identifies a key in
// logs and answers without revealing it.
func CheckValue(block cipher.Block) string {
	var zero [aes.BlockSize]byte
	return strings.ToUpper(hex.EncodeToString(cmacBlock(block, zero)[:kcvBytes]))
}

// cmacBlock is AES-CMAC (NIST SP 800-38B) of exactly one full block m:
// T = E(K, m XOR K1), K1 = dbl(E(K, 0)). Only the check value needs CMAC,
// and only of one block, so the general multi-block form is not here.
func cmacBlock(block cipher.Block, m [aes.BlockSize]byte) []byte {
	var l [aes.BlockSize]byte
	block.Encrypt(l[:], l[:])
	var k1 [aes.BlockSize]byte
	carry := l[0] >> 7
	for i := 0; i < aes.BlockSize-1; i++ {
		k1[i] = l[i]<<1 | l[i+1]>>7
	}
	k1[aes.BlockSize-1] = l[aes.BlockSize-1] << 1
	k1[aes.BlockSize-1] ^= 0x87 * carry // R_128
	for i := range m {
		m[i] ^= k1[i]
	}
	out := make([]byte, aes.BlockSize)
	block.Encrypt(out, m[:])
	return out
}

func (k *softKEK) ID() string { return k.id }

func (k *softKEK) Seal(plaintext, aad []byte) ([]byte, error) {
	if k.closed.Load() {
		return nil, fmt.Errorf("keys: seal under %s: %w", k.id, ErrClosed)
	}
	if err := checkSealArgs(k.id, plaintext, aad); err != nil {
		return nil, err
	}
	out := newHeader(k.id, len(plaintext))
	header := out[:len(out):len(out)]
	nonce := out[len(out) : len(out)+NonceBytes]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keys: seal under %s: random nonce: %w", k.id, err)
	}
	out = out[:len(out)+NonceBytes]
	return k.aead.Seal(out, nonce, plaintext, gcmAAD(header, aad)), nil
}

func (k *softKEK) Open(sealed, aad []byte) ([]byte, error) {
	if k.closed.Load() {
		return nil, fmt.Errorf("keys: open with %s: %w", k.id, ErrClosed)
	}
	b, err := parseForOpen(k.id, sealed, aad)
	if err != nil {
		return nil, err
	}
	pt, err := k.aead.Open(nil, b.nonce, b.ct, gcmAAD(b.header, aad))
	if err != nil {
		return nil, authError(sealed, b.id)
	}
	return pt, nil
}

// Close marks the KEK closed. The expanded key schedule inside crypto/aes
// cannot be wiped from here; it goes when the KEK is collected.
func (k *softKEK) Close() error {
	k.closed.Store(true)
	return nil
}
