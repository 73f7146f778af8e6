// Package cardcrypto is the payment cryptography of the terminal protocol,
// contract section 7 (shared/terminal-protocol.md): working keys, the
// message MAC, the PIN block and the EMV chip cryptograms, plus the
// BER-TLV codec of field 55. Both sides use it: the host to issue keys,
// check MACs, PINs and ARQCs and answer with an ARPC, the terminal
// simulator to do the card's and terminal's half. It is pure functions over
// byte slices on the Go standard library's DES, with no state, no I/O and
// no logging.
//
// # The rule
//
// Nothing here logs, prints or formats a key, a PIN, a PIN block or an ICC
// value, and no error carries one: errors wrap ErrBadKey, ErrBadPIN or
// ErrBadICC with the field or tag at fault and the lengths involved. Callers
// keep it that way: a key is never an argument of a log call or of
// fmt.Errorf, and a PAN appears only masked.
//
// # Keys
//
// Every key is a double-length two-key triple-DES key of KeyLen (16) bytes,
// used in ECB mode unless stated. TDES returns the block cipher (K1 K2 K1).
// KCV is the key check value, the first 3 bytes of the key encrypting 8
// zero bytes (contract: field 62 and the key ceremony). EncryptKey and
// DecryptKey wrap a key under a key-encrypting key, the form of the TPK and
// TAK under the TMK in an 0810's field 62. NewKey draws a fresh key with
// odd DES parity (AdjustParity); CombineComponents XORs 2 or 3 clear
// components entered by separate key custodians and refuses a zero or
// single-DES result; ParseKeyHex reads 32 hex characters and names the
// field, never the value, when they are wrong.
//
// # MAC
//
// RetailMAC is ISO/IEC 9797-1 MAC algorithm 3 (the ANSI X9.19 retail MAC)
// with padding method 1 (zeros; a whole block is not padded): the MAC of
// fields 64 and 128 under the TAK. MACAlg3Pad2 is the same with padding
// method 2 (80 then zeros), the EMV cryptogram MAC. MACEqual compares in
// constant time.
//
// # PIN
//
// Field 52 is an ISO 9564 format 0 PIN block under the TPK: (0, length,
// PIN, F padding) XOR (0000 and the 12 rightmost PAN digits excluding the
// check digit; a 12-digit PAN's 11-digit body is zero-padded on the left).
// PINBlockFormat0 builds the clear block, EncryptPINBlock the encrypted one,
// DecryptPINBlock recovers the PIN and insists on control nibble 0, a
// length of 4 to 12, decimal PIN digits and F padding.
//
// # Chip (EMV)
//
// The host's ARQC check (contract section 7, "Chip"), one function a step:
//
//  1. CardKeyOptionA: MK = 3DES(IMK, Y) ‖ 3DES(IMK, Y XOR FF…FF), Y the
//     rightmost 16 digits of PAN ‖ PSN zero-padded on the left, odd parity
//     (EMV 4.3 Book 2 A1.4.1).
//  2. SessionKeyCommon: SK = 3DES(MK, ATC ‖ F0 ‖ 00×5) ‖ 3DES(MK, ATC ‖
//     0F ‖ 00×5) (EMV common session key, Book 2 A1.3.1). It is returned
//     with odd parity, as HSMs print it; DES ignores parity bits.
//  3. ARQC: MACAlg3Pad2 under SK over ICC.ARQCData, the values of 9F02 ‖
//     9F03 ‖ 9F1A ‖ 95 ‖ 5F2A ‖ 9A ‖ 9C ‖ 9F37 ‖ 82 ‖ 9F36 ‖ CVR (bytes 4
//     to 7 of 9F10).
//
// The response proves the issuer to the card with ARPCMethod1: ARPC =
// 3DES(SK, ARQC XOR (ARC ‖ 00×6)), ARC being field 39 in ASCII; tag 91 is
// ARPC ‖ ARC (IssuerAuthValue).
//
// # Field 55
//
// ParseICC reads BER-TLV strictly, so that the host can answer 30 to
// anything malformed and the terminal can reject a bad response: 1 to
// MaxICCBytes (255) bytes and at most MaxICCTags (32) data objects; tags
// of one or two bytes; lengths of one byte (00-7F) or 81 and one byte (a
// non-minimal 81 form is accepted, as BER allows, and written back
// minimal); no value running past the end; no tag twice. The tags of the
// contract (constants Tag…) must have their EMV lengths — 9F26 8, 9F27 1,
// 9F10 7 to 32, 9F36 2, 9F37 4, 95 5, 9A 3, 9C 1, 9F02 6, 9F03 6, 5F2A 2,
// 82 2, 9F1A 2, 91 10 — and the numeric (n) ones 9A, 9C, 9F02, 9F03, 5F2A,
// 9F1A decimal digits. Other primitive tags are kept as received but not
// interpreted. Constructed tags (templates such as 70, 77 or issuer
// scripts 71/72) and 00 padding bytes are refused: the contract puts only
// primitive objects in field 55.
//
// ICC gives typed access to each contract tag (Cryptogram, ATC, CVR,
// AmountAuthorized, IssuerAuth, …), Get for any tag, Missing for the
// mandatory request tags (RequestTags) that are absent, and ARQCData.
// AppendTLV writes one object; EncodeICC writes a list and checks it by the
// parser's rules; ICC.Encode writes a parsed ICC back (parse, encode and
// parse again gives the same objects — FuzzParseICC checks it).
//
// # Test vectors
//
// kat_test.go holds published known answers (FIPS 81, ANSI X9.9, ISO 9564
// examples, and the EMV vectors of the public pyemv test suite), each
// naming its source. The contract's full chain (Option A, ATC session key,
// ARQC with the CVR, ARPC with an ASCII ARC) has no public vector; its
// values were computed independently with OpenSSL by
// testdata/crosscheck.sh. All keys in the tests are public test keys.
package cardcrypto
