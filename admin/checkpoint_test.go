package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// A checkpoint of the live store opens as a store of its own with the
// same balances, and passes the checker; a second one into the same
// directory, or a relative path, is refused with the field named. The
// copy is private even under a loose umask: 0700 directories (the parent
// it made too), 0600 files.
func TestCheckpoint(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o022))
	e := newEnv(t)
	ctx := context.Background()
	pan := e.pan("alice")
	if _, err := e.client.Adjust(ctx, pan, AdjustRequest{Amount: "-12.34", Note: "before backup"}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup", "ledger")
	if _, err := e.client.Checkpoint(ctx, dir); err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, p := range []string{filepath.Dir(dir), dir} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v, want 0700", p, st.Mode().Perm(), err)
		}
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", p, st.Mode().Perm(), err)
		}
		return nil
	})
	if files == 0 {
		t.Fatal("checkpoint has no files")
	}
	for _, bad := range []string{dir, "relative/dir", ""} {
		raw, _ := json.Marshal(CheckpointRequest{Dir: bad})
		status, body, _ := e.raw("POST", "/v1/checkpoint", e.token, bytes.NewReader(raw))
		if status != 400 || body.Field != "dir" {
			t.Errorf("checkpoint to %q: status %d field %q, want 400 dir", bad, status, body.Field)
		}
	}
	live, err := e.store.CardBalances(pan)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ledger.Open(dir, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.CardBalances(pan)
	if err != nil {
		t.Fatal(err)
	}
	if got != live {
		t.Fatalf("checkpoint balances %+v, live %+v", got, live)
	}
	rep, err := cp.Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("check of the checkpoint: %v %v", err, rep.Problems)
	}
}
