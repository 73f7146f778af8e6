package keys

import (
	"errors"
)

// KEK seals and opens secrets at rest with AES-256-GCM. Implementations:
// the software KEK (a key held in process memory, from a file or an
// environment variable) and the PKCS#11 KEK (a key that never leaves its
// token). Every implementation writes and reads the same blob format
// (blob.go), so a Ring can hold KEKs of either kind.
type KEK interface {
	// ID is the KEK's stable, non-secret identity, written into every
	// blob it seals: "soft:<check value>" or "pkcs11:<key label>".
	ID() string
	// Seal encrypts plaintext (at most MaxPlaintextBytes) under a fresh
	// random 12-byte nonce, authenticating aad and the blob header.
	Seal(plaintext, aad []byte) ([]byte, error)
	// Open authenticates and decrypts a blob this KEK sealed with the
	// same aad. It fails with ErrWrongKEK for a blob another KEK sealed,
	// ErrMalformed for bytes that are not a blob, ErrAuthFailed otherwise.
	Open(sealed, aad []byte) ([]byte, error)
	// Close releases the key (and, for PKCS#11, the token's sessions).
	// Seal and Open fail with ErrClosed afterwards.
	Close() error
}

// The errors Seal and Open wrap; test for them with errors.Is. Their
// messages name lengths and KEK ids, never key bytes, plaintext or aad.
var (
	// ErrMalformed: the bytes are not a sealed blob of a known version.
	ErrMalformed = errors.New("not a sealed blob")
	// ErrAuthFailed: the blob was altered, moved to another record (aad),
	// or sealed by a different key under the same id.
	ErrAuthFailed = errors.New("authentication failed")
	// ErrWrongKEK: the blob names a KEK other than the one asked to open it.
	ErrWrongKEK = errors.New("sealed by another KEK")
	// ErrUnknownKEK: the blob names a KEK the ring does not hold.
	ErrUnknownKEK = errors.New("sealed by a KEK this ring does not hold")
	// ErrTooLarge: a plaintext or aad over its limit.
	ErrTooLarge = errors.New("too large")
	// ErrClosed: the KEK or ring was closed.
	ErrClosed = errors.New("KEK closed")
)

const (
	// KeyBytes is the size of every KEK: AES-256.
	KeyBytes = 32
	// MaxPlaintextBytes bounds what one blob holds. The secrets at rest
	// are keys and PIN verification data, tens of bytes; the bound keeps a
	// corrupted length or a misuse from sealing megabytes.
	MaxPlaintextBytes = 4096
	// MaxAADBytes bounds the caller's associated data ("tmk/T0000101").
	MaxAADBytes = 256
)

// wipe overwrites a secret the package no longer needs. Go may have
// copied it elsewhere (the garbage collector moves nothing, but append
// and conversions copy), so this is best effort: it shortens the time a
// key or plaintext sits in memory, it does not guarantee it is gone.
func wipe(b []byte) {
	clear(b)
}
