package keys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRingOpensOldAndRewraps(t *testing.T) {
	old, cur := mustEphemeral(t), mustEphemeral(t)
	oldBlob, _ := old.Seal([]byte("tmk-secret"), []byte("tmk/T1"))

	r, err := NewRing(cur, old)
	if err != nil {
		t.Fatal(err)
	}
	if r.CurrentID() != cur.ID() {
		t.Fatalf("current %s, want %s", r.CurrentID(), cur.ID())
	}
	if pt, err := r.Open(oldBlob, []byte("tmk/T1")); err != nil || string(pt) != "tmk-secret" {
		t.Fatalf("ring cannot open an old blob: %v", err)
	}
	newBlob, _ := r.Seal([]byte("tpk-secret"), []byte("tpk/T1"))
	if by, _ := SealedBy(newBlob); by != cur.ID() {
		t.Fatalf("ring sealed by %s, want the current %s", by, cur.ID())
	}

	moved, rewrapped, err := r.Rewrap(oldBlob, []byte("tmk/T1"))
	if err != nil || !rewrapped {
		t.Fatalf("Rewrap old: %v, rewrapped %v", err, rewrapped)
	}
	if by, _ := SealedBy(moved); by != cur.ID() {
		t.Fatalf("rewrapped blob sealed by %s", by)
	}
	if pt, err := cur.Open(moved, []byte("tmk/T1")); err != nil || string(pt) != "tmk-secret" {
		t.Fatalf("current KEK alone cannot open the rewrapped blob: %v", err)
	}
	// Resuming: a blob already under the current KEK comes back as is.
	same, rewrapped, err := r.Rewrap(moved, []byte("tmk/T1"))
	if err != nil || rewrapped || string(same) != string(moved) {
		t.Fatalf("Rewrap current: %v, rewrapped %v", err, rewrapped)
	}
	// Rewrap checks the old blob's aad before re-sealing it.
	if _, _, err := r.Rewrap(oldBlob, []byte("tmk/T2")); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Rewrap with wrong aad: %v", err)
	}

	// After the rotation the old KEK is gone: its blobs are refused by name.
	after, _ := NewRing(cur)
	_, err = after.Open(oldBlob, []byte("tmk/T1"))
	if !errors.Is(err, ErrUnknownKEK) || !strings.Contains(err.Error(), old.ID()) || !strings.Contains(err.Error(), cur.ID()) {
		t.Fatalf("old blob on the new ring: %v", err)
	}
}

func TestRingRefusesBadSets(t *testing.T) {
	a := mustSoftware(t, testKey)
	b := mustSoftware(t, testKey) // the same key: the same id
	if _, err := NewRing(a, b); err == nil || !strings.Contains(err.Error(), "two KEKs with id "+a.ID()) {
		t.Fatalf("duplicate ids: %v", err)
	}
	if _, err := NewRing(a, nil); err == nil {
		t.Fatal("nil KEK accepted")
	}
	many := []KEK{mustEphemeral(t), mustEphemeral(t), mustEphemeral(t), mustEphemeral(t)}
	if _, err := NewRing(a, many...); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("five KEKs: %v", err)
	}
}

