//go:build cgo

package keys

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/miekg/pkcs11"
)

// These tests use a SoftHSM2 token made for each test (rig.NewSoftHSM):
// SOFTHSM2_CONF is process-wide, so none of them runs in parallel, and
// each closes every KEK it opens before it ends (t.Cleanup).

const (
	testToken = "cardcenter-kek"
	testPIN   = "1234"
	testSOPIN = "5678"
)

func softToken(t testing.TB) PKCS11Config {
	t.Helper()
	h := rig.NewSoftHSM(t)
	h.InitToken(t, testToken, testPIN, testSOPIN)
	return PKCS11Config{Module: h.Module, TokenLabel: testToken, PIN: testPIN, KeyLabel: "kek-1", CreateKey: true}
}

func mustPKCS11(t testing.TB, cfg PKCS11Config) *p11KEK {
	t.Helper()
	k, err := OpenPKCS11(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k.(*p11KEK)
}

func TestPKCS11RoundTripAndFailures(t *testing.T) {
	k := mustPKCS11(t, softToken(t))
	if k.ID() != "pkcs11:kek-1" {
		t.Fatalf("id %q", k.ID())
	}
	secret := []byte("0123456789ABCDEF0123456789ABCDEF")
	sealed, err := k.Seal(secret, []byte("imk/P1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != 2+len(k.ID())+NonceBytes+len(secret)+TagBytes {
		t.Fatalf("blob of %d bytes", len(sealed))
	}
	if pt, err := k.Open(sealed, []byte("imk/P1")); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("open: %v", err)
	}
	_, err = k.Open(sealed, []byte("imk/P2"))
	if !errors.Is(err, ErrAuthFailed) || !strings.Contains(err.Error(), "sealed by pkcs11:kek-1: authentication failed") {
		t.Fatalf("wrong aad: %v", err)
	}
	assertNoSecret(t, err, secret)
	for _, i := range []int{0, 1, 5, len(sealed) - 20, len(sealed) - 1} {
		m := bytes.Clone(sealed)
		m[i] ^= 0x01
		if _, err := k.Open(m, []byte("imk/P1")); err == nil {
			t.Fatalf("byte %d altered: opened", i)
		}
	}
	// The session that failed was replaced: the KEK still works.
	if pt, err := k.Open(sealed, []byte("imk/P1")); err != nil || !bytes.Equal(pt, secret) {
		t.Fatalf("open after failures: %v", err)
	}
	// A software KEK's blob is refused by name, and vice versa.
	soft := mustEphemeral(t)
	softBlob, _ := soft.Seal(secret, nil)
	if _, err := k.Open(softBlob, nil); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("software blob on the token: %v", err)
	}
	if _, err := soft.Open(sealed, []byte("imk/P1")); !errors.Is(err, ErrWrongKEK) {
		t.Fatalf("token blob on software: %v", err)
	}
	if _, err := k.Seal(nil, []byte("empty")); err != nil {
		t.Fatalf("empty plaintext: %v", err)
	}
}

