package rig

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The PC/SC rig (shared/device-rig.md): a real pcscd with the vsmartcard
// vpcd driver, whose reader "Virtual PCD 00 00" gets a card whenever a
// program (internal/vcard) connects to localhost:35963.
const (
	// VPCDDriver is the pcscd driver of the Debian package vsmartcard-vpcd.
	VPCDDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
	// PCSCDSocket exists while pcscd serves clients.
	PCSCDSocket  = "/run/pcscd/pcscd.comm"
	pcscdPIDFile = "/run/pcscd/pcscd.pid"
	// VPCDPortHex is vpcd's port 35963 as /proc/net/tcp writes it.
	VPCDPortHex = "8C7B"
	// VPCDReaderPrefix names vpcd's readers; the suffix can differ.
	VPCDReaderPrefix = "Virtual PCD"
	// pcscdLock serialises pcscd rigs across test processes: vpcd has one
	// port, so two packages' tests must not share it at once. It is
	// flock(2)ed, so a crashed holder releases it.
	pcscdLock = "/run/lock/cardcenter-pcscd.lock"
	// pcscdStartTimeout bounds pcscd's start: ~7 s the first time on a
	// machine, ~0.2 s later.
	pcscdStartTimeout = 30 * time.Second
	pcscdStopTimeout  = 10 * time.Second
	rigPollInterval   = 10 * time.Millisecond
)

var pcscd struct {
	once    sync.Once
	err     error // why the rig is not there
	missing string
	lock    *os.File
	cmd     *exec.Cmd // nil when a pcscd we did not start was already serving
	exited  chan struct{}
	logPath string
}

// PCSCD requires pcscd and vpcd, and starts pcscd for this test process
// on first use (later calls share it); StopPCSCD, from TestMain, stops it.
// Without the packages it skips naming them, and under CI fails. A pcscd
// already running (started by someone else) is used as it is and never
// stopped.
func PCSCD(t testing.TB) {
	t.Helper()
	Require(t, "pcscd", "pcscd")
	RequireFile(t, "vsmartcard-vpcd", VPCDDriver)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("rig under CI: pcscd needs root (it writes /run/pcscd)")
		}
		t.Skip("pcscd rig needs root (it writes /run/pcscd): run make test as root")
	}
	pcscd.once.Do(startPCSCD)
	if pcscd.err != nil {
		t.Fatalf("pcscd rig: %v (log %s)", pcscd.err, pcscd.logPath)
	}
}

func startPCSCD() {
	lock, err := os.OpenFile(pcscdLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		pcscd.err = fmt.Errorf("lock file: %w", err)
		return
	}
	// Blocks while another test process holds the rig; it is released by
	// StopPCSCD or that process's exit.
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		pcscd.err = fmt.Errorf("lock %s: %w", pcscdLock, err)
		return
	}
	pcscd.lock = lock
	if pid := runningPCSCD(); pid > 0 {
		// Someone else's pcscd (a developer's, or the system's): use it if
		// it has vpcd, never stop it.
		pcscd.err = waitFor(func() bool { return vpcdListening() }, pcscdStartTimeout, "vpcd port 35963 of the running pcscd (pid %d)", pid)
		return
	}
	if err := reserveVPCDPorts(); err != nil {
		pcscd.err = err
		return
	}
	dir, err := os.MkdirTemp("", "cardcenter-pcscd-")
	if err != nil {
		pcscd.err = err
		return
	}
	pcscd.logPath = filepath.Join(dir, "pcscd.log")
	logf, err := os.Create(pcscd.logPath)
	if err != nil {
		pcscd.err = err
		return
	}
	defer logf.Close()
	cmd := exec.Command("pcscd", "--foreground", "--debug", "--apdu")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pcscd.err = fmt.Errorf("start pcscd: %w", err)
		return
	}
	pcscd.cmd = cmd
	pcscd.exited = make(chan struct{})
	go func() { cmd.Wait(); close(pcscd.exited) }()
	pcscd.err = waitFor(func() bool {
		select {
		case <-pcscd.exited:
			return true
		default:
		}
		_, err := os.Stat(PCSCDSocket)
		return err == nil && vpcdListening()
	}, pcscdStartTimeout, "pcscd socket %s and vpcd port 35963", PCSCDSocket)
	select {
	case <-pcscd.exited:
		pcscd.err = fmt.Errorf("pcscd exited at start: %v", cmd.ProcessState)
	default:
	}
}

// StopPCSCD stops the pcscd PCSCD started, if any, and releases the rig's
// lock. Call it from TestMain after m.Run.
func StopPCSCD() {
	if pcscd.cmd != nil {
		pcscd.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pcscd.exited:
		case <-time.After(pcscdStopTimeout):
			pcscd.cmd.Process.Kill()
			<-pcscd.exited
		}
		pcscd.cmd = nil
	}
	if pcscd.lock != nil {
		pcscd.lock.Close() // releases the flock
		pcscd.lock = nil
	}
}

// runningPCSCD is the pid in pcscd's pid file when that process lives
// (the file may hold trailing junk: digits only are read).
func runningPCSCD() int {
	raw, err := os.ReadFile(pcscdPIDFile)
	if err != nil {
		return 0
	}
	pid := 0
	for _, c := range strings.TrimSpace(string(raw)) {
		if c < '0' || c > '9' {
			break
		}
		pid = pid*10 + int(c-'0')
	}
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// vpcdListening reports whether some socket listens on port 35963, read
// from /proc/net/tcp and tcp6: connecting would insert a card.
func vpcdListening() bool {
	for _, path := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// local_address is ADDR:PORT; st 0A is LISTEN.
			if len(fields) > 3 && strings.HasSuffix(fields[1], ":"+VPCDPortHex) && fields[3] == "0A" {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// waitFor checks cond until it holds or the timeout passes. There is no
// notification for "a file appears" or "a port listens", so this is a
// bounded condition wait, not a sleep standing in for one.
func waitFor(cond func() bool, timeout time.Duration, what string, a ...any) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(rigPollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("no "+what+" after %v", append(a, timeout)...)
		}
		<-tick.C
	}
	return nil
}

// vpcd listens on 35963 and, for its second reader, 35964: both inside
// Linux's default ephemeral port range (32768–60999), so an outgoing
// connection of a test running in parallel can take 35964 first, and
// vpcd then fails ("Address already in use") and pcscd drops both
// readers. reserveVPCDPorts takes them out of the ephemeral range
// (ip_local_reserved_ports, which only stops the kernel from choosing
// them on its own; vpcd still binds them).
const (
	vpcdPorts         = "35963-35964"
	reservedPortsFile = "/proc/sys/net/ipv4/ip_local_reserved_ports"
)

func reserveVPCDPorts() error {
	cur, err := os.ReadFile(reservedPortsFile)
	if err != nil {
		return fmt.Errorf("reserve vpcd's ports: %w", err)
	}
	list := strings.TrimSpace(string(cur))
	if strings.Contains(list, vpcdPorts) {
		return nil
	}
	if list != "" {
		list += ","
	}
	if err := os.WriteFile(reservedPortsFile, []byte(list+vpcdPorts), 0o644); err != nil {
		return fmt.Errorf("reserve vpcd's ports %s in %s: %w", vpcdPorts, reservedPortsFile, err)
	}
	return nil
}
