package cardcrypto

import (
	"crypto/subtle"
	"fmt"
	"strings"
)

// PSNLen is the length of a PAN sequence number in digits (the last two
// digits of field 23).
const PSNLen = 2

// CardKeyOptionA derives a card's master key from the issuer master key by
// EMV Option A (EMV 4.3 Book 2 A1.4.1; contract section 7 step 1): Y = the
// rightmost 16 digits of PAN ‖ PSN, zero-padded on the left, packed as BCD;
// MK = 3DES(IMK, Y) ‖ 3DES(IMK, Y XOR FF…FF), with odd parity.
func CardKeyOptionA(imk []byte, pan, psn string) ([]byte, error) {
	b, err := TDES(imk)
	if err != nil {
		return nil, fmt.Errorf("IMK: %w", err)
	}
	if len(pan) < minPANLen || len(pan) > maxPANLen || !isDigits(pan) {
		return nil, fmt.Errorf("%w: card key derivation: PAN is not %d-%d digits", ErrBadKey, minPANLen, maxPANLen)
	}
	if len(psn) != PSNLen || !isDigits(psn) {
		return nil, fmt.Errorf("%w: card key derivation: PSN is not %d digits", ErrBadKey, PSNLen)
	}
	y := pan + psn
	if len(y) > 16 {
		y = y[len(y)-16:]
	}
	y = strings.Repeat("0", 16-len(y)) + y
	data := make([]byte, 2*blockLen)
	for i := range blockLen {
		data[i] = (y[2*i]-'0')<<4 | (y[2*i+1] - '0')
		data[blockLen+i] = ^data[i]
	}
	mk := ecb(b, data, false)
	AdjustParity(mk)
	return mk, nil
}

// SessionKeyCommon derives the application cryptogram session key by the
// EMV common session key method (EMV 4.3 Book 2 A1.3.1; contract section 7
// step 2) with R = ATC ‖ 00…00: SK = 3DES(MK, ATC ‖ F0 ‖ 00×5) ‖
// 3DES(MK, ATC ‖ 0F ‖ 00×5). The result gets odd parity, as HSMs and
// public tools print it; DES ignores parity bits, so the ARQC and ARPC are
// the same either way.
func SessionKeyCommon(mk []byte, atc [2]byte) ([]byte, error) {
	b, err := TDES(mk)
	if err != nil {
		return nil, fmt.Errorf("card master key: %w", err)
	}
	data := make([]byte, 2*blockLen)
	copy(data, atc[:])
	data[2] = 0xF0
	copy(data[blockLen:], atc[:])
	data[blockLen+2] = 0x0F
	sk := ecb(b, data, false)
	AdjustParity(sk)
	return sk, nil
}

// ARQC computes the authorization request cryptogram (contract section 7
// step 3): ISO 9797-1 MAC algorithm 3, padding method 2, under the session
// key over data (ICC.ARQCData).
func ARQC(sk []byte, data []byte) ([]byte, error) {
	ac, err := MACAlg3Pad2(sk, data)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	return ac, nil
}

// ARPCMethod1 computes the authorization response cryptogram by EMV ARPC
// method 1 (EMV 4.3 Book 2 8.2.1): 3DES(SK, ARQC XOR (ARC ‖ 00×6)), where
// ARC is field 39 in ASCII.
func ARPCMethod1(sk, arqc []byte, arc [2]byte) ([]byte, error) {
	b, err := TDES(sk)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	if len(arqc) != blockLen {
		return nil, fmt.Errorf("%w: ARQC is %d bytes, want %d", ErrBadICC, len(arqc), blockLen)
	}
	x := make([]byte, blockLen)
	copy(x, arc[:])
	subtle.XORBytes(x, x, arqc)
	return ecb(b, x, false), nil
}
