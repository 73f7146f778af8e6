//go:build cgo

package main

// `cardcenter reader` end to end: a real pcscd with the vpcd virtual reader
// (internal/rig.PCSCD), the virtual card of internal/vcard inserted in it,
// the reader command run in-process, and a real host on a Pebble store in
// t.TempDir over real TCP. Every pcscd test of the module is in this
// package: they share one pcscd and one vpcd slot, so none runs in
// parallel (and rig's lock file keeps other test processes off it).

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/internal/vcard"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rig.StopPCSCD()
	os.Exit(code)
}

// readerHost is a host with the demo data and the reader's flags for it.
type readerHost struct {
	m     *Main
	prov  *provision.File
	flags []string
}

func startReaderHost(t testing.TB) *readerHost {
	t.Helper()
	rig.PCSCD(t)
	dir := t.TempDir()
	m := &Main{Config: testHostConfig(t, filepath.Join(dir, "data")), Log: zerolog.Nop(), DemoFile: adminTestDemo}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f, err := provision.Load(adminTestDemo)
	if err != nil {
		t.Fatal(err)
	}
	return &readerHost{m: m, prov: f, flags: []string{"--addr", m.Gateway.Addrs()[0].String(), "--cards", adminTestDemo,
		"--state-dir", filepath.Join(dir, "pos"), "--reader", rig.VPCDReaderPrefix, "--count", "1"}}
}

// chipCardOf is the demo card name as a virtual chip card.
func (h *readerHost) chipCardOf(t testing.TB, name string) vcard.Config {
	a, ok := h.prov.Alias(name)
	if !ok {
		t.Fatalf("no card %s in the demo", name)
	}
	imk := h.prov.Keys.IMK[a.ProgramID]
	return vcard.Config{PAN: a.PAN, PSN: a.PSN, Expiry: a.Expiry, IMK: imk}
}

// insert puts a virtual card in the reader; at the test's end it is pulled
// and the test waits (SCardGetStatusChange) until pcscd sees the reader
// empty, so the next test starts from an empty reader.
func insert(t testing.TB, cfg vcard.Config) *vcard.Card {
	t.Helper()
	c, err := vcard.Insert("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		waitReaderEmpty(t)
	})
	return c
}

