package privdir

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data so that a crash leaves the old file
// or the new one, never a part: data goes to path+".tmp" (mode 0600),
// is synced, and is renamed over path. The new name is durable once the
// caller has synced the directory (SyncDir) — once for a set of files
// written together, not once per file. The temporary name is fixed, so a
// rerun after a crash replaces a leftover instead of adding another: one
// writer per path at a time.
func WriteFile(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, SecretFileMode)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
