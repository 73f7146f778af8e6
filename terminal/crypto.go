package terminal

import (
	"github.com/cardcenter/cardcenter/cardcrypto"
)

// Keys, MAC and PIN of contract section 7 come from package cardcrypto; this
// file holds only what is the terminal's own: reading field 62.

const (
	keyLen     = cardcrypto.KeyLen
	macLen     = cardcrypto.MACLen
	field62Len = cardcrypto.WorkingKeysLen // TPK(16) KCV(3) TAK(16) KCV(3)
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
	tpk, tak, err := cardcrypto.OpenWorkingKeys(tmk, f62)
	if err != nil {
		return workingKeys{}, err
	}
	return workingKeys{TPK: tpk, TAK: tak}, nil
}
