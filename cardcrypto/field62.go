package cardcrypto

import (
	"bytes"
	"fmt"
)

// Field 62 of an 0810 to a sign-on or key change (contract section 7):
// TPK(16) KCV(3) TAK(16) KCV(3), each key encrypted under the terminal's
// TMK, each check value of the clear key. The host seals working keys into
// it; the terminal opens them.

// WorkingKeysLen is the length of field 62's working keys.
const WorkingKeysLen = 2 * (KeyLen + KCVLen)

// SealWorkingKeys builds field 62 for a TPK and a TAK under the TMK.
func SealWorkingKeys(tmk, tpk, tak []byte) ([]byte, error) {
	out := make([]byte, 0, WorkingKeysLen)
	for _, k := range [][]byte{tpk, tak} {
		enc, err := EncryptKey(tmk, k)
		if err != nil {
			return nil, err
		}
		kcv, err := KCV(k)
		if err != nil {
			return nil, err
		}
		out = append(append(out, enc...), kcv...)
	}
	return out, nil
}

// OpenWorkingKeys decrypts field 62 under the TMK and checks both check
// values. Errors say which key failed, never a key.
func OpenWorkingKeys(tmk, f62 []byte) (tpk, tak []byte, err error) {
	if len(f62) != WorkingKeysLen {
		return nil, nil, fmt.Errorf("%w: field 62 is %d bytes, want %d", ErrBadKey, len(f62), WorkingKeysLen)
	}
	open := func(off int, name string) ([]byte, error) {
		clear, err := DecryptKey(tmk, f62[off:off+KeyLen])
		if err != nil {
			return nil, fmt.Errorf("%s under the TMK: %w", name, err)
		}
		got, err := KCV(clear)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(got, f62[off+KeyLen:off+KeyLen+KCVLen]) {
			return nil, fmt.Errorf("%w: %s check value does not match", ErrBadKey, name)
		}
		return clear, nil
	}
	if tpk, err = open(0, "TPK"); err != nil {
		return nil, nil, err
	}
	if tak, err = open(KeyLen+KCVLen, "TAK"); err != nil {
		return nil, nil, err
	}
	return tpk, tak, nil
}