func waitReaderEmpty(t testing.TB) {
	t.Helper()
	pc, err := terminal.OpenPCSC()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r, err := pc.FindReader(rig.VPCDReaderPrefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pc.WaitRemoved(ctx, r); err != nil {
		t.Fatalf("reader not empty after the card left: %v", err)
	}
}

func (h *readerHost) balance(t testing.TB, name string) ledger.Amount {
	t.Helper()
	a, _ := h.prov.Alias(name)
	b, err := h.m.Store.CardBalances(a.PAN)
	if err != nil {
		t.Fatal(err)
	}
	return b.Ledger
}

func (h *readerHost) run(t *testing.T, amount string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := cliRunTo(t, &out, append([]string{"reader", "--amount", amount}, h.flags...)...)
	text := out.String()
	adminNoClearPAN(t, h.prov, text)
	return text, err
}

// A chip purchase: the card's ARQC verified by the host (an approval
// carries tag 91 only after the host's ARQC check), the host's ARPC
// verified by the card (EXTERNAL AUTHENTICATE 9000), the card's TC, and
// the ledger debited once. A second purchase counts the ATC on.
func TestReaderChipPurchase(t *testing.T) {
	h := startReaderHost(t)
	before := h.balance(t, "alice")
	card := insert(t, h.chipCardOf(t, "alice"))
	out, err := h.run(t, "12.50")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !matchLine(`Virtual PCD.*: chip 621000\*+0011 purchase 12.50  00 approved rrn \d{12} atc=1 arpc=ok card=tc$`, out) {
		t.Fatalf("outcome line:\n%s", out)
	}
	st := card.Stats()
	if st.ARQCs != 1 || st.ARPCVerified != 1 || st.ARPCRejected != 0 || st.TCs != 1 || card.ATC() != 1 {
		t.Fatalf("card saw %+v, ATC %d", st, card.ATC())
	}
	// SELECT PPSE, SELECT AID, GPO, READ RECORD, GENERATE AC, EXTERNAL
	// AUTHENTICATE, GENERATE AC.
	if got := string(st.INS); got != "\xA4\xA4\xA8\xB2\xAE\x82\xAE" {
		t.Fatalf("commands % X", st.INS)
	}
	if got := h.balance(t, "alice"); got != before-1250 {
		t.Fatalf("balance %d, want %d", got, before-1250)
	}
}

// A member card with only a UID: SELECT answers 6A82, the reader reads the
// UID and buys with the card the provisioning file maps it to.
func TestReaderUIDPurchase(t *testing.T) {
	h := startReaderHost(t)
	before := h.balance(t, "bob")
	c := insert(t, vcard.Config{UID: []byte{0x04, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6}})
	out, err := h.run(t, "5.00")
	c.Close()
	waitReaderEmpty(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !matchLine(`: uid 621000\*+0029 purchase 5.00  00 approved rrn \d{12}$`, out) {
		t.Fatalf("outcome line:\n%s", out)
	}
	if got := h.balance(t, "bob"); got != before-500 {
		t.Fatalf("balance %d, want %d", got, before-500)
	}
	// The import put the mapping in the host's registry too.
	bob, _ := h.prov.Alias("bob")
	if c, err := h.m.Store.CardByUID("04A1B2C3D4E5F6"); err != nil || c.PAN != bob.PAN {
		t.Fatalf("registry: uid not mapped to bob: %v", err)
	}

	// An unknown UID is refused before anything is sent.
	purchaseRefused(t, h, vcard.Config{UID: []byte{1, 2, 3, 4}}, "uid 01020304 is no card's")
}

// purchaseRefused runs one purchase with the card cfg, which must be
// refused (exit 1) saying want; the card is then pulled.
func purchaseRefused(t *testing.T, h *readerHost, cfg vcard.Config, want string) {
	t.Helper()
	c, err := vcard.Insert("", cfg)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(t, "1.00")
	c.Close()
	waitReaderEmpty(t)
	if exitCode(err) != posExitDeclined || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %d; %q not in\n%s", exitCode(err), posExitDeclined, want, out)
	}
}

// A card pulled mid-transaction. Pulled at the first GENERATE AC, before
// the request exists: nothing is sent, the ledger is untouched. Pulled
// after the host approved, before the card took the answer (at EXTERNAL
// AUTHENTICATE): the outcome is unknown to the card, so the reader sends a
// reversal, and the ledger shows the purchase undone.
func TestReaderCardPulled(t *testing.T) {
	h := startReaderHost(t)
	before := h.balance(t, "dave")

	early := h.chipCardOf(t, "dave")
	early.Pull = func(apdu []byte) bool { return len(apdu) > 1 && apdu[1] == 0xAE }
	c, err := vcard.Insert("", early)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.run(t, "20.00")
	<-c.Done()
	waitReaderEmpty(t)
	if exitCode(err) != posExitDeclined || !matchLine(`chip 621000\*+0045 purchase 20.00; .*GENERATE AC \(ARQC\): card removed`, out) || strings.Contains(out, "reversal") {
		t.Fatalf("pulled at GENERATE AC: exit %d\n%s", exitCode(err), out)
	}
	if got := h.balance(t, "dave"); got != before {
		t.Fatalf("balance %d after a card pulled before the request, want %d", got, before)
	}

	late := h.chipCardOf(t, "dave")
	late.ATC = 1
	late.Pull = func(apdu []byte) bool { return len(apdu) > 1 && apdu[1] == 0x82 }
	c, err = vcard.Insert("", late)
	if err != nil {
		t.Fatal(err)
	}
	out, err = h.run(t, "20.00")
	<-c.Done()
	waitReaderEmpty(t)
	if exitCode(err) != posExitDeclined ||
		!matchLine(`chip 621000\*+0045 purchase 20.00  00 approved .* atc=2; card gone before the second GENERATE AC: reversal stan \d{6} 00`, out) {
		t.Fatalf("pulled at EXTERNAL AUTHENTICATE: exit %d\n%s", exitCode(err), out)
	}
	if got := h.balance(t, "dave"); got != before {
		t.Fatalf("balance %d after the reversal, want %d", got, before)
	}
	a, _ := h.prov.Alias("dave")
	hist, err := h.m.Store.CardHistory(a.PAN, 10)
	if err != nil {
		t.Fatal(err)
	}
	undone := false
	for _, x := range hist {
		if x.Amount == 2000 && x.UndoneBy != 0 {
			undone = true
		}
	}
	if !undone {
		t.Fatalf("no undone 20.00 purchase in the card's history: %+v", hist)
	}
}
