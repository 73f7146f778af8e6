package rig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ptyWait bounds how long a socat pty pair may take to create both
// links (it takes a few milliseconds; the bound is for a loaded machine).
const ptyWait = 5 * time.Second

// PtyPair is a socat process joining two pseudo-terminals, each reached
// by a symlink in a test's temp directory: the host opens Host, the
// simulated terminal POS. Bytes written to one are read from the other.
type PtyPair struct {
	Host, POS string // the link paths
	t         testing.TB
	cmd       *exec.Cmd
	done      chan struct{}
}

// NewPtyPair requires socat, starts a pair with links ttyHOST and ttyPOS
// in a new t.TempDir, and waits (with a deadline, polling for the links)
// until both exist. The pair is stopped when the test ends.
func NewPtyPair(t testing.TB) *PtyPair {
	t.Helper()
	dir := t.TempDir()
	return StartPtyPair(t, filepath.Join(dir, "ttyHOST"), filepath.Join(dir, "ttyPOS"))
}

// StartPtyPair starts a pair at the given link paths: a test that made
// a device vanish (Kill) brings it back at the same paths with this.
func StartPtyPair(t testing.TB, host, pos string) *PtyPair {
	t.Helper()
	Require(t, "socat", "socat")
	p := &PtyPair{Host: host, POS: pos, t: t, done: make(chan struct{})}
	p.cmd = exec.Command("socat", "pty,raw,echo=0,link="+host, "pty,raw,echo=0,link="+pos)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.Create(filepath.Join(filepath.Dir(host), fmt.Sprintf("socat-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	if err := p.cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start socat: %v", err)
	}
	go func() { p.cmd.Wait(); out.Close(); close(p.done) }()
	t.Cleanup(p.Kill)
	// socat creates the links after opening both ptys; there is no
	// event to wait on but their existence, so poll it with a deadline.
	deadline := time.Now().Add(ptyWait)
	for {
		_, e1 := os.Stat(host)
		_, e2 := os.Stat(pos)
		if e1 == nil && e2 == nil {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("socat exited before creating %s and %s", host, pos)
		default:
		}
		if time.Now().After(deadline) {
			p.Kill()
			t.Fatalf("socat did not create %s and %s within %v", host, pos, ptyWait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Kill stops the socat process and waits for it to exit: both ptys
// vanish and socat removes the links. Safe to call more than once.
func (p *PtyPair) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
	// socat removes its links on a clean exit only: after SIGKILL they
	// dangle, as a USB serial adapter's node does while it is unplugged.
	os.Remove(p.Host)
	os.Remove(p.POS)
}