// TestPKCS11KeyNotExtractable asks the token for the key's value the way
// an attacker holding the PIN would, and requires the refusal.
func TestPKCS11KeyNotExtractable(t *testing.T) {
	k := mustPKCS11(t, softToken(t))
	ctx := k.mod.ctx
	_, err := ctx.GetAttributeValue(k.anchor, k.key, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Fatalf("CKA_VALUE read: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
	}
	attrs, err := ctx.GetAttributeValue(k.anchor, k.key, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	if attrBool(attrs[0].Value) || !attrBool(attrs[1].Value) || !attrBool(attrs[2].Value) || attrUint(attrs[3].Value) != KeyBytes {
		t.Fatalf("extractable %v sensitive %v token %v len %d", attrBool(attrs[0].Value), attrBool(attrs[1].Value), attrBool(attrs[2].Value), attrUint(attrs[3].Value))
	}
}

func TestPKCS11KeySurvivesReopen(t *testing.T) {
	cfg := softToken(t)
	k, err := OpenPKCS11(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal([]byte("tmk"), []byte("tmk/T1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := k.Seal([]byte("x"), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("seal after close: %v", err)
	}
	cfg.CreateKey = false
	k2 := mustPKCS11(t, cfg)
	if pt, err := k2.Open(sealed, []byte("tmk/T1")); err != nil || string(pt) != "tmk" {
		t.Fatalf("reopened token cannot open: %v", err)
	}
}

func TestPKCS11Refusals(t *testing.T) {
	cfg := softToken(t)
	bad := cfg
	bad.PIN = "9999"
	_, err := OpenPKCS11(bad)
	if err == nil || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") || strings.Contains(err.Error(), "9999") {
		t.Fatalf("wrong PIN: %v", err)
	}
	bad = cfg
	bad.TokenLabel = "no-such-token"
	if _, err := OpenPKCS11(bad); err == nil || !strings.Contains(err.Error(), `"cardcenter-kek"`) {
		t.Fatalf("unknown token: %v", err)
	}
	bad = cfg
	bad.CreateKey = false
	if _, err := OpenPKCS11(bad); err == nil || !strings.Contains(err.Error(), "no AES key has that label") {
		t.Fatalf("missing key without create: %v", err)
	}
	bad = cfg
	bad.Module = filepath.Join(t.TempDir(), "nothing.so")
	if _, err := OpenPKCS11(bad); err == nil {
		t.Fatal("missing module accepted")
	}
	// PIN sources: exactly one; a PIN file must be 0600.
	bad = cfg
	bad.PINEnv = "X"
	if _, err := OpenPKCS11(bad); err == nil || !strings.Contains(err.Error(), "one way") {
		t.Fatalf("two PIN sources: %v", err)
	}
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte(testPIN+"\n"), 0o644)
	os.Chmod(pinFile, 0o644)
	bad = cfg
	bad.PIN, bad.PINFile = "", pinFile
	if _, err := OpenPKCS11(bad); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("readable PIN file: %v", err)
	}
	os.Chmod(pinFile, 0o600)
	k := mustPKCS11(t, bad)
	t.Setenv(DefaultPINEnv, testPIN)
	bad.PINFile = ""
	k2 := mustPKCS11(t, bad) // the same key twice in one process: the library and login are shared
	if k2.ID() != k.ID() {
		t.Fatal("two opens of one key differ")
	}
}

// TestPKCS11Concurrent runs many more goroutines than the pool has
// sessions; with -race it also checks the pool's synchronisation.
func TestPKCS11Concurrent(t *testing.T) {
	k := mustPKCS11(t, softToken(t))
	var wg sync.WaitGroup
	for g := 0; g < 4*maxSessions; g++ {
		wg.Go(func() {
			for i := 0; i < 25; i++ {
				aad := []byte{'g', byte(g), byte(i)}
				s, err := k.Seal(aad, aad)
				if err != nil {
					t.Error(err)
					return
				}
				if pt, err := k.Open(s, aad); err != nil || !bytes.Equal(pt, aad) {
					t.Errorf("open: %v", err)
					return
				}
				if i%5 == 0 { // a failure mid-stream discards a session
					if _, err := k.Open(s, []byte("wrong")); !errors.Is(err, ErrAuthFailed) {
						t.Errorf("wrong aad: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := len(k.idle); n > maxSessions {
		t.Fatalf("%d idle sessions, limit %d", n, maxSessions)
	}
}

// TestPKCS11RotationFromFile moves records from a file KEK to a token KEK
// and then between two keys on the token, through rings.
func TestPKCS11RotationFromFile(t *testing.T) {
	cfg := softToken(t)
	fileKEK, _, err := LoadOrCreateFile(filepath.Join(t.TempDir(), KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := fileKEK.Seal([]byte("imk"), []byte("imk/P1"))
	r1, err := NewRing(mustPKCS11(t, cfg), fileKEK)
	if err != nil {
		t.Fatal(err)
	}
	blob, did, err := r1.Rewrap(blob, []byte("imk/P1"))
	if err != nil || !did {
		t.Fatalf("file → token: %v", err)
	}
	r1.Close()

	cfg.KeyLabel, cfg.OldKeyLabel = "kek-2", "kek-1"
	r2, err := OpenRing(Config{Source: SourcePKCS11, PKCS11: cfg}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if ids := r2.IDs(); len(ids) != 2 || ids[0] != "pkcs11:kek-2" || ids[1] != "pkcs11:kek-1" {
		t.Fatalf("ring %v", ids)
	}
	blob, did, err = r2.Rewrap(blob, []byte("imk/P1"))
	if by, _ := SealedBy(blob); err != nil || !did || by != "pkcs11:kek-2" {
		t.Fatalf("kek-1 → kek-2: %v, sealed by %s", err, by)
	}
	if pt, err := r2.Open(blob, []byte("imk/P1")); err != nil || string(pt) != "imk" {
		t.Fatalf("open after two rotations: %v", err)
	}
}

func BenchmarkPKCS11(b *testing.B) { benchSealOpen(b, mustPKCS11(b, softToken(b))) }
