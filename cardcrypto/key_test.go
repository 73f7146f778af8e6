package cardcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/bits"
	"strings"
	"testing"
	"testing/iotest"
)

func TestEncryptDecryptKey(t *testing.T) {
	kek := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	key := unhex(t, "00112233445566778899AABBCCDDEEFF")
	enc, err := EncryptKey(kek, key)
	// Each half is the two-key 3DES ECB encryption of that half:
	// `openssl enc -des-ede -K 0123456789ABCDEFFEDCBA9876543210 -nopad`.
	b, _ := TDES(kek)
	wantHex(t, "wrapped", enc, err, hex.EncodeToString(ecb(b, key, false)))
	back, err := DecryptKey(kek, enc)
	if err != nil || !bytes.Equal(back, key) {
		t.Fatalf("%X %v", back, err)
	}
	if _, err := EncryptKey(kek, key[:15]); !errors.Is(err, ErrBadKey) {
		t.Error(err)
	}
	if _, err := DecryptKey(kek[:8], enc); !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "key-encrypting key") {
		t.Error(err)
	}
}

func oddParity(key []byte) bool {
	for _, c := range key {
		if bits.OnesCount8(c)%2 == 0 {
			return false
		}
	}
	return true
}

func TestAdjustParityAndNewKey(t *testing.T) {
	k := unhex(t, "0023456789ABCDEFFEDCBA9876543210")
	AdjustParity(k)
	wantHex(t, "parity", k, nil, "0123456789ABCDEFFEDCBA9876543210")

	key, err := NewKey(bytes.NewReader(unhex(t, "000102030405060708090A0B0C0D0E0F")))
	wantHex(t, "new key", key, err, "010102020404070708080B0B0D0D0E0E")
	// Equal halves are drawn again.
	src := append(bytes.Repeat([]byte{0x42}, 16), unhex(t, "0123456789ABCDEFFEDCBA9876543210")...)
	key, err = NewKey(bytes.NewReader(src))
	if err != nil || !bytes.Equal(key, unhex(t, "0123456789ABCDEFFEDCBA9876543210")) || !oddParity(key) {
		t.Fatalf("%X %v", key, err)
	}
	if _, err := NewKey(bytes.NewReader(make([]byte, 16*maxNewKeyTries))); !errors.Is(err, ErrBadKey) {
		t.Fatal(err)
	}
	if _, err := NewKey(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Fatal("reader error swallowed")
	}
}

func TestCombineComponents(t *testing.T) {
	c1 := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	c2 := unhex(t, "1111111111111111 2222222222222222")
	c3 := unhex(t, "4040404040404040 0808080808080808")
	key, err := CombineComponents([][]byte{c1, c2, c3})
	// XOR then odd parity, cross-checked with a Python one-liner.
	wantHex(t, "combined", key, err, "51731537D9FB9DBFD5F791B35D7F193B")
	if !oddParity(key) {
		t.Error("parity")
	}
	for name, comps := range map[string][][]byte{
		"one":          {c1},
		"four":         {c1, c2, c3, c1},
		"short":        {c1, c2[:15]},
		"zero":         {c1, c1},
		"equal halves": {c2, unhex(t, "0000000000000000 3333333333333333")},
	} {
		if _, err := CombineComponents(comps); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseKeyHex(t *testing.T) {
	key, err := ParseKeyHex("imk", "0123456789abcdefFEDCBA9876543210")
	wantHex(t, "parsed", key, err, "0123456789ABCDEFFEDCBA9876543210")
	for _, s := range []string{"", "0123", "0123456789ABCDEFFEDCBA987654321G", "0123456789ABCDEFFEDCBA987654321000"} {
		_, err := ParseKeyHex("tmk", s)
		if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "tmk") || (s != "" && strings.Contains(err.Error(), s)) {
			t.Errorf("%q: %v", s, err)
		}
	}
}
