package cardcrypto

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
)

// TestPreparedKeysMatch: a prepared MAC key and a prepared TPK give what
// the one-shot functions give (the reference: padding copied, CBC over it),
// for every length around the block boundaries, the empty message included.
func TestPreparedKeysMatch(t *testing.T) {
	key := bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}, 2)
	key[8] ^= 0xFE
	mk, err := NewMACKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %#v", mk, mk); bytes.Contains([]byte(s), []byte(fmt.Sprintf("%X", key[:4]))) {
		t.Fatalf("MACKey prints its key: %s", s)
	}
	data := make([]byte, 64)
	rand.Read(data)
	for n := 0; n <= len(data); n++ {
		padded := make([]byte, max((n+blockLen-1)/blockLen*blockLen, blockLen))
		copy(padded, data[:n])
		want, err := macAlg3(key, padded)
		if err != nil {
			t.Fatal(err)
		}
		if got := mk.MAC(data[:n]); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: prepared %X, reference %X", n, got, want)
		}
		if got, _ := RetailMAC(key, data[:n]); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: RetailMAC %X, reference %X", n, got, want)
		}
	}
	if _, err := NewMACKey(key[:8]); err == nil {
		t.Fatal("an 8-byte MAC key was accepted")
	}
	tpk, err := TDES(key)
	if err != nil {
		t.Fatal(err)
	}
	const pan = "6210000000000011"
	blk, err := EncryptPINBlockWith(tpk, "123456", pan)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := EncryptPINBlock(key, "123456", pan); !bytes.Equal(blk, want) {
		t.Fatalf("prepared PIN block %X, one-shot %X", blk, want)
	}
	if pin, err := DecryptPINBlockWith(tpk, blk, pan); err != nil || pin != "123456" {
		t.Fatalf("prepared decrypt: %v", err)
	}
}

// BenchmarkRetailMAC: the message MAC of a purchase, with the key's
// schedules made for each MAC and prepared once.
//
//	go test -run '^$' -bench RetailMAC -benchmem ./cardcrypto/
func BenchmarkRetailMAC(b *testing.B) {
	key := bytes.Repeat([]byte{0x13, 0x57}, 8)
	data := make([]byte, 130) // a purchase request, about
	b.Run("one-shot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			RetailMAC(key, data)
		}
	})
	mk, _ := NewMACKey(key)
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mk.MAC(data)
		}
	})
}

// BenchmarkDecryptPINBlock: the host's side of field 52 under a prepared
// TPK: decrypt, remove the PAN, check the format and recover the PIN.
//
//	go test -run '^$' -bench DecryptPINBlock -benchmem ./cardcrypto/
func BenchmarkDecryptPINBlock(b *testing.B) {
	const pan = "6210000000000011"
	tpk, _ := TDES(bytes.Repeat([]byte{0x13, 0x57}, 8))
	blk, err := EncryptPINBlockWith(tpk, "1234", pan)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if pin, err := DecryptPINBlockWith(tpk, blk, pan); err != nil || pin != "1234" {
			b.Fatal("PIN not recovered", err)
		}
	}
}

// TestPANField: the account-number block, built nibble by nibble, is the
// one the contract spells: "0000", zeros, then the 12 rightmost digits
// before the check digit, packed, for every PAN length.
func TestPANField(t *testing.T) {
	const digits = "9876543210987654321"
	for n := minPANLen; n <= maxPANLen; n++ {
		pan := digits[:n]
		body := pan[max(0, n-13) : n-1]
		want := unhex(t, "0000"+strings.Repeat("0", 12-len(body))+body)
		got, err := panField(pan)
		if err != nil || !bytes.Equal(got[:], want) {
			t.Fatalf("PAN of %d digits: %X %v, want %X", n, got, err, want)
		}
	}
	for _, pan := range []string{"12345678901", "12345678901234567890", "1234567890A2"} {
		if _, err := panField(pan); err == nil {
			t.Fatalf("PAN %q accepted", pan)
		}
	}
}
