package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// TokenFileName is the bearer token's file in the data directory.
	TokenFileName = "admin.token"
	// tokenBytes is the randomness of a generated token (hex-encoded).
	tokenBytes = 32
	// minTokenLen bounds how weak a token the server accepts.
	minTokenLen = 32
	// maxTokenFileBytes bounds what ReadToken reads.
	maxTokenFileBytes = 1024
)

// TokenPath is where the token of a data directory lives.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, TokenFileName) }

// LoadOrCreateToken returns the admin bearer token of a data directory,
// creating <dir>/admin.token (mode 0600, 32 random bytes in hex) when it
// does not exist yet. The file is created atomically, so two processes
// starting at once agree on one token. The token never appears in an error.
func LoadOrCreateToken(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	path := TokenPath(dir)
	tok, err := ReadToken(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("admin token: random: %w", err)
	}
	tok = hex.EncodeToString(raw)
	// Write a temporary file, sync it, then link it into place: the token
	// file is either absent or whole, and os.Link fails if another process
	// got there first.
	tmp, err := os.CreateTemp(dir, ".admin.token.*")
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("admin token: %w", err)
	}
	if _, err := io.WriteString(tmp, tok+"\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("admin token: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("admin token: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ReadToken(path) // another process won the race
		}
		return "", fmt.Errorf("admin token: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // make the new name durable; best effort
		d.Close()
	}
	return tok, nil
}

// ReadToken reads a token file. It refuses a file that others can read or
// write, and a token shorter than 32 characters.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("admin token: %s has mode %v: others may read it; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("admin token: read %s: %w", path, err)
	}
	if len(data) > maxTokenFileBytes {
		return "", fmt.Errorf("admin token: %s is larger than %d bytes", path, maxTokenFileBytes)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < minTokenLen || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("admin token: %s: want one token of at least %d characters (delete the file to have a new one made)", path, minTokenLen)
	}
	return tok, nil
}
