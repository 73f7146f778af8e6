package terminal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
)

// The algorithms themselves are tested against published vectors in
// package cardcrypto; this file tests the terminal's use of them.

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encryptField62 builds an 0810 field 62 the way a host does (test only).
func encryptField62(t testing.TB, tmk, tpk, tak []byte) []byte {
	t.Helper()
	f62, err := cardcrypto.SealWorkingKeys(tmk, tpk, tak)
	if err != nil {
		t.Fatal(err)
	}
	return f62
}

func TestDecryptField62(t *testing.T) {
	tmk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	tpk := mustHex(t, "00112233445566778899AABBCCDDEEFF")
	f62 := encryptField62(t, tmk, tpk, testTAK)
	k, err := decryptField62(tmk, f62)
	if err != nil || !bytes.Equal(k.TPK, tpk) || !bytes.Equal(k.TAK, testTAK) {
		t.Fatalf("%v", err)
	}
	f62[18] ^= 1 // TPK check value
	if _, err := decryptField62(tmk, f62); !errors.Is(err, ErrBadKey) {
		t.Fatalf("bad KCV: %v", err)
	}
	if _, err := decryptField62(tmk, f62[:37]); !errors.Is(err, ErrBadKey) {
		t.Fatalf("short: %v", err)
	}
}
