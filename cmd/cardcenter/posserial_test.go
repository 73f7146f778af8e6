package main

// The POS simulator on a serial line (pos --serial) against a real host
// with a serial listener on a socat pty pair, a card swiped as a
// keyboard-mode reader types it (--track, and --track - from stdin).

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/rs/zerolog"
)

func TestPOSSerialAndSwipe(t *testing.T) {
	pair := rig.NewPtyPair(t)
	dir := t.TempDir()
	c := testHostConfig(t, filepath.Join(dir, "data"))
	c.Gateway.Listeners = append(c.Gateway.Listeners, gateway.ListenerConfig{Kind: gateway.KindSerial,
		Framing: "stx-binary", Packager: "ascii", Serial: &gateway.SerialConfig{Device: pair.Host, ACKTimeout: 300 * time.Millisecond}})
	m := &Main{Config: c, Log: zerolog.Nop(), DemoFile: adminTestDemo}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	f, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	alice, ok := f.Alias("alice")
	if !ok {
		t.Fatal("no alice in the demo file")
	}
	track := "%B" + alice.PAN + "^ALICE/MEMBER^" + alice.Expiry + "101?;" + alice.PAN + "=" + alice.Expiry + "101?"
	state := filepath.Join(dir, "pos")
	pos := func(stdin string, args ...string) string {
		t.Helper()
		var out strings.Builder
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(append([]string{"pos", "--serial", pair.POS, "--framing", "stx-binary", "--cards", adminTestDemo,
			"--state-dir", state}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("pos %v: %v\n%s", args, err, out.String())
		}
		if strings.Contains(out.String(), alice.PAN) {
			t.Fatalf("pos %v printed a clear PAN", args)
		}
		return out.String()
	}
	pos("", "signon")
	for _, run := range [][]string{
		{"", "purchase", "--track", track, "--amount", "1.00"},
		{track + "\n", "purchase", "--track", "-", "--amount", "2.00"},
		{"", "purchase", "--card", "alice", "--amount", "3.00"},
	} {
		out := pos(run[0], run[1:]...)
		if !matchLine(`T0000101 purchase +`+alice.PAN[:6]+`\*+`+alice.PAN[len(alice.PAN)-4:]+` .* 00 approved`, out) {
			t.Errorf("pos %v:\n%s", run[1:], out)
		}
	}
	// A bad swipe (a PAN whose check digit is wrong) sends nothing and
	// says why, with the PAN masked.
	badPAN := alice.PAN[:len(alice.PAN)-1] + string('0'+(alice.PAN[len(alice.PAN)-1]-'0'+1)%10)
	var out strings.Builder
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"pos", "--serial", pair.POS, "--framing", "stx-binary", "--cards", adminTestDemo, "--state-dir", state,
		"purchase", "--amount", "1.00", "--track", strings.ReplaceAll(track, alice.PAN, badPAN)})
	err = root.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "fails the Luhn check") || strings.Contains(err.Error(), badPAN) || out.Len() != 0 {
		t.Fatalf("bad swipe: %v", err)
	}
}
