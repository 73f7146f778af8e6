package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// demoAdminHost serves the admin API over a demo store that has a host
// master key, on a loopback port, until the test ends; the CLI's flags
// point at it (operator li.wei), and logs holds the API's log.
func demoAdminHost(t *testing.T) (*globalFlags, *ledger.Store, *provision.File, *syncbuf.Buffer) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	kek, err := keys.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	st, err := ledger.Open(adminStoreDir(dir), ledger.Options{Sealer: kek})
	if err != nil {
		t.Fatal(err)
	}
	f, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision.Apply(ctx, st, f); err != nil {
		t.Fatal(err)
	}
	tok, err := admin.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	srv, err := admin.New(admin.Config{Store: st, Token: tok, Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Error(err)
		}
		if err := <-served; err != nil {
			t.Error(err)
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		st.Close()
	})
	return &globalFlags{DataDir: dir, AdminAddr: l.Addr().String(), Operator: "li.wei"}, st, f, logs
}

// adminRunIn is adminRun with stdin.
func adminRunIn(t *testing.T, g *globalFlags, stdin string, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "cardcenter", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(adminCommands(g)...)
	var out bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

type testComponent struct{ key, kcv string }

func newTestComponent(t *testing.T) testComponent {
	t.Helper()
	k, err := cardcrypto.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kcv, _ := cardcrypto.KCVHex(k)
	return testComponent{strings.ToUpper(hex.EncodeToString(k)), kcv}
}

func (c testComponent) line() string { return c.key + " " + c.kcv + "\n" }

func TestSecurityCommands(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	// Registered first, so it runs after the host's cleanup has shut it down.
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	g, st, f, logs := demoAdminHost(t)
	alice, _ := f.Alias("alice")
	c1, c2, c3 := newTestComponent(t), newTestComponent(t), newTestComponent(t)
	secrets := []string{c1.key, c2.key, c3.key}
	combine := func(cs ...testComponent) ([]byte, string) {
		var pairs [][2]string
		for _, c := range cs {
			pairs = append(pairs, [2]string{c.key, c.kcv})
		}
		k, kcv, err := cardcrypto.LoadComponents("components", pairs)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.ToUpper(hex.EncodeToString(k)))
		return k, kcv
	}
	tmk, tmkKCV := combine(c1, c2)
	imk, imkKCV := combine(c1, c2, c3)

	var all strings.Builder
	run := func(stdin string, want []string, args ...string) string {
		t.Helper()
		out, err := adminRunIn(t, g, stdin, args...)
		all.WriteString(out)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", args, w, out)
			}
		}
		return out
	}
	fail := func(stdin, want string, args ...string) {
		t.Helper()
		out, err := adminRunIn(t, g, stdin, args...)
		all.WriteString(out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %v, want an error with %q\n%s", args, err, want, out)
		}
		if err != nil {
			all.WriteString(err.Error())
		}
	}

	// TMK: a wrong check value names the component, and nothing is loaded
	// (the demo terminal keeps the test TMK it was provisioned with).
	before, _, _ := st.Terminal("T0000101")
	fail(c1.line()+c2.key+" "+c3.kcv+"\n", "component 2", "terminal", "load-tmk", "T0000101", "--note", "deployment")
	fail(c1.line(), "2 or 3", "terminal", "load-tmk", "T0000101", "--note", "deployment")
	fail(c1.line()+c2.line(), "--note is required", "terminal", "load-tmk", "T0000101")
	fail(c1.line()+"nonsense\n", "stdin line 2", "terminal", "load-tmk", "T0000101", "--note", "x")
	fail(c1.line()+c2.line(), "kcv", "terminal", "load-tmk", "T0000101", "--note", "x", "--kcv", c3.kcv)
	if term, _, _ := st.Terminal("T0000101"); !bytes.Equal(term.TMK, before.TMK) || term.TMKKCV != before.TMKKCV {
		t.Fatal("a refused load stored a TMK")
	}
	run("# custodians A and B\n"+c1.line()+"\n"+c2.line(), []string{
		"component 1: check value " + c1.kcv + " matches",
		"component 2: check value " + c2.kcv + " matches",
		"TMK of terminal T0000101 loaded from 2 components: check value " + tmkKCV,
	}, "terminal", "load-tmk", "T0000101", "--note", "deployment", "--kcv", tmkKCV)
	term, _, _ := st.Terminal("T0000101")
	if k, err := st.TerminalMasterKey(term); err != nil || !bytes.Equal(k, tmk) {
		t.Fatalf("stored TMK: %v", err)
	}
	run("", []string{"tmk kcv", tmkKCV, "generation 0"}, "terminal", "show", "T0000101")

	// IMK from three custodians.
	run(c1.line()+c2.line()+c3.line(), []string{"component 3: check value " + c3.kcv + " matches", "IMK of program mallcoalition loaded from 3 components: check value " + imkKCV},
		"program", "load-imk", "mallcoalition", "--note", "chip cards")
	p, _ := st.Program("mallcoalition")
	if k, err := st.IssuerMasterKey(p); err != nil || !bytes.Equal(k, imk) {
		t.Fatalf("stored IMK: %v", err)
	}
	run("", []string{"imk kcv", imkKCV}, "program", "show", "mallcoalition")
	run("", []string{`"imk_kcv": "` + imkKCV + `"`}, "program", "show", "mallcoalition", "--json")

	// PIN: block alice's card as three wrong PINs would, then unblock it.
	securityBlockPIN(t, st, alice.PAN)
	run("", []string{"pin", "3 wrong in a row, BLOCKED"}, "card", "show", alice.PAN)
	fail("", "--note is required", "card", "unblock-pin", alice.PAN)
	run("", []string{"PIN unblocked", "not blocked"}, "card", "unblock-pin", alice.PAN, "--note", "customer identified")
	if ps, _ := st.CardPINState(alice.PAN); ps.Blocked || ps.Tries != 0 {
		t.Errorf("after unblock: %+v", ps)
	}

	// Blacklists.
	fail("", "--on or --off", "card", "blacklist", alice.PAN, "--note", "x")
	run("", []string{"is on the blacklist"}, "card", "blacklist", alice.PAN, "--on", "--note", "reported stolen")
	run("", []string{"blacklisted"}, "card", "show", alice.PAN)
	run("", []string{"is off the blacklist"}, "card", "blacklist", alice.PAN, "--off", "--note", "found")
	run("", []string{"BIN range 621000-621099 is blacklisted (1 ranges)"}, "blacklist", "bin", "add", "621000-621099", "--note", "lost batch")
	run("", []string{"621000-621099"}, "blacklist", "bin", "list")
	fail("", "low", "blacklist", "bin", "add", "62100", "62109", "--note", "x")
	run("", []string{"off the blacklist (0 ranges)"}, "blacklist", "bin", "remove", "621000", "621099", "--note", "recovered")
	fail("", "404", "blacklist", "bin", "remove", "621000", "621099", "--note", "again")

	// The audit log names the operator, the reason, a card by masked PAN.
	out := run("", []string{"li.wei", "terminal_tmk", "program_imk", "pin_unblock", "card_blacklist", "bin_blacklist_add", "bin_blacklist_remove",
		cardnum.Mask(alice.PAN), "reported stolen"}, "audit")
	if strings.Count(out, "\n") != 8 { // header and seven records
		t.Errorf("audit lines:\n%s", out)
	}
	run("", []string{"more: cardcenter audit --after"}, "audit", "--limit", "2")

	// Without an operator the server refuses a change.
	g.Operator = " "
	fail("", "operator", "card", "state", alice.PAN, "frozen", "--note", "x")
	g.Operator = "li.wei"

	adminNoClearPAN(t, f, all.String()+logs.String())
	for _, s := range secrets {
		if strings.Contains(strings.ToUpper(all.String()+logs.String()), s) {
			t.Errorf("output or the host log shows a clear key or component")
		}
	}
}

