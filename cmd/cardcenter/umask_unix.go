//go:build unix

package main

import "syscall"

// privateUmask makes every file and directory the process creates private
// to its user (0600 files, 0700 directories): Pebble's tables, WAL and
// manifests, checkpoints, the admin token, the POS state files. It runs
// first thing in main, before any goroutine creates a file; the umask is
// per process, so it does not leak into the shell.
func privateUmask() { syscall.Umask(0o077) }
