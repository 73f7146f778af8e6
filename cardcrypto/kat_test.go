package cardcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Known-answer tests. Each vector names its source; where no public vector
// exists for the contract's exact combination, the value was computed
// independently with OpenSSL (testdata/crosscheck.sh) and the comment says so.

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantHex(t *testing.T, what string, got []byte, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if w := unhex(t, want); !bytes.Equal(got, w) {
		t.Fatalf("%s = %X, want %X", what, got, w)
	}
}

func TestDESKnownAnswers(t *testing.T) {
	// FIPS 81 (DES modes of operation), Appendix B, ECB example: key
	// 0123456789ABCDEF, plaintext "Now is the time for all ". A two-key
	// 3DES key whose halves are equal is single DES (EDE with K1 = K2).
	b, err := TDES(unhex(t, "0123456789ABCDEF 0123456789ABCDEF"))
	if err != nil {
		t.Fatal(err)
	}
	got := ecb(b, []byte("Now is the time for all "), false)
	wantHex(t, "FIPS 81 ECB", got, nil, "3FA40E8A984D4815 6A271787AB8883F9 893D51EC4B563B53")
	// Applied Cryptography (Schneier, 2nd ed.) DES test vector.
	wantHex(t, "Schneier", ecb(b, unhex(t, "0123456789ABCDE7"), false), nil, "C95744256A5ED31D")

	// Two-key 3DES, cross-checked with
	// `printf 'Now is t' | openssl enc -des-ede -K 0123456789ABCDEFFEDCBA9876543210 -nopad`.
	b, _ = TDES(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	wantHex(t, "3DES", ecb(b, []byte("Now is t"), false), nil, "D80A0D8B2BAE5E4E")

	for _, n := range []int{0, 8, 15, 17, 24} {
		if _, err := TDES(make([]byte, n)); !errors.Is(err, ErrBadKey) {
			t.Errorf("TDES of a %d-byte key: %v", n, err)
		}
	}
}

func TestKCV(t *testing.T) {
	// knovichikhin/pyemv tests/test_ac_hsm.py asserts the 2-byte check digits
	// 08D7 of this key; the third byte is from
	// `openssl enc -des-ede -K 0123456789ABCDEFFEDCBA9876543210 -nopad` of 8 zero bytes.
	got, err := KCV(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	wantHex(t, "KCV", got, err, "08D7B4")
}

func TestRetailMAC(t *testing.T) {
	// ANSI X9.9 / FIPS 113 example ("7654321 Now is the time for ", key
	// 0123456789ABCDEF): with K1 = K2 algorithm 3 reduces to the X9.9 CBC-MAC.
	data := []byte("7654321 Now is the time for ")
	got, err := RetailMAC(unhex(t, "0123456789ABCDEF0123456789ABCDEF"), data)
	wantHex(t, "X9.9", got, err, "F1D30F6849312CA4")
	// Double-length key over the same data: OpenSSL des-cbc, des-ecb -d, des-ecb.
	got, err = RetailMAC(unhex(t, "0123456789ABCDEFFEDCBA9876543210"), data)
	wantHex(t, "X9.19", got, err, "AE4B45B1B527642F")

	// knovichikhin/pyemv tests/test_mac.py (test_mac_iso9797_3): key
	// AAAAAAAAAAAAAAAA BBBBBBBBBBBBBBBB over "hello world", padding 1 and 2.
	key := unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	got, err = RetailMAC(key, []byte("hello world"))
	wantHex(t, "pad 1", got, err, "78DA3D3DEB48FD4D")
	got, err = MACAlg3Pad2(key, []byte("hello world"))
	wantHex(t, "pad 2", got, err, "2BC2D9EDE0CF31F6")

	// Padding method 1 fills with zeros; method 2 is 80 then zeros.
	short := []byte("ABCDEFG")
	a, _ := RetailMAC(key, short)
	b, _ := RetailMAC(key, append(short, 0))
	c, _ := MACAlg3Pad2(key, short)
	d, _ := RetailMAC(key, append(short, 0x80))
	if !bytes.Equal(a, b) || !bytes.Equal(c, d) || bytes.Equal(a, c) {
		t.Errorf("padding: %X %X %X %X", a, b, c, d)
	}
	// A whole block gets no method-1 padding but a full method-2 block.
	e, _ := MACAlg3Pad2(key, []byte("ABCDEFGH"))
	f, _ := RetailMAC(key, []byte("ABCDEFGH\x80\x00\x00\x00\x00\x00\x00\x00"))
	if !bytes.Equal(e, f) {
		t.Errorf("pad 2 of a whole block: %X %X", e, f)
	}
	if _, err := RetailMAC(key[:8], data); !errors.Is(err, ErrBadKey) {
		t.Errorf("short key: %v", err)
	}
	if !MACEqual(a, b) || MACEqual(a, c) || MACEqual(a, a[:7]) {
		t.Error("MACEqual")
	}
}

func TestPINBlockFormat0(t *testing.T) {
	// The ISO 9564 format 0 example of EFTlab's "Complete list of PIN
	// blocks" and of ID TECH's PIN block page
	// (atlassian.idtechproducts.com, pageId=50529496, with the same values):
	// PIN 1234, PAN 43219876543210987 -> 0412AC89ABCDEF67.
	got, err := PINBlockFormat0("1234", "43219876543210987")
	wantHex(t, "ISO-0", got, err, "0412AC89ABCDEF67")
	// The ANSI X9.8 (= ISO format 0) example of an HSM host-command
	// manual's PIN block "format 01" page: PIN 92389, PAN 4000001234562 ->
	// 0592789FFFEDCBA9 (XOR re-done by hand).
	got, err = PINBlockFormat0("92389", "4000001234562")
	wantHex(t, "X9.8", got, err, "0592789FFFEDCBA9")
	// A 12-digit PAN has an 11-digit body, zero-padded on the left.
	got, err = PINBlockFormat0("1234", "123456789012")
	wantHex(t, "12-digit PAN", got, err, "041235DCBA9876FE")

	tpk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	// PIN 1234, PAN 4111111111111111: clear 041225EEEEEEEEEE, encrypted with
	// `openssl enc -des-ede -K 0123456789ABCDEFFEDCBA9876543210 -nopad`.
	enc, err := EncryptPINBlock(tpk, "1234", "4111111111111111")
	wantHex(t, "encrypted", enc, err, "2A3D408A1977DDE9")
	pin, err := DecryptPINBlock(tpk, enc, "4111111111111111")
	if err != nil || pin != "1234" {
		t.Fatalf("decrypt: %q %v", pin, err)
	}
	for _, p := range []string{"", "123", "1234567890123", "12a4", "12 4"} {
		if _, err := PINBlockFormat0(p, "4111111111111111"); !errors.Is(err, ErrBadPIN) {
			t.Errorf("PIN %q: %v", p, err)
		}
	}
	for _, pan := range []string{"", "12345678901", "12345678901234567890", "41111111111111x1"} {
		if _, err := PINBlockFormat0("1234", pan); !errors.Is(err, ErrBadPIN) {
			t.Errorf("PAN %q: %v", pan, err)
		}
	}
}

func TestDecryptPINBlockStrict(t *testing.T) {
	tpk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	const pan = "43219876543210987"
	b, _ := TDES(tpk)
	seal := func(clearPINField string) []byte {
		pf, _ := panField(pan)
		c := unhex(t, clearPINField)
		for i := range c {
			c[i] ^= pf[i]
		}
		return ecb(b, c, false)
	}
	cases := map[string]string{
		"041234FFFFFFFFFF": "",
		"0C123456789012FF": "", // 12 digits
		"141234FFFFFFFFFF": "control field",
		"031234FFFFFFFFFF": "length field",
		"0D1234FFFFFFFFFF": "length field",
		"04123AFFFFFFFFFF": "non-digit",
		"041234FFFFFFFF0F": "filler",
		"041234EFFFFFFFFF": "filler",
	}
	for field, want := range cases {
		pin, err := DecryptPINBlock(tpk, seal(field), pan)
		if want == "" {
			if err != nil || len(pin) != int(field[1]-'0') && field[1] != 'C' {
				t.Errorf("%s: %q %v", field, pin, err)
			}
			continue
		}
		if !errors.Is(err, ErrBadPIN) || !strings.Contains(err.Error(), want) || pin != "" {
			t.Errorf("%s: %q %v, want an error about %s", field, pin, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "1234") {
			t.Errorf("%s: error carries PIN digits: %v", field, err)
		}
	}
	// A block bound to another PAN does not decode to the PIN.
	enc, _ := EncryptPINBlock(tpk, "1234", pan)
	if pin, err := DecryptPINBlock(tpk, enc, "4111111111111111"); err == nil && pin == "1234" {
		t.Error("PIN recovered under another PAN")
	}
	if _, err := DecryptPINBlock(tpk, enc[:7], pan); !errors.Is(err, ErrBadPIN) {
		t.Errorf("short block: %v", err)
	}
}

func TestCardKeyOptionA(t *testing.T) {
	imk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	// knovichikhin/pyemv pyemv/kd.py, derive_icc_mk_a docstring example.
	mk, err := CardKeyOptionA(imk, "12345678901234567", "01")
	wantHex(t, "MK", mk, err, "73AD54688CEF2934B0979857E3C719F1")
	// knovichikhin/pyemv tests/test_kd_hsm.py (test_derive_icc_mk_a_psn)
	// and tests/test_ac_hsm.py (test_generate_ac_emv_arpc1): check digits.
	for _, c := range []struct{ pan, psn, kcv string }{
		{"12345678901234567", "45", "FF08"},
		{"9901234567890123", "45", "1DA5"},
	} {
		mk, err := CardKeyOptionA(imk, c.pan, c.psn)
		if err != nil {
			t.Fatal(err)
		}
		kcv, _ := KCV(mk)
		wantHex(t, "MK check digits", kcv[:2], nil, c.kcv)
	}
	// A PAN short enough that PAN ‖ PSN has fewer than 16 digits is
	// zero-padded on the left: 12-digit PAN + PSN = 14 digits.
	short, err := CardKeyOptionA(imk, "123456789012", "01")
	b, _ := TDES(imk)
	y := unhex(t, "0012345678901201")
	want := ecb(b, append(y, ^y[0], ^y[1], ^y[2], ^y[3], ^y[4], ^y[5], ^y[6], ^y[7]), false)
	AdjustParity(want)
	wantHex(t, "short PAN", short, err, hex.EncodeToString(want))
	for _, c := range []struct{ pan, psn string }{{"12345678901", "01"}, {"1234567890123", "1"}, {"1234567890123", "0A"}} {
		if _, err := CardKeyOptionA(imk, c.pan, c.psn); !errors.Is(err, ErrBadKey) {
			t.Errorf("%q %q: %v", c.pan, c.psn, err)
		}
	}
}

func TestSessionKeyCommon(t *testing.T) {
	// knovichikhin/pyemv pyemv/kd.py, derive_common_sk docstring example:
	// R = ATC 001C ‖ 00…00. (pyemv prints the key with odd parity, as we do.)
	sk, err := SessionKeyCommon(unhex(t, "0123456789ABCDEFFEDCBA9876543210"), [2]byte{0x00, 0x1C})
	wantHex(t, "SK", sk, err, "E9FB384AF807B940FEDCEA613461B0C4")
}

func TestARQCAndARPC(t *testing.T) {
	// knovichikhin/pyemv pyemv/ac.py, generate_ac docstring example (the
	// contract's ARQC data without a CVR; the MAC does not care).
	sk := unhex(t, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	data := unhex(t, "000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001")
	ac, err := ARQC(sk, data)
	wantHex(t, "ARQC", ac, err, "3B76CF10FECD8789")
	// pyemv/ac.py generate_arpc_1 docstring example.
	arpc, err := ARPCMethod1(sk, unhex(t, "1234567890ABCDEF"), [2]byte{0, 0})
	wantHex(t, "ARPC", arpc, err, "F5E6F44147E2F1B0")
	// pyemv/ac.py module docstring: another session key, ARQC then ARPC.
	sk2 := unhex(t, "29B33180E567CE38EA4CBC9D753B0E61")
	ac, err = ARQC(sk2, unhex(t, "0123456789ABCDEF0123456789ABCDEF"))
	wantHex(t, "ARQC 2", ac, err, "FA624250B008B59A")
	arpc, err = ARPCMethod1(sk2, ac, [2]byte{0, 0})
	wantHex(t, "ARPC 2", arpc, err, "45D4255EEF10C920")

	if _, err := ARPCMethod1(sk, ac[:7], [2]byte{'0', '0'}); !errors.Is(err, ErrBadICC) {
		t.Errorf("short ARQC: %v", err)
	}
}

// TestContractChain runs contract section 7 end to end (Option A, common
// session key from the ATC, ARQC over ARQCData with the CVR, ARPC with ARC
// "00" in ASCII). No public suite has this combination; the expected values
// come from OpenSSL's DES via testdata/crosscheck.sh.
func TestContractChain(t *testing.T) {
	imk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := CardKeyOptionA(imk, "6210001234567890", "01")
	wantHex(t, "MK", mk, err, "5E2CDF8325BFB3C40267706215AE1592")
	sk, err := SessionKeyCommon(mk, [2]byte{0x00, 0x01})
	wantHex(t, "SK", sk, err, "5D3B4A62AD8A97EABC972F972AD9D0E3")

	icc, err := ParseICC(sampleICC(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := icc.ARQCData()
	wantHex(t, "ARQC data", data, err,
		"000000001250 000000000000 0156 0000000000 0156 251123 00 12345678 1800 0001 03A00000")
	ac, err := ARQC(sk, data)
	wantHex(t, "ARQC", ac, err, "B5B9E59F26DB3E50")
	arpc, err := ARPCMethod1(sk, ac, [2]byte{'0', '0'})
	wantHex(t, "ARPC", arpc, err, "11FC4A333029EC4B")
}