// securityBlockPIN gives a card a product that needs a PIN and sends three
// wrong ones, as the gateway would after checking field 52.
func securityBlockPIN(t *testing.T, st *ledger.Store, pan string) {
	t.Helper()
	ctx := context.Background()
	p, _ := st.Program("mallcoalition")
	p.Products = append(p.Products, ledger.Product{Name: "pinpay", Kind: "magstripe", PINRequired: map[string]ledger.Amount{"000000": 0}})
	if err := st.PutProgram(ctx, *p); err != nil {
		t.Fatal(err)
	}
	c, _ := st.Card(pan)
	c.Product = "pinpay"
	if err := st.PutCard(ctx, *c); err != nil {
		t.Fatal(err)
	}
	do := func(kind ledger.Kind, mti, stan string) error {
		r := &ledger.Request{Kind: kind, MTI: mti, TID: "T0000102", MID: "MALL00000000001", STAN: stan, Time: "0315100000", Batch: 1,
			Security: ledger.Security{PIN: ledger.PINWrong}}
		if kind == ledger.KindSignOn { // the demo terminal has a TMK: a sign-on brings keys
			tpk, tak, err := st.SealWorkingKeys(r.TID, bytes.Repeat([]byte{0x5A}, 16), bytes.Repeat([]byte{0xA5}, 16))
			if err != nil {
				t.Fatal(err)
			}
			r.Security.NewKeys = &ledger.WorkingKeys{TPK: tpk, TAK: tak, Field62: []byte("test field 62")}
		}
		if kind == ledger.KindPurchase {
			r.ProcCode, r.PAN, r.Amount = "000000", pan, 100
		}
		r.Fingerprint = [16]byte(sha256.New().Sum([]byte(mti + stan))[:16])
		res, err := st.Do(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res.Err
	}
	if err := do(ledger.KindSignOn, "0800", "000001"); err != nil {
		t.Fatal(err)
	}
	for _, stan := range []string{"000002", "000003", "000004"} {
		do(ledger.KindPurchase, "0200", stan)
	}
	if ps, _ := st.CardPINState(pan); !ps.Blocked {
		t.Fatalf("not blocked: %+v", ps)
	}
}
