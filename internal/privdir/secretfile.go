package privdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Secret files: the admin token, the master key file, a PKCS#11 PIN file.
// Each is one small file of mode 0600 that must be either absent or whole,
// that two processes starting at once must agree on, and that no one else
// may read. Errors name the path and what is wrong, never the content.

// SecretFileMode is the only mode a secret file may have.
const SecretFileMode = 0o600

// ErrTooLarge is wrapped when a secret file is larger than its reader
// allows.
var ErrTooLarge = errors.New("file larger than allowed")

// ReadSecretFile reads a secret file of at most max bytes. It refuses a
// file that is not a regular file and one that others may read or write
// (the error says to chmod it). A missing file is an error wrapping
// fs.ErrNotExist.
func ReadSecretFile(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v)", path, st.Mode().Type())
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: others may read it; chmod 600 it", path, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > max {
		return nil, fmt.Errorf("%s: %w (%d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}

// CreateSecretFile writes data to path with mode 0600, atomically: a
// temporary file in the same directory, synced, then linked into place.
// os.Link, unlike rename, fails when the name exists, so the first file
// written wins and no process overwrites one in use; created is false, and
// err nil, when another process's file was there first. The directory is
// made 0700 if missing.
func CreateSecretFile(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(SecretFileMode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	SyncDir(dir) // best effort: the file is whole, and a lost name is made again
	return true, nil
}

// SyncDir makes the names created or renamed in dir durable. Callers
// for whom the name is a convenience (a secret file another start would
// make again) may ignore the error; for one that records a fact (a
// settlement file, an outbox segment) it is the write's error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
