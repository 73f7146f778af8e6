package keys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/cardcenter/cardcenter/internal/privdir"
)

const (
	// KeyFileName is the master key file's name in the data directory.
	KeyFileName = "master.key"
	// maxKeyFileBytes bounds what a key file read takes in: 64 hex digits
	// and a line end, with room for a CRLF.
	maxKeyFileBytes = 2*KeyBytes + 2
)

// KeyFilePath is where the master key of a data directory lives.
func KeyFilePath(dataDir string) string { return filepath.Join(dataDir, KeyFileName) }

// LoadOrCreateFile opens the software KEK kept in a key file (64 hex digits
// and a newline, mode 0600), making the file with a fresh random key when
// it does not exist; created says which. The file is written atomically
// (temporary file, fsync, link into place), so it is either absent or
// whole, and two processes starting at once agree on one key.
func LoadOrCreateFile(path string) (k KEK, created bool, err error) {
	k, err = LoadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	key := make([]byte, KeyBytes)
	defer wipe(key)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("keys: master key file: random: %w", err)
	}
	won, err := createKeyFile(path, key)
	if err != nil {
		return nil, false, err
	}
	if !won { // another process made it first: use its key
		k, err = LoadFile(path)
		return k, false, err
	}
	k, err = NewSoftware(key)
	return k, true, err
}

// LoadFile opens the software KEK of an existing key file. It refuses a
// file others may read or write, a file that is not a regular file, and
// one that does not hold exactly one AES-256 key in hex; the error names
// the path and what is wrong, never the content. A missing file is an
// error wrapping fs.ErrNotExist.
func LoadFile(path string) (KEK, error) {
	raw, err := privdir.ReadSecretFile(path, maxKeyFileBytes)
	defer wipe(raw)
	if errors.Is(err, privdir.ErrTooLarge) {
		return nil, fmt.Errorf("keys: master key file %s: larger than %d bytes; want %d hex digits (an AES-256 key)", path, maxKeyFileBytes, 2*KeyBytes)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: master key file: %w", err)
	}
	key, err := decodeHexKey(raw)
	if err != nil {
		return nil, fmt.Errorf("keys: master key file %s: %v", path, err)
	}
	defer wipe(key)
	return NewSoftware(key)
}

// decodeHexKey reads 64 hex digits, optionally followed by "\n" or
// "\r\n". Its errors say what is wrong in sizes and positions only.
func decodeHexKey(raw []byte) ([]byte, error) {
	text := raw
	if n := len(text); n > 0 && text[n-1] == '\n' {
		text = text[:n-1]
		if n := len(text); n > 0 && text[n-1] == '\r' {
			text = text[:n-1]
		}
	}
	if len(text) != 2*KeyBytes {
		return nil, fmt.Errorf("want %d hex digits (an AES-256 key), found %d bytes", 2*KeyBytes, len(raw))
	}
	key := make([]byte, KeyBytes)
	if _, err := hex.Decode(key, text); err != nil {
		wipe(key)
		for i, c := range text {
			if !isHex(c) {
				return nil, fmt.Errorf("want %d hex digits, byte %d is not one", 2*KeyBytes, i)
			}
		}
		return nil, fmt.Errorf("want %d hex digits", 2*KeyBytes)
	}
	return key, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// createKeyFile writes key to path atomically with mode 0600. It returns
// false, nil when the file appeared meanwhile (another process won).
func createKeyFile(path string, key []byte) (bool, error) {
	text := make([]byte, 2*KeyBytes+1)
	defer wipe(text)
	hex.Encode(text, key)
	text[2*KeyBytes] = '\n'
	won, err := privdir.CreateSecretFile(path, text)
	if err != nil {
		return false, fmt.Errorf("keys: master key file: %w", err)
	}
	return won, nil
}

// syncDir makes a new or renamed name in dir durable (best effort).
func syncDir(dir string) { _ = privdir.SyncDir(dir) }
