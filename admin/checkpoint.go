package admin

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cardcenter/cardcenter/internal/privdir"
)

// CheckpointRequest is POST /v1/checkpoint: where, on the host's file
// system, to write a consistent copy of the live store.
type CheckpointRequest struct {
	Dir string `json:"dir"`
}

// CheckpointResult says where the copy went and how long it took.
type CheckpointResult struct {
	Dir    string `json:"dir"`
	TookMs int64  `json:"took_ms"`
}

func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) {
	var in CheckpointRequest
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.Dir == "":
		writeError(w, http.StatusBadRequest, "dir", "dir: missing")
		return
	case !filepath.IsAbs(in.Dir):
		writeError(w, http.StatusBadRequest, "dir", "dir %q: want an absolute path on the host", in.Dir)
		return
	}
	if _, err := os.Stat(in.Dir); err == nil {
		writeError(w, http.StatusBadRequest, "dir", "dir %q: already exists; a checkpoint needs a new directory", in.Dir)
		return
	}
	// A backup holds every card's data: its directories are 0700 and its
	// files 0600, like the store's. Missing parents are made 0700 here
	// (Pebble would make them 0755); the copy itself is tightened after
	// it is written, since its tables are hard links to the store's.
	dir := filepath.Clean(in.Dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		writeError(w, http.StatusInternalServerError, "dir", "dir %q: %v", in.Dir, err)
		return
	}
	start := time.Now()
	if err := s.store.Checkpoint(dir); err != nil {
		writeError(w, http.StatusInternalServerError, "dir", "checkpoint: %v", err)
		return
	}
	if _, err := privdir.Secure(dir); err != nil {
		writeError(w, http.StatusInternalServerError, "dir", "checkpoint written, but %v", err)
		return
	}
	took := time.Since(start)
	s.log.Info().Str("dir", in.Dir).Int64("took_ms", took.Milliseconds()).Msg("admin: checkpoint written")
	writeJSON(w, http.StatusOK, CheckpointResult{Dir: in.Dir, TookMs: took.Milliseconds()})
}

// Checkpoint asks the host to write a consistent copy of its store into
// dir (absolute, on the host, not existing).
func (c *Client) Checkpoint(ctx context.Context, dir string) (*CheckpointResult, error) {
	var out CheckpointResult
	if err := c.doJSON(ctx, http.MethodPost, "/v1/checkpoint", CheckpointRequest{Dir: dir}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
