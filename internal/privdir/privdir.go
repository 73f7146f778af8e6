package privdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// groupOther is every permission bit that is not the owner's.
const groupOther fs.FileMode = 0o077

// Report says what Secure did.
type Report struct {
	// Created: the directory did not exist and was made 0700.
	Created bool
	// WasMode is the directory's permissions before (0 when Created).
	WasMode fs.FileMode
	// Tightened counts the paths (the directory included) whose group and
	// other permissions were taken away.
	Tightened int
}

// Secure makes dir private: created 0700 when missing (with any missing
// parents, also 0700), or, when it exists, checked to belong to this
// process's user and tightened with everything under it. Errors name the
// directory and say how to fix it.
func Secure(dir string) (Report, error) {
	var rep Report
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return rep, fmt.Errorf("directory %s: %w", dir, err)
		}
		// MkdirAll's mode passes through the umask; make it exact.
		if err := os.Chmod(dir, 0o700); err != nil {
			return rep, fmt.Errorf("directory %s: %w", dir, err)
		}
		rep.Created = true
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("directory %s: %w", dir, err)
	case !st.IsDir():
		return rep, fmt.Errorf("directory %s: exists and is not a directory", dir)
	}
	rep.WasMode = st.Mode().Perm()
	if err := checkOwner(dir, st); err != nil {
		return rep, err
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 || !(d.IsDir() || d.Type().IsRegular()) {
			return nil // a link's target is not ours to change; nor a socket's
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode().Perm()
		if mode&groupOther == 0 {
			return nil
		}
		if err := os.Chmod(path, mode&^groupOther); err != nil {
			return err
		}
		rep.Tightened++
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("directory %s has permissions for others (mode %v) that cannot be taken away: %w; chmod -R go-rwx it, or run as its owner", dir, rep.WasMode, err)
	}
	return rep, nil
}
