package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// A checkpoint of the live store opens as a store of its own with the
// same balances, and passes the checker; a second one into the same
// directory, or a relative path, is refused with the field named.
func TestCheckpoint(t *testing.T) {
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
