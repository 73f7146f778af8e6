package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/keys"
)

// A rotation with the KEK in the environment and on a PKCS#11 token
// (SoftHSM2), driven the way an operator does it: the configuration
// changes between three openings of the store (old key; new key and old;
// new key alone), and keys.OpenRing builds each ring from it. These tests
// set process-wide variables: never parallel, and every ring is closed
// before the test ends.

func TestRotateEnvKEK(t *testing.T) {
	oldHex, newHex := randHex(t), randHex(t)
	t.Setenv(keys.DefaultEnv, oldHex)
	rotateThrough(t, &keys.Config{Source: keys.SourceEnv},
		func() { t.Setenv(keys.DefaultEnv, newHex); t.Setenv(keys.DefaultEnv+"_OLD", oldHex) },
		func() { os.Unsetenv(keys.DefaultEnv + "_OLD") })
}

func TestRotatePKCS11KEK(t *testing.T) {
	h := rig.NewSoftHSM(t)
	h.InitToken(t, "cardcenter-kek", "1234", "5678")
	cfg := keys.Config{Source: keys.SourcePKCS11, PKCS11: keys.PKCS11Config{
		Module: h.Module, TokenLabel: "cardcenter-kek", PIN: "1234", KeyLabel: "kek-1", CreateKey: true,
	}}
	p := &cfg.PKCS11
	rotateThrough(t, &cfg,
		func() { p.KeyLabel, p.OldKeyLabel = "kek-2", "kek-1" },
		func() { p.OldKeyLabel = "" })
}

// rotateThrough provisions a store under cfg's key, calls begin (the
// configuration of a rotation), re-wraps and checks, calls finish (the
// old key dropped) and checks the store opens and verifies without it.
// cfg is read again after each call (the callbacks may edit it).
func rotateThrough(t *testing.T, cfg *keys.Config, begin, finish func()) {
	ctx := context.Background()
	dir := t.TempDir()
	phase := func(wantIDs int, body func(s *Store, r *keys.Ring)) string {
		r, err := keys.OpenRing(*cfg, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if len(r.IDs()) != wantIDs {
			t.Fatalf("ring %v: want %d keys", r.IDs(), wantIDs)
		}
		s, err := Open(dir+"/ledger", Options{Sealer: r, PruneInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		body(s, r)
		return r.CurrentID()
	}
	var k *keyed
	const n, signed = 40, 10
	total := 2 + n + 2*signed
	oldID := phase(1, func(s *Store, r *keys.Ring) {
		k = provisionSealed(t, s, n, signed)
	})
	begin()
	newID := phase(2, func(s *Store, r *keys.Ring) {
		if rep, _, err := s.CheckSecrets(ctx); err != nil || rep.ByKEK[oldID] != total {
			t.Fatalf("before: %+v %v", rep, err)
		}
		if _, err := s.RewrapSecrets(ctx, r.Rewrap, RewrapOptions{Batch: 7}); err != nil {
			t.Fatal(err)
		}
		checkSettled(t, s, r.CurrentID(), total)
	})
	if newID == oldID {
		t.Fatalf("the rotation kept key %s", newID)
	}
	finish()
	phase(1, func(s *Store, r *keys.Ring) {
		checkSettled(t, s, newID, total)
		verifyKeyed(t, s, k)
	})
}

func randHex(t *testing.T) string {
	b := make([]byte, keys.KeyBytes)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
