package keys

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestCMACVector checks the one-block CMAC behind the check value against
// NIST SP 800-38B, AES-256 example with a 16-byte message.
func TestCMACVector(t *testing.T) {
	key, _ := hex.DecodeString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	msg, _ := hex.DecodeString("6bc1bee22e409f96e93d7e117393172a")
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var m [16]byte
	copy(m[:], msg)
	if got := hex.EncodeToString(cmacBlock(block, m)); got != "28a7023f452e8f82bd4bf28d8c37c35c" {
		t.Fatalf("CMAC = %s", got)
	}
	if id := mustSoftware(t, key).ID(); !strings.HasPrefix(id, "soft:") || len(id) != len("soft:")+2*kcvBytes {
		t.Fatalf("id %q: want soft: and %d hex digits", id, 2*kcvBytes)
	}
}

func TestSoftwareRoundTrip(t *testing.T) {
	k := mustEphemeral(t)
	for _, pt := range [][]byte{{}, []byte("0123456789ABCDEF"), bytes.Repeat([]byte{7}, MaxPlaintextBytes)} {
		sealed, err := k.Seal(pt, []byte("tmk/T0000101"))
		if err != nil {
			t.Fatal(err)
		}
		if by, _ := SealedBy(sealed); by != k.ID() {
			t.Fatalf("SealedBy = %q, want %q", by, k.ID())
		}
		if len(pt) > 0 && bytes.Contains(sealed, pt) {
			t.Fatal("plaintext in clear inside the blob")
		}
		got, err := k.Open(sealed, []byte("tmk/T0000101"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Open = %d bytes, %v; want the %d sealed", len(got), err, len(pt))
		}
	}
	// Two seals of one plaintext differ (fresh nonce).
	a, _ := k.Seal([]byte("x"), nil)
	b, _ := k.Seal([]byte("x"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals gave one blob: nonce reused")
	}
}

func TestSoftwareWrongAADFails(t *testing.T) {
	k := mustEphemeral(t)
	secret := []byte("SECRETSECRET1234")
	sealed, _ := k.Seal(secret, []byte("tmk/T0000101"))
	for _, aad := range []string{"tmk/T0000102", "tpk/T0000101", "", "tmk/T0000101 "} {
		_, err := k.Open(sealed, []byte(aad))
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("aad %q: err %v, want ErrAuthFailed", aad, err)
		}
		assertNoSecret(t, err, secret)
		want := "cannot open sealed " + strconv.Itoa(len(sealed)) + " bytes sealed by " + k.ID() + ": authentication failed"
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q, want it to say %q", err, want)
		}
	}
}

// TestSoftwareTamperFails flips every bit of a blob in turn: none opens.
func TestSoftwareTamperFails(t *testing.T) {
	k := mustEphemeral(t)
	secret := []byte("SECRETSECRET1234")
	sealed, _ := k.Seal(secret, []byte("aad"))
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			m := bytes.Clone(sealed)
			m[i] ^= 1 << bit
			pt, err := k.Open(m, []byte("aad"))
			if err == nil {
				t.Fatalf("byte %d bit %d flipped: opened %d bytes", i, bit, len(pt))
			}
			assertNoSecret(t, err, secret)
		}
	}
	for n := 0; n < len(sealed); n++ {
		if _, err := k.Open(sealed[:n], []byte("aad")); err == nil {
			t.Fatalf("truncated to %d bytes: opened", n)
		}
	}
	if _, err := k.Open(append(bytes.Clone(sealed), 0), []byte("aad")); err == nil {
		t.Fatal("extended by a byte: opened")
	}
}

func TestSoftwareOtherKEKFails(t *testing.T) {
	k1, k2 := mustEphemeral(t), mustEphemeral(t)
	sealed, _ := k1.Seal([]byte("secret"), nil)
	_, err := k2.Open(sealed, nil)
	if !errors.Is(err, ErrWrongKEK) || !strings.Contains(err.Error(), k1.ID()) || !strings.Contains(err.Error(), k2.ID()) {
		t.Fatalf("err %v: want ErrWrongKEK naming both ids", err)
	}
	// A blob relabelled with the other KEK's id is still refused: the id
	// is authenticated, and the key differs anyway.
	relabelled := append([]byte{blobVersion, byte(len(k2.ID()))}, k2.ID()...)
	relabelled = append(relabelled, sealed[2+len(k1.ID()):]...)
	if _, err := k2.Open(relabelled, nil); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("relabelled blob: err %v, want ErrAuthFailed", err)
	}
}

func TestSoftwareLimitsAndClose(t *testing.T) {
	if _, err := NewSoftware(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "16 bytes") {
		t.Fatalf("16-byte key: %v", err)
	}
	k := mustEphemeral(t)
	if _, err := k.Seal(make([]byte, MaxPlaintextBytes+1), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize plaintext: %v", err)
	}
	if _, err := k.Seal(nil, make([]byte, MaxAADBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize aad: %v", err)
	}
	if _, err := k.Open(make([]byte, MaxSealedBytes+1), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversize blob: %v", err)
	}
	sealed, _ := k.Seal([]byte("x"), nil)
	k.Close()
	if _, err := k.Seal([]byte("x"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("seal after close: %v", err)
	}
	if _, err := k.Open(sealed, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("open after close: %v", err)
	}
}

func TestSoftwareConcurrent(t *testing.T) {
	k := mustEphemeral(t)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				aad := []byte{byte(g), byte(i)}
				s, err := k.Seal(aad, aad)
				if err != nil {
					t.Error(err)
					return
				}
				if pt, err := k.Open(s, aad); err != nil || !bytes.Equal(pt, aad) {
					t.Errorf("open: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
