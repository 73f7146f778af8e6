package admin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardcenter/cardcenter/internal/privdir"
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
	won, err := privdir.CreateSecretFile(path, []byte(tok+"\n"))
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	if !won {
		return ReadToken(path) // another process won the race
	}
	return tok, nil
}

// ReadToken reads a token file. It refuses a file that others can read or
// write, and a token shorter than 32 characters.
func ReadToken(path string) (string, error) {
	data, err := privdir.ReadSecretFile(path, maxTokenFileBytes)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) < minTokenLen || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("admin token: %s: want one token of at least %d characters (delete the file to have a new one made)", path, minTokenLen)
	}
	return tok, nil
}
