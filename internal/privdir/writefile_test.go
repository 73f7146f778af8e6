package privdir

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteFileReplaces: the file is replaced whole with mode 0600, and a
// temporary file a crash left behind is taken over, not added to.
func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "summary.csv")
	if err := os.WriteFile(path+".tmp", []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first\n", "second\n"} {
		if err := WriteFile(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		if err := SyncDir(dir); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != SecretFileMode {
		t.Fatalf("mode %v, %v", st.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries, want the file alone", len(ents))
	}
}
