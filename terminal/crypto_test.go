package terminal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The vectors were computed independently with OpenSSL (des-cbc, des-ecb,
// des-ede-ecb); the single-key case is the FIPS 113 / X9.9 example.
func TestRetailMAC(t *testing.T) {
	data := []byte("7654321 Now is the time for ")
	same := mustHex(t, "0123456789ABCDEF0123456789ABCDEF")
	if got, _ := retailMAC(same, data); !bytes.Equal(got, mustHex(t, "F1D30F6849312CA4")) {
		t.Errorf("single-length MAC %X", got)
	}
	key := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	if got, _ := retailMAC(key, data); !bytes.Equal(got, mustHex(t, "AE4B45B1B527642F")) {
		t.Errorf("retail MAC %X", got)
	}
	if _, err := retailMAC(key[:8], data); !errors.Is(err, ErrBadKey) {
		t.Errorf("short key: %v", err)
	}
}

func TestKCVAndPINBlock(t *testing.T) {
	key := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	if got, _ := kcv(key); !bytes.Equal(got, mustHex(t, "08D7B4")) {
		t.Errorf("kcv %X", got)
	}
	// PIN 1234, PAN 4111111111111111: clear block 041225EEEEEEEEEE.
	got, err := pinBlock(key, "1234", "4111111111111111")
	if err != nil || !bytes.Equal(got, mustHex(t, "2A3D408A1977DDE9")) {
		t.Errorf("pin block %X, %v", got, err)
	}
	for _, pin := range []string{"123", "1234567890123", "12a4"} {
		if _, err := pinBlock(key, pin, "4111111111111111"); !errors.Is(err, ErrBadPIN) {
			t.Errorf("pin %q: %v", pin, err)
		}
	}
}

// encryptField62 builds an 0810 field 62 the way a host does (test only).
func encryptField62(t testing.TB, tmk, tpk, tak []byte) []byte {
	t.Helper()
	b, err := tdes(tmk)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, k := range [][]byte{tpk, tak} {
		enc := make([]byte, 16)
		b.Encrypt(enc[:8], k[:8])
		b.Encrypt(enc[8:], k[8:])
		c, _ := kcv(k)
		out = append(append(out, enc...), c...)
	}
	return out
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
