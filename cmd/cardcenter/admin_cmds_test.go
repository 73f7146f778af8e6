package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

const adminTestDemo = "../../testdata/demo.yaml"

// adminRun runs one admin verb in-process and returns what it printed.
func adminRun(t *testing.T, g *globalFlags, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "cardcenter", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(adminCommands(g)...)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// adminNoClearPAN fails when text holds any demo card's PAN in clear.
func adminNoClearPAN(t *testing.T, f *provision.File, text string) {
	t.Helper()
	for _, c := range f.Cards {
		if strings.Contains(text, c.PAN) {
			t.Errorf("output shows the clear PAN of %s:\n%s", cardnum.Mask(c.PAN), text)
		}
	}
}

func adminClosedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestAdminCommandsThroughAPI(t *testing.T) {
	// The host's cleanup runs first (cleanups run last-in, first-out),
	// then the leak check.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	g, st, f, _ := demoAdminHost(t)
	alice, _ := f.Alias("alice")
	bob, _ := f.Alias("bob")
	var all strings.Builder
	run := func(want string, args ...string) string {
		t.Helper()
		out, err := adminRun(t, g, args...)
		all.WriteString(out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", args[0:2], err, out)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s: output lacks %q:\n%s", args[0:2], want, out)
		}
		return out
	}
	run(cardnum.Mask(alice.PAN), "card", "show", alice.PAN)
	run("1000.00", "card", "show", alice.PAN)
	run(`"available_fen": 100000`, "card", "show", alice.PAN, "--json")
	run("balance 1012.50, available 1012.50, points 500", "card", "adjust", alice.PAN, "12.50", "--note", "goodwill")
	run("balance 1010.00", "card", "adjust", alice.PAN, "2.50", "--debit", "--note", "correction")
	run("balance 1000.00", "card", "adjust", alice.PAN, "--note", "typo", "--", "-10.00")
	run("points 530", "card", "adjust", alice.PAN, "30", "--points", "--note", "campaign")
	run("6 entries", "card", "history", alice.PAN) // opening balance and points, four adjustments
	run("adjust", "card", "history", alice.PAN, "--limit", "2")
	run("is now frozen", "card", "state", bob.PAN, "frozen", "--note", "customer asked")
	run("MALL00000000003", "merchant", "list")
	run("T0000199", "terminal", "list")
	run("mallcoalition", "program", "list")
	run("through the admin API", "import", adminTestDemo)
	run("ledger check through the admin API", "check")
	adminNoClearPAN(t, f, all.String())

	if b, _ := st.CardBalances(alice.PAN); b.Ledger != 100000 || b.Points != 530 {
		t.Errorf("alice after the adjustments: %+v", b)
	}
	if c, _ := st.Card(bob.PAN); c.State != ledger.CardFrozen {
		t.Errorf("bob: %s", c.State)
	}

	// Refused input: errors mask the PAN.
	bad := alice.PAN[:15] + string('0'+(alice.PAN[15]-'0'+1)%10)
	for _, args := range [][]string{
		{"card", "show", bad},
		{"card", "adjust", alice.PAN, "12.345", "--note", "x"},
		{"card", "adjust", alice.PAN, "12.50"},
		{"card", "state", alice.PAN, "gone"},
		{"card", "adjust", alice.PAN, "-99999.00", "--note", "x"}, // a flag-like amount without --
	} {
		out, err := adminRun(t, g, args...)
		if err == nil {
			t.Errorf("%v: accepted", args[:2])
			continue
		}
		adminNoClearPAN(t, f, out+err.Error())
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error shows the PAN: %v", err)
		}
	}
	unknown := "621000000000999"
	unknown += string(cardnum.LuhnDigit(unknown))
	if _, err := adminRun(t, g, "card", "show", unknown); err == nil || strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown card: %v", err)
	}
	// A wrong token file.
	g2 := &globalFlags{DataDir: t.TempDir(), AdminAddr: g.AdminAddr}
	if _, err := adminRun(t, g2, "program", "list"); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Errorf("no token: %v", err)
	}
}

func TestAdminCommandsWithoutHost(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	g := &globalFlags{DataDir: dir, AdminAddr: adminClosedAddr(t)}
	f, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	out, err := adminRun(t, g, "import", adminTestDemo)
	if err != nil || !strings.Contains(out, "directly into") || !strings.Contains(out, "cards 14 created") {
		t.Fatalf("direct import: %v\n%s", err, out)
	}
	out, err = adminRun(t, g, "import", adminTestDemo)
	if err != nil || !strings.Contains(out, "opening balances 0 (0.00 yuan)") {
		t.Fatalf("second direct import: %v\n%s", err, out)
	}
	out, err = adminRun(t, g, "check")
	if err != nil || !strings.Contains(out, "read-only") || !strings.Contains(out, ": OK") {
		t.Fatalf("direct check: %v\n%s", err, out)
	}
	adminNoClearPAN(t, f, out)
	st, err := ledger.Open(adminStoreDir(dir), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := f.Alias("alice")
	b, err := st.CardBalances(alice.PAN)
	st.Close()
	if err != nil || b.Ledger != alice.OpeningBalance {
		t.Fatalf("alice after two imports: %+v %v", b, err)
	}

	// check without --data does not guess a store.
	if _, err := adminRun(t, &globalFlags{AdminAddr: g.AdminAddr, TokenFile: dir + "/none"}, "check"); err == nil {
		t.Error("check without a host and without --data succeeded")
	}
	// A bad file is refused before anything is opened, with key and line.
	bad := t.TempDir() + "/bad.yaml"
	adminWriteFile(t, bad, "cards:\n  - pan: \"6210000000000011\"\n    expiry: \"2913\"\n")
	if _, err := adminRun(t, g, "import", bad); err == nil || !strings.Contains(err.Error(), `cards[0].expiry: "2913": month 13 not valid (line 3)`) {
		t.Errorf("bad file: %v", err)
	}
}

func adminWriteFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
