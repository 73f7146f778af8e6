package keys

import (
	"fmt"
	"strings"
)

// A sealed blob, the only form in which a secret is stored:
//
//	offset  size        field
//	0       1           version (blobVersion = 1)
//	1       1           n, the length of the KEK id (1..MaxIDLen)
//	2       n           KEK id, ASCII ("soft:1A2B3C4D5E", "pkcs11:kek-2026")
//	2+n     12          GCM nonce, fresh from crypto/rand for every seal
//	14+n    len(pt)+16  AES-256-GCM ciphertext ‖ 16-byte tag
//
// The GCM associated data is the header (version ‖ n ‖ id) followed by
// the caller's aad, so neither the id nor the version can be changed
// without the tag failing, and a blob copied to another record (another
// aad) does not open. The id is in clear so that a reader knows which
// KEK to ask (Ring) and rotation can tell old blobs from new (SealedBy)
// without any key.
const (
	blobVersion = 1
	// MaxIDLen bounds a KEK id (one length byte; PKCS#11 labels are short).
	MaxIDLen = 64
	// NonceBytes and TagBytes are GCM's standard sizes.
	NonceBytes = 12
	TagBytes   = 16
	// minSealedBytes is the smallest blob: a 1-byte id and an empty plaintext.
	minSealedBytes = 2 + 1 + NonceBytes + TagBytes
	// MaxSealedBytes is the largest blob Open reads.
	MaxSealedBytes = 2 + MaxIDLen + NonceBytes + MaxPlaintextBytes + TagBytes
)

// blob is a parsed sealed blob; its slices alias the input.
type blob struct {
	header []byte // version ‖ n ‖ id
	id     string
	nonce  []byte
	ct     []byte // ciphertext ‖ tag
}

// parseBlob checks the structure of a blob; it proves nothing about its
// authenticity.
func parseBlob(sealed []byte) (blob, error) {
	if len(sealed) < minSealedBytes || len(sealed) > MaxSealedBytes {
		return blob{}, fmt.Errorf("keys: %w: %d bytes (want %d..%d)", ErrMalformed, len(sealed), minSealedBytes, MaxSealedBytes)
	}
	if sealed[0] != blobVersion {
		return blob{}, fmt.Errorf("keys: %w: version %d (want %d)", ErrMalformed, sealed[0], blobVersion)
	}
	n := int(sealed[1])
	if n < 1 || n > MaxIDLen || len(sealed) < 2+n+NonceBytes+TagBytes {
		return blob{}, fmt.Errorf("keys: %w: id length %d in %d bytes", ErrMalformed, n, len(sealed))
	}
	id := string(sealed[2 : 2+n])
	if err := checkID(id); err != nil {
		return blob{}, fmt.Errorf("keys: %w: %v", ErrMalformed, err)
	}
	return blob{
		header: sealed[:2+n],
		id:     id,
		nonce:  sealed[2+n : 2+n+NonceBytes],
		ct:     sealed[2+n+NonceBytes:],
	}, nil
}

// SealedBy names the KEK that sealed a blob, without opening it: rotation
// uses it to skip blobs already under the current KEK, and the checker to
// count blobs still under an old one.
func SealedBy(sealed []byte) (string, error) {
	b, err := parseBlob(sealed)
	if err != nil {
		return "", err
	}
	return b.id, nil
}

// checkID accepts printable ASCII without spaces, 1..MaxIDLen bytes, so an
// id can be printed in a log line or an error as it is.
func checkID(id string) error {
	if len(id) < 1 || len(id) > MaxIDLen {
		return fmt.Errorf("KEK id of %d bytes (want 1..%d)", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return fmt.Errorf("KEK id %q: byte %d is not printable ASCII", strings.ToValidUTF8(id, "?"), i)
		}
	}
	return nil
}

// newHeader starts a blob for id: version ‖ n ‖ id, with room for the
// nonce and ciphertext of a plaintext of ptLen bytes.
func newHeader(id string, ptLen int) []byte {
	out := make([]byte, 0, 2+len(id)+NonceBytes+ptLen+TagBytes)
	out = append(out, blobVersion, byte(len(id)))
	return append(out, id...)
}

// gcmAAD is the associated data GCM authenticates: header ‖ aad. The
// header's length byte makes the concatenation unambiguous.
func gcmAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	out = append(out, header...)
	return append(out, aad...)
}

// checkSealArgs applies the limits every Seal shares.
func checkSealArgs(id string, plaintext, aad []byte) error {
	if len(plaintext) > MaxPlaintextBytes {
		return fmt.Errorf("keys: seal under %s: %w: plaintext of %d bytes (limit %d)", id, ErrTooLarge, len(plaintext), MaxPlaintextBytes)
	}
	if len(aad) > MaxAADBytes {
		return fmt.Errorf("keys: seal under %s: %w: aad of %d bytes (limit %d)", id, ErrTooLarge, len(aad), MaxAADBytes)
	}
	return nil
}

// parseForOpen parses a blob and checks it names the KEK id.
func parseForOpen(id string, sealed, aad []byte) (blob, error) {
	if len(aad) > MaxAADBytes {
		return blob{}, fmt.Errorf("keys: open with %s: %w: aad of %d bytes (limit %d)", id, ErrTooLarge, len(aad), MaxAADBytes)
	}
	b, err := parseBlob(sealed)
	if err != nil {
		return blob{}, err
	}
	if b.id != id {
		return blob{}, fmt.Errorf("keys: cannot open sealed %d bytes with %s: %w %s", len(sealed), id, ErrWrongKEK, b.id)
	}
	return b, nil
}

// authError is the one message of a failed authentication.
func authError(sealed []byte, id string) error {
	return fmt.Errorf("keys: cannot open sealed %d bytes sealed by %s: %w (altered, another record's aad, or another key under that id)", len(sealed), id, ErrAuthFailed)
}
