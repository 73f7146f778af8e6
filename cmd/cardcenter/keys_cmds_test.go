package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
)

// rotMID is the merchant of the rotation tests' terminals.
const rotMID = "ROTATE000000001"

var rotPAN = "621000000000009" + string(cardnum.LuhnDigit("621000000000009"))

// rotKeys are a provisioned store's keys in clear, to compare after a
// rotation.
type rotKeys struct {
	tmk      map[string][]byte
	tpk, tak map[string][]byte
}

func rotTID(i int) string { return fmt.Sprintf("R%07d", i) }

// provisionRotation makes, in the data directory of c and under the ring
// the configuration gives now, a program, n terminals with TMKs (the first
// signed of them signed on with working keys) and a funded card. Writes
// run from several goroutines so that group commit makes it quick.
func provisionRotation(t *testing.T, c *Config, n, signed int) *rotKeys {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ring, err := keys.OpenRing(c.Keys, c.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	st, err := ledger.Open(adminStoreDir(c.DataDir), ledger.Options{Sealer: ring, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	imk, err := st.SealIMK("rot", randBytes(t, 16))
	mustDo(t, err)
	mustDo(t, st.PutProgram(ctx, ledger.Program{ID: "rot", Currency: "156", PointCost: 1, RedemptionValue: 1, IMK: imk}))
	mustDo(t, st.PutMerchant(ctx, ledger.Merchant{MID: rotMID, ProgramID: "rot", Home: true}))
	mustDo(t, st.PutCard(ctx, ledger.Card{PAN: rotPAN, ProgramID: "rot", HomeMID: rotMID, Product: "magstripe",
		State: ledger.CardActive, Expiry: "4912", Member: ledger.Member{Registered: true}}))
	if _, err := st.Adjust(ctx, rotPAN, 50000, "opening"); err != nil {
		t.Fatal(err)
	}
	k := &rotKeys{tmk: map[string][]byte{}, tpk: map[string][]byte{}, tak: map[string][]byte{}}
	for i := range n {
		k.tmk[rotTID(i)] = randBytes(t, 16)
	}
	for i := range signed {
		k.tpk[rotTID(i)], k.tak[rotTID(i)] = randBytes(t, 16), randBytes(t, 16)
	}
	parallel(t, n, func(i int) error {
		tid := rotTID(i)
		sealed, err := st.SealTMK(tid, k.tmk[tid])
		if err != nil {
			return err
		}
		return st.PutTerminal(ctx, ledger.Terminal{TID: tid, MID: rotMID, Enabled: true, TMK: sealed})
	})
	parallel(t, signed, func(i int) error {
		tid := rotTID(i)
		tpk, tak, err := st.SealWorkingKeys(tid, k.tpk[tid], k.tak[tid])
		if err != nil {
			return err
		}
		r := &ledger.Request{Kind: ledger.KindSignOn, MTI: "0800", TID: tid, MID: rotMID, STAN: "000001",
			Time: "0101000000", Fingerprint: [16]byte{1},
			Security: ledger.Security{NewKeys: &ledger.WorkingKeys{TPK: tpk, TAK: tak, TPKKCV: "000000", TAKKCV: "000000"}}}
		res, err := st.Do(ctx, r)
		if err == nil {
			err = res.Err
		}
		return err
	})
	return k
}

// parallel runs fn(0..n-1) on a few goroutines and fails on the first
// error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	const workers = 32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// inspectStore opens the store read-only with the ring the configuration
// gives now and returns its full check.
func inspectStore(t *testing.T, c *Config) ledger.CheckReport {
	t.Helper()
	ring, err := inspectRing(c)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	st, err := ledger.Open(adminStoreDir(c.DataDir), ledger.Options{ReadOnly: true, Sealer: ring})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("check: %q", rep.Problems)
	}
	return rep
}

// verifyRotKeys opens every key of the store with the ring of c and
// compares it with what was provisioned.
func verifyRotKeys(t *testing.T, c *Config, k *rotKeys) {
	t.Helper()
	ring, err := inspectRing(c)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	st, err := ledger.Open(adminStoreDir(c.DataDir), ledger.Options{ReadOnly: true, Sealer: ring})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for tid, want := range k.tmk {
		term, _, err := st.Terminal(tid)
		mustDo(t, err)
		if got, err := st.TerminalMasterKey(term); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("TMK of %s after the rotation: %v", tid, err)
		}
	}
	for tid := range k.tpk {
		wk, err := st.WorkingKeys(tid)
		if err != nil || !bytes.Equal(wk.TPK, k.tpk[tid]) || !bytes.Equal(wk.TAK, k.tak[tid]) {
			t.Fatalf("working keys of %s after the rotation: %v", tid, err)
		}
	}
}

func rotate(t *testing.T, c *Config) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := runKeysRotate(context.Background(), c, &out, 0)
	return out.String(), err
}

