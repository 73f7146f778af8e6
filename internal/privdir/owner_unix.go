//go:build unix

package privdir

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a directory that belongs to another user: its owner
// could loosen it again whatever this process does.
func checkOwner(dir string, st fs.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(sys.Uid) != uid {
		return fmt.Errorf("directory %s belongs to uid %d, not to this process's uid %d: its owner could open it to others; chown it to the user that runs the host", dir, sys.Uid, uid)
	}
	return nil
}
