package main

// The POS simulator with contract section 7 on, against a real host with
// the demo data: working keys at sign-on, MACs both ways, PINs, chip
// cards with rising ATCs and verified ARPCs; in a scenario file and in
// one-shot commands.

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/provision"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestPOSWithKeysPINAndChip(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	m := &Main{Config: testHostConfig(t, filepath.Join(dir, "data")), Log: zerolog.Nop(), DemoFile: adminTestDemo}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	f, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	addr := m.Gateway.Addrs()[0].String()
	state := filepath.Join(dir, "pos")

	// A scenario: every card line is MACed both ways; PINs from the
	// cardholder or the line; chip cards on two terminals keep counting.
	scenario := filepath.Join(dir, "sec.pos")
	adminWriteFile(t, scenario, `signon
purchase card=mei amount=20.00
purchase card=mei amount=150.00
purchase card=mei amount=150.00 pin=0000 expect=55
purchase card=mei amount=150.00 pin=none expect=55
purchase card=alice amount=8.00 entry=chip
balance card=mei entry=chip
keychange
purchase card=bob amount=1.00
terminal 2
signon
purchase card=alice amount=2.00 entry=chip
`)
	var out strings.Builder
	err = cliRunTo(t, &out, "pos", "run", scenario, "--addr", addr, "--cards", adminTestDemo, "--state-dir", state)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	wants := []string{
		"T0000101 signon .* 00 approved .* keys=ok",
		"20.00  00 approved .* mac=ok$",                      // below 100.00: no PIN asked
		"150.00  00 approved .* pin=entered mac=ok$",         // her PIN, from the file
		"150.00  55 .* pin=entered mac=ok$",                  // a wrong one
		"150.00  55 wrong or missing PIN +mac=ok$",           // none
		"8.00  00 approved .* mac=ok atc=1 arpc=ok$",         // chip
		"balance .* 00 .* pin=entered mac=ok atc=1 arpc=ok$", // chip and PIN: balance inquiries need one
		"keychange .* 00 approved .* keys=ok$",               // new keys
		"1.00  00 approved .* mac=ok$",                       // MACed under the new TAK
		"T0000102 signon .* keys=ok$",
		"T0000102 purchase .* 2.00  00 .* atc=2 arpc=ok$", // the card's counter travelled
	}
	if len(lines) != len(wants) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wants), out.String())
	}
	for i, want := range wants {
		if !matchLine(want, lines[i]) {
			t.Errorf("line %d: %q does not match %q", i+1, lines[i], want)
		}
	}
	adminNoClearPAN(t, f, out.String())
	if strings.Contains(out.String(), "1234") {
		t.Errorf("a PIN in the output:\n%s", out.String())
	}

	// One-shot commands continue the same terminal state: the chip's ATC
	// keeps rising (the highest over both terminals' state files), the
	// cardholder's PIN is entered when asked, --pin and --no-pin override.
	oneShot := func(wantCode int, want string, args ...string) {
		t.Helper()
		var o strings.Builder
		err := cliRunTo(t, &o, append(append([]string{"pos"}, args...), "--addr", addr, "--cards", adminTestDemo, "--state-dir", state)...)
		text := o.String() + errString(err)
		if got := exitCode(err); got != wantCode || !matchLine(want, text) {
			t.Errorf("pos %s: exit %d, want %d; %q not in\n%s", strings.Join(args, " "), got, wantCode, want, text)
		}
		adminNoClearPAN(t, f, text)
	}
	oneShot(0, "8.00  00 approved .* mac=ok atc=3 arpc=ok", "purchase", "--card", "alice", "--amount", "8.00", "--entry", "chip")
	oneShot(0, "150.00  00 approved .* pin=entered mac=ok", "purchase", "--card", "mei", "--amount", "150.00")
	oneShot(1, "purchase answered 55: wrong or missing PIN", "purchase", "--card", "mei", "--amount", "150.00", "--pin", "0000")
	oneShot(1, "purchase answered 55", "purchase", "--card", "mei", "--amount", "150.00", "--no-pin")
	oneShot(0, "120.00  00 approved .* pin=entered mac=ok atc=2 arpc=ok", "purchase", "--card", "mei", "--amount", "120.00", "--entry", "chip", "--tid", "T0000102")
	oneShot(2, "card bob is not a chip card", "purchase", "--card", "bob", "--amount", "1.00", "--entry", "chip")
	oneShot(2, "--pin and --no-pin", "purchase", "--card", "mei", "--amount", "1.00", "--pin", "1234", "--no-pin")
	oneShot(2, "entry \"tap\" is not swipe, manual or chip", "purchase", "--card", "mei", "--amount", "1.00", "--entry", "tap")

	// Keys are kept in the state file only as the host sent them, under
	// the TMK.
	raw, err := os.ReadFile(filepath.Join(state, "T0000101.json"))
	if err != nil || !strings.Contains(string(raw), "working_keys") {
		t.Fatalf("state file: %v", err)
	}
}

// cliRunTo runs the whole CLI in-process, writing to out.
func cliRunTo(t *testing.T, out *strings.Builder, args ...string) error {
	t.Helper()
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

// matchLine reports whether some line of text matches the regular
// expression re.
func matchLine(re, text string) bool {
	r := regexp.MustCompile(re)
	for _, l := range strings.Split(text, "\n") {
		if r.MatchString(l) {
			return true
		}
	}
	return false
}
