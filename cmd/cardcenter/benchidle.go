package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/terminal"
)

// Memory at scale (bench --idle-conns N): before the load runs, N
// terminal connections are opened to the host, each sends one 0800/301
// echo (so that the host has accepted it and its reader is waiting, as
// for a terminal between two purchases) and then stays idle; the host's
// resident memory (VmRSS of its process) is read before the first and
// after the last, and the connections are closed. Every connection is
// two file descriptors on this machine (one a side), so both processes
// raise RLIMIT_NOFILE first, as far as the hard limit allows.

const (
	// idleDialers open the idle connections at once.
	idleDialers = 32
	// idleTimeout bounds each idle connection's dial and echo.
	idleTimeout = 30 * time.Second
	// fdReserve is what a process needs beside the idle connections: the
	// load's connections, the store's files, the listeners.
	fdReserve = 1024
)

// idleReport is the memory of the host's idle connections.
type idleReport struct {
	conns         int
	before, after int64 // VmRSS, bytes
	inProcess     bool
}

func (r *idleReport) String() string {
	s := fmt.Sprintf("Idle terminal connections (`--idle-conns %d`): host resident memory %.1f MiB before, %.1f MiB with %d connections open, %.1f KiB per connection.",
		r.conns, mib(r.before), mib(r.after), r.conns, float64(r.after-r.before)/1024/float64(r.conns))
	if r.inProcess {
		s += " (Host and load generator in one process: both ends of every connection are counted.)"
	}
	return s
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// raiseOpenFiles raises this process's RLIMIT_NOFILE to hold n
// connections beside fdReserve, as far as the hard limit allows, and
// fails naming --idle-conns when that is not enough.
func raiseOpenFiles(n int) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return fmt.Errorf("--idle-conns %d: reading the open-file limit: %w", n, err)
	}
	want := uint64(n) + fdReserve
	if rl.Cur < want {
		rl.Cur = min(want, rl.Max)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			return fmt.Errorf("--idle-conns %d: raising the open-file limit to %d: %w", n, rl.Cur, err)
		}
	}
	if rl.Cur < want {
		return fmt.Errorf("--idle-conns %d: needs %d open files, the hard limit (ulimit -Hn) is %d", n, want, rl.Max)
	}
	return nil
}

// vmRSS is process pid's resident memory from /proc/PID/status.
func vmRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(raw)
}

// parseVmRSS reads the VmRSS line ("VmRSS:   12345 kB") of a status file.
func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("VmRSS line %q: want a count of kB", sc.Text())
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("VmRSS line %q: want a count of kB", sc.Text())
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line in the status file")
}

// measureIdle opens o.idleConns connections from lts' terminals, reads
// the host's memory, and closes them.
func (b *benchRun) measureIdle(fr wire.Framing, pk wire.Packager, lts []terminal.LoadTerminal) error {
	n := b.o.idleConns
	fmt.Fprintf(b.out, "\n== %d idle terminal connections\n", n)
	waitIdle(b.h.clocks)
	before, err := vmRSS(b.h.pid)
	if err != nil {
		return fmt.Errorf("--idle-conns: host memory: %w", err)
	}
	conns := make([]*terminal.RawConn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	f7 := time.Now().UTC().Format("0102150405")
	err = inParallel(idleDialers, n, func(i int) error {
		c, err := terminal.DialRaw(b.ctx, terminal.TCPDialer(b.h.addr), fr, idleTimeout)
		if err != nil {
			return fmt.Errorf("--idle-conns: connection %d: %w", i+1, err)
		}
		conns[i] = c
		lt := lts[i%len(lts)]
		m := wire.NewMessage("0800").Set(41, lt.TID).Set(42, lt.MID).Set(70, "301").
			Set(11, fmt.Sprintf("%06d", i/len(lts)%999_999+1)).Set(7, f7)
		frame, err := terminal.Frame(fr, pk, nil, m)
		if err != nil {
			return err
		}
		if _, _, err := c.RoundTrip(frame); err != nil {
			return fmt.Errorf("--idle-conns: echo on connection %d: %w", i+1, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	after, err := vmRSS(b.h.pid)
	if err != nil {
		return fmt.Errorf("--idle-conns: host memory: %w", err)
	}
	b.idle = &idleReport{conns: n, before: before, after: after, inProcess: b.o.inProcess}
	fmt.Fprintf(b.out, "%s\n", b.idle)
	return nil
}