// TestFileRotation walks the documented procedure, including a resumed
// begin and a repeated finish (crash recovery).
func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{}
	r0, err := OpenRing(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	oldID := r0.CurrentID()
	records := map[string][]byte{}
	for i := 0; i < 5; i++ {
		aad := fmt.Sprintf("tmk/T%07d", i)
		records[aad], _ = r0.Seal([]byte("secret "+aad), []byte(aad))
	}
	r0.Close()

	path := KeyFilePath(dir)
	r1, err := BeginFileRotation(path)
	if err != nil {
		t.Fatal(err)
	}
	newID := r1.CurrentID()
	if k, err := Open(cfg, dir); err != nil || k.ID() != newID {
		t.Fatalf("Open mid-rotation: %v; want the new KEK %s", err, newID)
	} else {
		k.Close()
	}
	if newID == oldID || len(r1.IDs()) != 2 || r1.IDs()[1] != oldID {
		t.Fatalf("rotation ring %v, want new then %s", r1.IDs(), oldID)
	}
	// Re-wrap two records, then "crash".
	n := 0
	for aad, blob := range records {
		if n == 2 {
			break
		}
		records[aad], _, _ = r1.Rewrap(blob, []byte(aad))
		n++
	}
	r1.Close()

	// Restart: OpenRing and a repeated Begin both resume the same rotation.
	r2, err := OpenRing(cfg, dir)
	if err != nil || r2.CurrentID() != newID {
		t.Fatalf("restart mid-rotation: current %v, %v; want %s", r2, err, newID)
	}
	again, err := BeginFileRotation(path)
	if err != nil || again.CurrentID() != newID {
		t.Fatalf("repeated begin: %v", err)
	}
	again.Close()
	rewrapped := 0
	for aad, blob := range records {
		out, did, err := r2.Rewrap(blob, []byte(aad))
		if err != nil {
			t.Fatal(err)
		}
		if did {
			rewrapped++
		}
		records[aad] = out
	}
	if rewrapped != 3 {
		t.Fatalf("resumed rotation re-wrapped %d records, want the 3 left", rewrapped)
	}
	r2.Close()

	// The checker's view: every blob under the new KEK.
	for aad, blob := range records {
		if by, _ := SealedBy(blob); by != newID {
			t.Fatalf("%s still sealed by %s", aad, by)
		}
	}
	if err := FinishFileRotation(path, oldID); err == nil {
		t.Fatal("finish with the wrong id accepted")
	}
	if err := FinishFileRotation(path, newID); err != nil {
		t.Fatal(err)
	}
	if err := FinishFileRotation(path, newID); err != nil {
		t.Fatalf("repeated finish: %v", err)
	}
	if _, err := os.Stat(NextKeyFile(path)); !os.IsNotExist(err) {
		t.Fatalf("%s left after finish", NextKeyFile(path))
	}
	r3, err := OpenRing(cfg, dir)
	if err != nil || len(r3.IDs()) != 1 || r3.CurrentID() != newID {
		t.Fatalf("after rotation: %v, %v", r3, err)
	}
	defer r3.Close()
	for aad, blob := range records {
		if pt, err := r3.Open(blob, []byte(aad)); err != nil || string(pt) != "secret "+aad {
			t.Fatalf("%s after rotation: %v", aad, err)
		}
	}
}

func TestFileRotationRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFileName)
	if _, err := BeginFileRotation(path); err == nil {
		t.Fatal("rotation of a key file that does not exist began")
	}
	k, _, _ := LoadOrCreateFile(path)
	k.Close()
	if err := FinishFileRotation(path, "soft:0000000000"); err == nil || !strings.Contains(err.Error(), "no rotation in progress") {
		t.Fatalf("finish without begin: %v", err)
	}
	r, _ := BeginFileRotation(path)
	r.Close()
	os.Remove(path) // an operator deleted the old key before finishing
	if _, err := OpenRing(Config{}, dir); err == nil || !strings.Contains(err.Error(), "restore") {
		t.Fatalf("next without current: %v", err)
	}
}

func TestEnvRotationRing(t *testing.T) {
	oldKEK := mustSoftware(t, testKey)
	blob, _ := oldKEK.Seal([]byte("pvd"), []byte("pvd/1"))
	t.Setenv("TEST_KEK", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
	t.Setenv("TEST_KEK_OLD", strings.Repeat("5c", KeyBytes))
	r, err := OpenRing(Config{Source: SourceEnv, Env: "TEST_KEK"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ids := r.IDs(); len(ids) != 2 || ids[1] != oldKEK.ID() {
		t.Fatalf("ring %v", ids)
	}
	if _, did, err := r.Rewrap(blob, []byte("pvd/1")); err != nil || !did {
		t.Fatalf("rewrap: %v", err)
	}
	if _, err := Open(Config{Source: "vault"}, ""); err == nil || !strings.Contains(err.Error(), `"vault"`) {
		t.Fatalf("unknown source: %v", err)
	}
}
