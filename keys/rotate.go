package keys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// A file KEK rotates through a second file beside the first:
//
//	master.key            the key in use
//	master.key.next       the new key, present only during a rotation
//
// BeginFileRotation makes master.key.next; from then on OpenRing gives a
// ring whose current KEK is the new key and whose older KEK is the old
// one. The ledger re-wraps every record (Ring.Rewrap), its checker
// verifies every blob is SealedBy the new id, and FinishFileRotation
// renames master.key.next over master.key, which drops the old key. Each
// step is atomic and each can be repeated, so a crash anywhere leaves a
// state the next start resumes from: before Finish, both keys are on
// disk; after it, only the new one, and every blob is under it.

// NextKeyFile is the file of the key a rotation moves to.
func NextKeyFile(path string) string { return path + ".next" }

// BeginFileRotation starts (or, after a crash, resumes) the rotation of
// the key file at path: it makes path.next with a fresh key unless it
// exists, and returns the ring of the new key (current) and the old.
func BeginFileRotation(path string) (*Ring, error) {
	if _, err := LoadFile(path); err != nil {
		return nil, fmt.Errorf("keys: begin rotation: %w", err)
	}
	next, _, err := LoadOrCreateFile(NextKeyFile(path))
	if err != nil {
		return nil, fmt.Errorf("keys: begin rotation: %w", err)
	}
	next.Close()
	return openFileRing(path, true)
}

// FinishFileRotation ends the rotation of the key file at path: it
// renames path.next over path, which destroys the old key. newID must be
// the id of path.next (Ring.CurrentID of the ring the records were
// re-wrapped and checked with), so that a rotation is finished only by
// the process that verified it. A rotation already finished (no
// path.next, and path holds newID) is not an error.
//
// Backups taken before the rotation are sealed by the old key: keep a
// copy of the old key with them, offline, before finishing, if they must
// stay restorable.
func FinishFileRotation(path, newID string) error {
	next, err := LoadFile(NextKeyFile(path))
	if errors.Is(err, fs.ErrNotExist) {
		cur, cerr := LoadFile(path)
		if cerr != nil {
			return fmt.Errorf("keys: finish rotation: %w", cerr)
		}
		defer cur.Close()
		if cur.ID() == newID {
			return nil // finished before a crash
		}
		return fmt.Errorf("keys: finish rotation: no rotation in progress (%s holds %s, not %s)", path, cur.ID(), newID)
	}
	if err != nil {
		return fmt.Errorf("keys: finish rotation: %w", err)
	}
	defer next.Close()
	if next.ID() != newID {
		return fmt.Errorf("keys: finish rotation: %s holds %s, not %s: re-wrap and check with the ring OpenRing gives now", NextKeyFile(path), next.ID(), newID)
	}
	if err := os.Rename(NextKeyFile(path), path); err != nil {
		return fmt.Errorf("keys: finish rotation: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// openFileRing opens the key file and, when present, its successor.
// Without mustRotate a missing key file is made (first start).
func openFileRing(path string, mustRotate bool) (*Ring, error) {
	next, err := LoadFile(NextKeyFile(path))
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustRotate:
		cur, _, err := LoadOrCreateFile(path)
		if err != nil {
			return nil, err
		}
		return NewRing(cur)
	case err != nil:
		return nil, err
	}
	old, err := LoadFile(path)
	if err != nil {
		next.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keys: %s exists but %s does not: a rotation cannot have dropped the old key before renaming the new one; restore %s from backup", NextKeyFile(path), path, path)
		}
		return nil, err
	}
	r, err := NewRing(next, old)
	if err != nil {
		next.Close()
		old.Close()
	}
	return r, err
}
