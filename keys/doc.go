// Package keys holds the host master key, the key-encryption key (KEK)
// that seals every secret the store keeps: terminal master keys, working
// keys, issuer master keys, PIN verification data. Nothing secret is ever
// in the store, a log line, an error or an API answer in clear; where a
// key must be named, its check value or its KEK id is shown instead.
//
// # The interface
//
// A KEK seals and opens byte strings with AES-256-GCM:
//
//	type KEK interface {
//		ID() string
//		Seal(plaintext, aad []byte) ([]byte, error)
//		Open(sealed, aad []byte) ([]byte, error)
//		Close() error
//	}
//
// Consumers declare the subset they use (usually Seal and Open) and are
// handed a *Ring, which holds the current KEK and, during a rotation, the
// one being retired.
//
// # Sources
//
// Config.Source says where the KEK comes from:
//
//   - "file" (the default, and what make run uses): <data dir>/master.key,
//     64 hex digits and a newline, mode 0600. The first start makes it
//     (atomically: temporary file, fsync, link; two processes starting
//     at once agree on one key). A file others may read, of the wrong
//     size, or not hex is refused with a message naming the path and the
//     fault, never the content. Back the file up apart from the store:
//     a store backup without its key is unreadable.
//   - "env": the variable Config.Env (default CARDCENTER_KEK) holds the
//     64 hex digits. Errors name the variable, never its value.
//   - "pkcs11": an AES-256 key on a PKCS#11 token (an HSM in production;
//     SoftHSM2 in tests). The token is found by its label, the key by
//     its CKA_LABEL; the user PIN comes from PKCS11Config.PINFile (mode
//     0600), PINEnv, or by default the variable CARDCENTER_PKCS11_PIN,
//     never from the configuration file itself. With CreateKey the key
//     is generated on the token when absent: CKA_TOKEN, CKA_PRIVATE,
//     CKA_SENSITIVE, not CKA_EXTRACTABLE, encrypt and decrypt only. An
//     existing key must be AES-256, sensitive, and allowed to encrypt and
//     decrypt. The key never leaves the token: every seal and open is
//     CKM_AES_GCM on the token, over a pool of at most maxSessions
//     sessions (a session runs one operation at a time). It needs cgo;
//     a binary built without it says so when asked for this source.
//
// The software KEK's id is "soft:" and its check value (the leftmost 5
// bytes of AES-CMAC over a zero block, ANSI X9.24-1:2017), so the same
// key read from a file or from the environment is the same KEK. A token
// KEK's id is "pkcs11:" and the key label.
//
// # Sealed blobs
//
//	version(1) = 1 ‖ n(1) ‖ KEK id(n) ‖ nonce(12) ‖ ciphertext ‖ tag(16)
//
// The nonce is fresh from crypto/rand for every seal. GCM authenticates
// the header (version ‖ n ‖ id) and the caller's aad, so altering any
// byte, relabelling the id, or moving the blob to another record fails.
// The id is in clear so that a Ring knows which KEK opens a blob and
// SealedBy tells rotation and the checker which KEK sealed it without a
// key. Limits: MaxPlaintextBytes, MaxAADBytes, MaxIDLen, MaxSealedBytes.
// With random 96-bit nonces a KEK should seal fewer than 2^32 blobs
// (NIST SP 800-38D); a store of keys is nowhere near, and rotation
// starts the count again.
//
// # AAD convention
//
// The aad is the record's purpose and identity, "<purpose>/<id>":
// "tmk/T0000101", "tpk/T0000101", "tak/T0000101", "imk/<program>",
// "pvd/<card id>". It is not stored in the blob: the reader supplies it
// again from the record it is reading, which is what binds the blob to
// that record. This package never prints an aad, but do not put a clear
// PAN in one: key records by card id.
//
// # Errors
//
// Errors wrap ErrMalformed, ErrAuthFailed, ErrWrongKEK, ErrUnknownKEK,
// ErrTooLarge or ErrClosed, and name lengths and KEK ids only: "keys:
// cannot open sealed 62 bytes sealed by soft:1A2B3C4D5E: authentication
// failed (…)". They never hold key bytes, plaintext or aad, so a caller
// may log them as they are. Callers must keep the same rule for what
// Open returns: wipe it after use, never log it.
//
// # Rotating the KEK
//
// A rotation moves every blob from the old KEK to a new one, and can be
// interrupted by a crash at any point and resumed:
//
//  1. Make the new KEK and a ring of new (current) and old:
//     file: BeginFileRotation(path) makes master.key.next (atomically;
//     repeating it reuses the file) — from then on OpenRing gives the
//     ring, so a restart resumes the rotation;
//     env: put the new key in CARDCENTER_KEK and the old in
//     CARDCENTER_KEK_OLD, restart;
//     pkcs11: set key_label to a new label with create_key, and
//     old_key_label to the old one, restart.
//  2. The ledger re-wraps every sealed record with Ring.Rewrap, which
//     leaves a blob already under the current KEK untouched, so the loop
//     resumes by simply running again. New secrets are sealed under the
//     new KEK from the start.
//  3. The checker verifies that SealedBy of every blob is Ring.CurrentID.
//  4. Retire the old KEK: file: FinishFileRotation(path, ring.CurrentID())
//     renames master.key.next over master.key (atomic; repeating it is
//     harmless); env: unset CARDCENTER_KEK_OLD; pkcs11: clear
//     old_key_label, then destroy the old key with the HSM's own tools.
//
// `cardcenter keys rotate` does steps 1 to 4 with the host stopped
// (ledger.Store.RewrapSecrets and CheckSecrets; docs/operations.md,
// "Rotating the host master key"). Ring.SealedBy lets a consumer that
// holds only the ring count progress.
//
// Store backups taken before step 4 are sealed under the old KEK: if
// they must stay restorable, keep the old key with them, offline.
//
// # Memory
//
// Key and plaintext buffers this package makes are wiped when it is done
// with them (wipe). Go offers no more than best effort here: crypto/aes
// keeps its expanded key, strings (an environment variable, a PIN) cannot
// be wiped, and the collector may have copied a buffer. The PKCS#11
// source is the one that keeps the key out of the process altogether.
//
// # Tests
//
// The PKCS#11 tests run against SoftHSM2 (package softhsm2, which
// scripts/rigs.sh installs). Each makes its own token in t.TempDir
// (internal/rig.NewSoftHSM); SoftHSM reads its config from SOFTHSM2_CONF
// when the library is initialised, and the environment is the
// process's, so these tests set it with t.Setenv, never run in parallel,
// and close every KEK before they end (the library is initialised again
// by the next test's first KEK). Without softhsm2 they skip, under CI=1
// they fail. FuzzSoftwareOpen fuzzes the software KEK's Open.
package keys