func TestKeysRotateEnv(t *testing.T) {
	oldHex, newHex := hex.EncodeToString(randBytes(t, 32)), hex.EncodeToString(randBytes(t, 32))
	c := &Config{DataDir: filepath.Join(t.TempDir(), "data"), Keys: keys.Config{Source: keys.SourceEnv}}
	t.Setenv(keys.DefaultEnv, oldHex)
	k := provisionRotation(t, c, 30, 10)
	const total = 1 + 1 + 30 + 20

	// Nothing configured to rotate to: nothing to do, nothing changed.
	out, err := rotate(t, c)
	if err != nil || !strings.Contains(out, "nothing to rotate") {
		t.Fatalf("without an old key: %v\n%s", err, out)
	}
	// The new key without the old: refused before any change.
	t.Setenv(keys.DefaultEnv, newHex)
	out, err = rotate(t, c)
	if err == nil || !strings.Contains(err.Error(), "nothing changed") || !strings.Contains(err.Error(), "CARDCENTER_KEK_OLD") {
		t.Fatalf("new key without the old: %v\n%s", err, out)
	}
	assertNoKeyIn(t, err.Error()+out, oldHex, newHex)
	// The operator's steps: new key, old key beside it, rotate.
	t.Setenv(keys.DefaultEnv+"_OLD", oldHex)
	out, err = rotate(t, c)
	if err != nil || !strings.Contains(out, "rotation finished") || !strings.Contains(out, fmt.Sprintf("re-sealed %d of %d", total, total)) {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	assertNoKeyIn(t, out, oldHex, newHex)
	// Again before dropping the old key: harmless, nothing re-sealed.
	if out, err = rotate(t, c); err != nil || !strings.Contains(out, "re-sealed 0 of 0") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	os.Unsetenv(keys.DefaultEnv + "_OLD")
	rep := inspectStore(t, c)
	if !rep.Secrets.Settled() || rep.Secrets.Values != total || !rep.Secrets.Verified {
		t.Fatalf("after: %+v", rep.Secrets)
	}
	verifyRotKeys(t, c, k)
	if out, err = rotate(t, c); err != nil || !strings.Contains(out, "nothing to rotate") {
		t.Fatalf("after dropping the old key: %v\n%s", err, out)
	}
}

func TestKeysRotatePKCS11(t *testing.T) {
	h := rig.NewSoftHSM(t)
	h.InitToken(t, "cardcenter-kek", "1234", "5678")
	c := &Config{DataDir: filepath.Join(t.TempDir(), "data"), Keys: keys.Config{Source: keys.SourcePKCS11, PKCS11: keys.PKCS11Config{
		Module: h.Module, TokenLabel: "cardcenter-kek", PIN: "1234", KeyLabel: "kek-1", CreateKey: true,
	}}}
	k := provisionRotation(t, c, 20, 5)
	c.Keys.PKCS11.KeyLabel, c.Keys.PKCS11.OldKeyLabel = "kek-2", "kek-1"
	out, err := rotate(t, c)
	if err != nil || !strings.Contains(out, "rotation finished: every value is sealed by pkcs11:kek-2") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
	c.Keys.PKCS11.OldKeyLabel = ""
	if rep := inspectStore(t, c); !rep.Secrets.Settled() || rep.Secrets.CurrentKEK != "pkcs11:kek-2" {
		t.Fatalf("after: %+v", rep.Secrets)
	}
	verifyRotKeys(t, c, k)
}

func TestKeysRotateRefusesRunningHost(t *testing.T) {
	c := &Config{DataDir: filepath.Join(t.TempDir(), "data")}
	provisionRotation(t, c, 2, 1)
	// A host file naming a live process (this one) is a running host.
	mustDo(t, writeHostInfo(filepath.Join(c.DataDir, hostFileName), hostInfo{Admin: "127.0.0.1:1", PID: os.Getpid()}))
	out, err := rotate(t, c)
	if !errors.Is(err, errHostRunning) {
		t.Fatalf("with a running host: %v\n%s", err, out)
	}
	if _, serr := os.Stat(keys.NextKeyFile(keys.KeyFilePath(c.DataDir))); !os.IsNotExist(serr) {
		t.Fatalf("a refused rotation made the new key file: %v", serr)
	}
}

func TestKeysStatusOffline(t *testing.T) {
	c := &Config{DataDir: filepath.Join(t.TempDir(), "data")}
	provisionRotation(t, c, 3, 1)
	// A rotation begun (the new key file made) and not yet run.
	r, err := keys.BeginFileRotation(keys.KeyFilePath(c.DataDir))
	mustDo(t, err)
	newID, oldID := r.IDs()[0], r.IDs()[1]
	r.Close()
	var out bytes.Buffer
	mustDo(t, runKeysStatus(context.Background(), &globalFlags{DataDir: c.DataDir}, c, &out, false))
	for _, want := range []string{"current master key: " + newID, oldID + " ", "       7", "a rotation is under way", "every one opens"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("status lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if rot, err := rotate(t, c); err != nil || !strings.Contains(rot, "resuming the rotation begun earlier") {
		t.Fatalf("rotate: %v\n%s", err, rot)
	}
	mustDo(t, runKeysStatus(context.Background(), &globalFlags{DataDir: c.DataDir}, c, &out, false))
	if strings.Contains(out.String(), "under way") || !strings.Contains(out.String(), "7 sealed values: 7 by "+newID+" (current)") {
		t.Fatalf("status after:\n%s", out.String())
	}
}

// assertNoKeyIn fails when text holds a key's hex, in either case.
func assertNoKeyIn(t *testing.T, text string, hexKeys ...string) {
	t.Helper()
	for _, h := range hexKeys {
		if strings.Contains(strings.ToLower(text), strings.ToLower(h)) {
			t.Fatal("output holds a master key")
		}
	}
}
