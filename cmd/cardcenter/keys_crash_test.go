package main

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/terminal"
)

// TestKeysRotateKilled runs `cardcenter keys rotate` (the real binary)
// on a store of a few thousand terminals with TMKs, a third of them
// signed on with working keys, and kills it with SIGKILL at random
// points once it is re-sealing, each later than the one before. After
// every kill the store opens with the ring (both key files are there),
// the checker passes, and values are sealed by both keys. A last run
// finishes: the checker passes with every value under the new key, the
// old key file is gone, every key opens to what was provisioned, and
// the host starts: a terminal signed on before the rotation MACs a
// balance inquiry with its working keys, and one that was not signs on
// under its TMK and does the same. CARDCENTER_LONG=1 kills 10 times.
func TestKeysRotateKilled(t *testing.T) {
	kills := 3
	if os.Getenv("CARDCENTER_LONG") != "" {
		kills = 10
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	writeFile(t, cfgPath, "data_dir: "+filepath.Join(dir, "data")+"\nlog: {level: warn}\n"+
		"gateway: {listeners: [{addr: \"127.0.0.1:0\"}]}\nadmin: {addr: \"127.0.0.1:0\"}\n")
	c, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const n, signed = 3000, 1000
	k := provisionRotation(t, c, n, signed)
	total := 1 + 1 + n + 2*signed // PVK, IMK, TMKs, TPKs and TAKs
	oldID := inspectStore(t, c).Secrets.CurrentKEK

	// Kill i lands in the i-th of kills bands between 5% and 90% of the
	// values re-sealed, at a random point of it.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	lo := 0.05
	newID := ""
	for i := range kills {
		hi := 0.05 + 0.85*float64(i+1)/float64(kills)
		target := int(float64(total) * (lo + rng.Float64()*(hi-lo)))
		lo = hi
		done := killRotation(t, bin, cfgPath, total, target)
		if _, err := os.Stat(keys.NextKeyFile(keys.KeyFilePath(c.DataDir))); err != nil {
			t.Fatalf("after kill %d the new key file is gone: %v", i+1, err)
		}
		s := inspectStore(t, c).Secrets // the checker passes
		if newID == "" {
			newID = s.CurrentKEK
		}
		if s.CurrentKEK != newID || newID == oldID || s.Values != total ||
			s.ByKEK[oldID] == 0 || s.ByKEK[newID] < done || s.ByKEK[oldID]+s.ByKEK[newID] != total {
			t.Fatalf("after kill %d (at %d re-sealed): %+v", i+1, done, s)
		}
		t.Logf("kill %d (aimed at %d): %d of %d re-sealed when killed; checker: %d by the new key, %d by the old", i+1, target, done, total, s.ByKEK[newID], s.ByKEK[oldID])
	}

	out, err := exec.Command(bin, "keys", "rotate", "--config", cfgPath).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("resuming the rotation")) || !bytes.Contains(out, []byte("rotation finished")) {
		t.Fatalf("the resumed rotation: %v\n%s", err, out)
	}
	if _, err := os.Stat(keys.NextKeyFile(keys.KeyFilePath(c.DataDir))); !os.IsNotExist(err) {
		t.Fatalf("the new key file is still there: %v", err)
	}
	s := inspectStore(t, c).Secrets
	if !s.Settled() || s.CurrentKEK != newID || s.Values != total || len(s.ByKEK) != 1 {
		t.Fatalf("after the rotation: %+v", s)
	}
	verifyRotKeys(t, c, k)

	demo, err := filepath.Abs("../../testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := startBinary(t, bin, cfgPath, demo, dir)
	signOnAndMAC(t, h.addr, k, signed)
	// While it runs, a rotation is refused and changes nothing.
	out, err = exec.Command(bin, "keys", "rotate", "--config", cfgPath).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte(errHostRunning.Error())) {
		t.Fatalf("rotate with the host running: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "keys", "status", "--config", cfgPath).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("current master key: "+newID)) || bytes.Contains(out, []byte("under way")) {
		t.Fatalf("keys status through the host: %v\n%s", err, out)
	}
	h.stop(t, syscall.SIGTERM)
}

var progressLine = regexp.MustCompile(`^re-sealed (\d+) of (\d+)$`)

// killRotation runs the rotation until at least target of total values
// are re-sealed, as its progress lines say (each is printed after the
// values it counts are durable), kills it with SIGKILL and returns how
// many were re-sealed at the last line read. It fails if the rotation
// ends on its own first.
func killRotation(t *testing.T, bin, cfgPath string, total, target int) int {
	t.Helper()
	cmd := exec.Command(bin, "keys", "rotate", "--config", cfgPath, "--batch", "16")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				t.Fatalf("the rotation ended before %d of %d values were re-sealed: %v\n%s\n%s", target, total, err, strings.Join(seen, "\n"), &stderr)
			}
			seen = append(seen, line)
			m := progressLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			x, _ := strconv.Atoi(m[1])
			todo, _ := strconv.Atoi(m[2])
			if done := total - todo + x; done >= target {
				cmd.Process.Signal(syscall.SIGKILL)
				for range lines { // drain, so the reader ends
				}
				if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
					t.Fatalf("the rotation was not killed: %v\n%s", err, strings.Join(seen, "\n"))
				}
				return done
			}
		case <-timeout.C:
			t.Fatalf("no progress to %d of %d in 60 s:\n%s\n%s", target, total, strings.Join(seen, "\n"), &stderr)
		}
	}
}

// signOnAndMAC exchanges MACed balance inquiries with the host: as a
// terminal that was signed on before the rotation (its working keys,
// re-sealed, verify the MAC), and as one that signs on now (its TMK,
// re-sealed, sends the new working keys).
func signOnAndMAC(t *testing.T, addr string, k *rotKeys, signed int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fr, err := wire.ParseFraming("len2")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := wire.NewPackager("ascii")
	if err != nil {
		t.Fatal(err)
	}
	client, err := terminal.NewClient(terminal.ClientConfig{Dial: terminal.TCPDialer(addr), Framing: fr, Packager: pk})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	card := terminal.Card{PAN: rotPAN, Expiry: "4912"}

	before := rotTID(0)
	client.SetTAK(before, k.tak[before])
	t0, err := terminal.NewTerminal(terminal.TerminalConfig{TID: before, MID: rotMID, Conn: client})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := t0.Balance(ctx, card); err != nil || !res.Approved() {
		t.Fatalf("balance from %s with its pre-rotation keys: %v %+v", before, err, res)
	}

	fresh := rotTID(signed) // had a TMK, never signed on
	t1, err := terminal.NewTerminal(terminal.TerminalConfig{TID: fresh, MID: rotMID, Conn: client, TMK: k.tmk[fresh]})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := t1.SignOn(ctx); err != nil || !res.Approved() || !t1.HasKeys() {
		t.Fatalf("sign-on of %s: %v %+v", fresh, err, res)
	}
	if res, err := t1.Balance(ctx, card); err != nil || !res.Approved() {
		t.Fatalf("balance from %s after sign-on: %v %+v", fresh, err, res)
	}
}
