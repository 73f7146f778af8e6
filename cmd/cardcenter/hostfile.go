package main

// How the CLI finds a running host. A host writes DATA/host.json once it
// listens (where its gateway and admin API are, and its pid) and removes it
// when it stops cleanly. The CLI's verbs then need no address flags: they
// take the data directory (--data, else the one of the host running from
// this directory) and read the host's addresses and admin token from it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cardcenter/cardcenter/gateway"
)

const (
	// hostFileName is the running host's address file in its data directory.
	hostFileName = "host.json"
	// demoDataDir is where `cardcenter demo` (make run) keeps its store.
	demoDataDir = "var/demo"
	// maxHostFileBytes bounds what readHostFile reads.
	maxHostFileBytes = 64 << 10
)

// hostInfo is the content of a host file and of a --ready-file.
type hostInfo struct {
	// Gateway are the bound gateway addresses, in listener order (kept for
	// scripts that read a ready file).
	Gateway []string `json:"gateway"`
	// Listeners are the same with their framing and packager.
	Listeners []gateway.ListenerConfig `json:"listeners"`
	Admin     string                   `json:"admin"`
	DataDir   string                   `json:"data_dir"`
	PID       int                      `json:"pid"`
}

// hostInfoOf describes a running host.
func hostInfoOf(m *Main) hostInfo {
	h := hostInfo{Admin: m.adminLn.Addr().String(), DataDir: m.Config.DataDir, PID: os.Getpid()}
	// Addrs are the TCP listeners' addresses, in order; serial listeners
	// have none and are not listed (pos --serial names its device).
	addrs := m.Gateway.Addrs()
	for _, lc := range m.Config.Gateway.Listeners {
		if lc.Kind == gateway.KindSerial || len(addrs) == 0 {
			continue
		}
		lc.Addr, addrs = addrs[0].String(), addrs[1:]
		h.Gateway = append(h.Gateway, lc.Addr)
		h.Listeners = append(h.Listeners, lc)
	}
	return h
}

// writeHostInfo writes h to path atomically (temporary file, rename), so a
// reader sees the old file, the new one or none.
func writeHostInfo(path string, h hostInfo) error {
	raw, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// errNoHost says that a data directory has no running host.
var errNoHost = errors.New("no host running")

// readHostFile returns the host running from dataDir. A missing file, or
// one left behind by a host that was killed (its pid is gone), is errNoHost.
func readHostFile(dataDir string) (*hostInfo, error) {
	path := filepath.Join(dataDir, hostFileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dataDir, errNoHost)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxHostFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(raw) > maxHostFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxHostFileBytes)
	}
	var h hostInfo
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if h.Admin == "" || h.PID <= 0 {
		return nil, fmt.Errorf("%s: no admin address or pid", path)
	}
	if !processAlive(h.PID) {
		return nil, fmt.Errorf("%s (pid %d is gone): %w", path, h.PID, errNoHost)
	}
	return &h, nil
}

// processAlive reports whether a process with that pid exists (signal 0).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// runningDataDir is the CLI's data directory when --data is not given:
// var/data, or var/demo when a host (make run's demo) runs there and none
// runs from var/data.
func runningDataDir() string {
	for _, d := range []string{defaultDataDir, demoDataDir} {
		if _, err := readHostFile(d); err == nil {
			return d
		}
	}
	return defaultDataDir
}
