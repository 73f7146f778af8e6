package terminal

import (
	"bytes"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
)

// Keys, MAC and PIN of contract section 7 come from package cardcrypto; this
// file holds only what is the terminal's own: reading field 62.

const (
	keyLen     = cardcrypto.KeyLen
	macLen     = cardcrypto.MACLen
	field62Len = 2 * (cardcrypto.KeyLen + cardcrypto.KCVLen) // TPK(16) KCV(3) TAK(16) KCV(3)
)

var (
	// ErrBadKey is wrapped when a key has the wrong length or its check value
	// does not match. It is cardcrypto.ErrBadKey.
	ErrBadKey = cardcrypto.ErrBadKey
	// ErrBadPIN is wrapped when a PIN or the PAN it is bound to is unusable.
	// It is cardcrypto.ErrBadPIN.
	ErrBadPIN = cardcrypto.ErrBadPIN
)

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
	dec := func(off int, name string) ([]byte, error) {
		clear, err := cardcrypto.DecryptKey(tmk, f62[off:off+keyLen])
		if err != nil {
			return nil, fmt.Errorf("%s under the TMK: %w", name, err)
		}
		got, err := cardcrypto.KCV(clear)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(got, f62[off+keyLen:off+keyLen+cardcrypto.KCVLen]) {
			return nil, fmt.Errorf("%w: %s check value does not match", ErrBadKey, name)
		}
		return clear, nil
	}
	tpk, err := dec(0, "TPK")
	if err != nil {
		return workingKeys{}, err
	}
	tak, err := dec(keyLen+cardcrypto.KCVLen, "TAK")
	if err != nil {
		return workingKeys{}, err
	}
	return workingKeys{TPK: tpk, TAK: tak}, nil
}
