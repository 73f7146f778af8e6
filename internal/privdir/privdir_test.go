//go:build unix

package privdir

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// A missing directory is made 0700 whatever the umask.
func TestSecureCreates(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "a", "data")
	rep, err := Secure(dir)
	if err != nil || !rep.Created {
		t.Fatalf("Secure: %+v %v", rep, err)
	}
	if got := perm(t, dir); got != 0o700 {
		t.Fatalf("new directory mode %v, want 0700", got)
	}
}

// An existing directory made the old way (0755 directories, 0644 files) is
// tightened to 0700/0600 throughout; owner bits are never added; a
// symbolic link's target is left alone; a second pass changes nothing.
func TestSecureTightensExisting(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	outside := filepath.Join(root, "outside")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "ledger", "sub"), 0o755))
	must(os.Chmod(dir, 0o755))
	must(os.Chmod(filepath.Join(dir, "ledger"), 0o755))
	must(os.Chmod(filepath.Join(dir, "ledger", "sub"), 0o775))
	for name, mode := range map[string]fs.FileMode{"ledger/000001.sst": 0o644, "ledger/MANIFEST-000001": 0o664, "ledger/sub/x": 0o444, "admin.token": 0o600} {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, []byte("x"), mode))
		must(os.Chmod(p, mode))
	}
	must(os.WriteFile(outside, []byte("x"), 0o644))
	must(os.Chmod(outside, 0o644))
	must(os.Symlink(outside, filepath.Join(dir, "link")))

	rep, err := Secure(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created || rep.WasMode != 0o755 || rep.Tightened != 6 {
		t.Fatalf("report %+v, want was 0755 and 6 paths tightened", rep)
	}
	for name, want := range map[string]fs.FileMode{
		".": 0o700, "ledger": 0o700, "ledger/sub": 0o700,
		"ledger/000001.sst": 0o600, "ledger/MANIFEST-000001": 0o600, "ledger/sub/x": 0o400, "admin.token": 0o600,
	} {
		if got := perm(t, filepath.Join(dir, name)); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}
	if got := perm(t, outside); got != 0o644 {
		t.Errorf("a link's target was changed to %v", got)
	}
	if rep, err := Secure(dir); err != nil || rep.Tightened != 0 {
		t.Fatalf("second pass: %+v %v", rep, err)
	}
}

// A directory of another user, or a path that is a file, is refused with
// a message that says why.
func TestSecureRefuses(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Secure(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("file: %v", err)
	}
	if os.Getuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	other := filepath.Join(root, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	_, err := Secure(other)
	if err == nil || !strings.Contains(err.Error(), "belongs to uid 12345") || !strings.Contains(err.Error(), "chown") {
		t.Fatalf("other owner: %v", err)
	}
	if got := perm(t, other); got != 0o755 {
		t.Fatalf("a refused directory was changed to %v", got)
	}
}
