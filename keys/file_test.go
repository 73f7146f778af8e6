package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFileCreatedThenLoaded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFileName)
	k, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("first start: created %v, %v", created, err)
	}
	defer k.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	raw, _ := os.ReadFile(path)
	if len(raw) != 65 || raw[64] != '\n' {
		t.Fatalf("key file of %d bytes, want 64 hex digits and a newline", len(raw))
	}
	sealed, _ := k.Seal([]byte("tmk"), []byte("tmk/T1"))

	k2, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("second start: created %v, %v", created, err)
	}
	defer k2.Close()
	if k2.ID() != k.ID() {
		t.Fatalf("reloaded id %s, want %s", k2.ID(), k.ID())
	}
	if pt, err := k2.Open(sealed, []byte("tmk/T1")); err != nil || string(pt) != "tmk" {
		t.Fatalf("reloaded key cannot open: %v", err)
	}
	// The same key from the environment is the same KEK.
	t.Setenv("TEST_KEK", strings.TrimSpace(string(raw)))
	k3, err := FromEnv("TEST_KEK")
	if err != nil || k3.ID() != k.ID() {
		t.Fatalf("same key via env: id %v, %v", k3, err)
	}
}

// TestFileCreateRace: processes (here goroutines) starting at once agree
// on one key.
func TestFileCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	ids := make([]string, 8)
	made := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, created, err := LoadOrCreateFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], made[i] = k.ID(), created
			k.Close()
		})
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
		if made[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d callers say they created the key, want 1", n)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestFileRefused(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, KeyBytes)
	good := []byte(hex.EncodeToString(key) + "\n")
	cases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"group-readable", good, 0o640, "others may read it; chmod 600"},
		{"world-readable", good, 0o644, "others may read it; chmod 600"},
		{"short", good[:40], 0o600, "want 64 hex digits (an AES-256 key), found 40 bytes"},
		{"long", append(bytes.Clone(good), "00\n"...), 0o600, "larger than 66 bytes"},
		{"one extra", append(bytes.Clone(good[:64]), "0\n"...), 0o600, "found 66 bytes"},
		{"empty", nil, 0o600, "found 0 bytes"},
		{"not hex", append([]byte("zz"), good[2:]...), 0o600, "byte 0 is not one"},
		{"two lines", []byte(hex.EncodeToString(key[:16]) + "\n" + hex.EncodeToString(key[16:])), 0o600, "found 65 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), KeyFileName)
			if err := os.WriteFile(path, c.content, c.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, c.mode) // umask may have narrowed it
			before, _ := os.ReadFile(path)
			_, created, err := LoadOrCreateFile(path)
			if err == nil || created || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err %v (created %v), want one naming %s and saying %q", err, created, path, c.want)
			}
			assertNoSecret(t, err, key, c.content)
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Fatal("a refused key file was changed")
			}
		})
	}
	// A directory in the key file's place.
	dir := filepath.Join(t.TempDir(), KeyFileName)
	os.Mkdir(dir, 0o700)
	if _, _, err := LoadOrCreateFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory as key file: %v", err)
	}
	// CRLF is accepted: the file may have been edited on Windows.
	path := filepath.Join(t.TempDir(), KeyFileName)
	os.WriteFile(path, []byte(hex.EncodeToString(key)+"\r\n"), 0o600)
	if _, err := LoadFile(path); err != nil {
		t.Fatalf("CRLF key file: %v", err)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent file: %v, want fs.ErrNotExist", err)
	}
}

func TestEnvRefused(t *testing.T) {
	key := bytes.Repeat([]byte{0xcd}, KeyBytes)
	good := hex.EncodeToString(key)
	cases := []struct{ name, value, want string }{
		{"short", good[:62], "want 64 hex digits (an AES-256 key), found 62 bytes"},
		{"long", good + "00", "found 66 bytes"},
		{"not hex", good[:10] + "g" + good[11:], "byte 10 is not one"},
		{"newline", good + "\n", "ends in a newline"},
		{"empty", "", "is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TEST_KEK", c.value)
			_, err := FromEnv("TEST_KEK")
			if err == nil || !strings.Contains(err.Error(), "TEST_KEK") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming TEST_KEK and saying %q", err, c.want)
			}
			assertNoSecret(t, err, key, []byte(c.value))
		})
	}
	if _, err := FromEnv("TEST_KEK_UNSET_FOR_SURE"); err == nil || !strings.Contains(err.Error(), "TEST_KEK_UNSET_FOR_SURE is not set") {
		t.Fatalf("unset: %v", err)
	}
	t.Setenv("TEST_KEK", strings.ToUpper(good))
	if k, err := FromEnv("TEST_KEK"); err != nil || k.ID() != mustSoftware(t, key).ID() {
		t.Fatalf("upper-case hex: %v", err)
	}
}
