package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/keys"
	"github.com/cockroachdb/pebble/v2"
)

// The tests of a host master key rotation at the store's level: the
// checker's account of sealed values, re-wrapping that is interrupted
// and resumed, and re-wrapping while terminals sign on.

func softKEK(t *testing.T) keys.KEK {
	t.Helper()
	k, err := keys.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func ring(t *testing.T, current keys.KEK, older ...keys.KEK) *keys.Ring {
	t.Helper()
	r, err := keys.NewRing(current, older...)
	if err != nil {
		t.Fatal(err)
	}
	return r // its KEKs are closed by their own cleanups
}

func openSealed(t *testing.T, dir string, sl Sealer) *Store {
	t.Helper()
	s, err := Open(dir, Options{Sealer: sl, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keyed is what a test provisioned, in clear, to compare after a rotation.
type keyed struct {
	tmk      map[string][]byte
	tpk, tak map[string][]byte
	imk      []byte
	pinData  []byte
}

func tidOf(i int) string { return fmt.Sprintf("T%07d", i) }

// provisionSealed makes a program with an IMK, n terminals with TMKs, the
// first signedOn of them signed on with working keys, and a card with a
// PIN.
func provisionSealed(t *testing.T, s *Store, n, signedOn int) *keyed {
	t.Helper()
	ctx := context.Background()
	k := &keyed{tmk: map[string][]byte{}, tpk: map[string][]byte{}, tak: map[string][]byte{}, imk: randKey(t)}
	imk, err := s.SealIMK("p1", k.imk)
	must(t, err)
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, IMK: imk}))
	must(t, s.PutMerchant(ctx, Merchant{MID: testMID, ProgramID: "p1", Home: true}))
	for i := range n {
		tid := tidOf(i)
		k.tmk[tid] = randKey(t)
		tmk, err := s.SealTMK(tid, k.tmk[tid])
		must(t, err)
		must(t, s.PutTerminal(ctx, Terminal{TID: tid, MID: testMID, Enabled: true, TMK: tmk}))
	}
	for i := range signedOn {
		tid := tidOf(i)
		k.tpk[tid], k.tak[tid] = signOnKeys(t, s, tid, "000001")
	}
	k.pinData, err = s.PINData(testPAN, "1234")
	must(t, err)
	return k
}

func randKey(t *testing.T) []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// signOnKeys signs tid on with fresh working keys sealed by the store and
// returns them in clear.
func signOnKeys(t *testing.T, s *Store, tid, stan string) (tpk, tak []byte) {
	t.Helper()
	tpk, tak, err := signOn(s, tid, stan)
	if err != nil {
		t.Fatal(err)
	}
	return tpk, tak
}

// signOn is signOnKeys for a goroutine other than the test's.
func signOn(s *Store, tid, stan string) (tpk, tak []byte, err error) {
	tpk, tak = make([]byte, 16), make([]byte, 16)
	rand.Read(tpk)
	rand.Read(tak)
	stpk, stak, err := s.SealWorkingKeys(tid, tpk, tak)
	if err != nil {
		return nil, nil, err
	}
	r := req(KindSignOn, "0800", stan, 0, func(r *Request) {
		r.TID = tid
		r.Security.NewKeys = &WorkingKeys{TPK: stpk, TAK: stak, TPKKCV: "000000", TAKKCV: "000000"}
	})
	res, err := s.Do(context.Background(), r)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sign-on %s: %w", tid, err)
	}
	return tpk, tak, nil
}

// verifyKeyed opens every key through the store's ordinary readers and
// compares it with what was provisioned.
func verifyKeyed(t *testing.T, s *Store, k *keyed) {
	t.Helper()
	p, err := s.Program("p1")
	must(t, err)
	if imk, err := s.IssuerMasterKey(p); err != nil || !bytes.Equal(imk, k.imk) {
		t.Fatalf("IMK after rotation: %v (equal %v)", err, bytes.Equal(imk, k.imk))
	}
	for tid, want := range k.tmk {
		term, _, err := s.Terminal(tid)
		must(t, err)
		if got, err := s.TerminalMasterKey(term); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("TMK of %s: %v (equal %v)", tid, err, bytes.Equal(got, want))
		}
	}
	for tid := range k.tpk {
		wk, err := s.WorkingKeys(tid)
		if err != nil || !bytes.Equal(wk.TPK, k.tpk[tid]) || !bytes.Equal(wk.TAK, k.tak[tid]) {
			t.Fatalf("working keys of %s: %v", tid, err)
		}
	}
	if !s.PINMatches(testPAN, "1234", k.pinData) || s.PINMatches(testPAN, "1235", k.pinData) {
		t.Fatal("PIN data no longer verifies under the re-wrapped PVK")
	}
}

func checkSettled(t *testing.T, s *Store, current string, want int) {
	t.Helper()
	rep, probs, err := s.CheckSecrets(context.Background())
	if err != nil || len(probs) > 0 {
		t.Fatalf("check secrets: %v %q", err, probs)
	}
	if !rep.Settled() || rep.Values != want || rep.CurrentKEK != current || !rep.Verified {
		t.Fatalf("want %d values all by %s, got %+v", want, current, rep)
	}
}

func TestRewrapInterruptedAndResumed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldK, newK := softKEK(t), softKEK(t)
	const n, signed = 300, 120
	total := 1 + 1 + n + 2*signed // PVK, IMK, TMKs, TPK+TAK

	s := openSealed(t, dir, ring(t, oldK))
	k := provisionSealed(t, s, n, signed)
	checkSettled(t, s, oldK.ID(), total)
	must(t, s.Close())

	// The rotation: the ring of new and old. The first run stops after
	// two batches, as a crash would.
	s = openSealed(t, dir, ring(t, newK, oldK))
	r := ring(t, newK, oldK)
	cctx, cancel := context.WithCancel(ctx)
	batches := 0
	_, err := s.RewrapSecrets(cctx, r.Rewrap, RewrapOptions{Batch: 50, Progress: func(RewrapProgress) {
		if batches++; batches == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	rep, probs, err := s.CheckSecrets(ctx)
	if err != nil || len(probs) > 0 {
		t.Fatalf("mid-rotation check: %v %q", err, probs)
	}
	if rep.ByKEK[newK.ID()] != 100 || rep.ByKEK[oldK.ID()] != total-100 || rep.Settled() {
		t.Fatalf("mid-rotation counts %v", rep.ByKEK)
	}
	if full, err := s.Check(ctx); err != nil || !full.OK() || full.Secrets.ByKEK[newK.ID()] != 100 {
		t.Fatalf("Check mid-rotation: %v %q %v", err, full.Problems, full.Secrets)
	}
	verifyKeyed(t, s, k)

	// The rerun skips what is done and finishes.
	prog, err := s.RewrapSecrets(ctx, r.Rewrap, RewrapOptions{Batch: 50})
	if err != nil || prog.Rewrapped != total-100 || prog.Visited != total || prog.Moved != 0 {
		t.Fatalf("resumed run: %+v %v", prog, err)
	}
	checkSettled(t, s, newK.ID(), total)
	// A third run has nothing to do.
	if prog, err := s.RewrapSecrets(ctx, r.Rewrap, RewrapOptions{}); err != nil || prog.Rewrapped != 0 {
		t.Fatalf("idle run: %+v %v", prog, err)
	}
	must(t, s.Close())

	// The old key retired: the store opens with the new key alone.
	s = openSealed(t, dir, ring(t, newK))
	checkSettled(t, s, newK.ID(), total)
	verifyKeyed(t, s, k)
}

// TestRewrapWhileSigningOn re-wraps while terminals sign on (new working
// keys sealed by the ring's current key) and an operator loads a new
// TMK: no newer value is overwritten by an older one re-wrapped.
func TestRewrapWhileSigningOn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldK, newK := softKEK(t), softKEK(t)
	const n = 200
	s := openSealed(t, dir, ring(t, oldK))
	k := provisionSealed(t, s, n, n)
	must(t, s.Close())

	r := ring(t, newK, oldK)
	s = openSealed(t, dir, r)
	var mu sync.Mutex
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-started
		for i := n - 1; i >= 0; i -= 2 { // against the rewrap's order
			tid := tidOf(i)
			tpk, tak, err := signOn(s, tid, "000002")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			k.tpk[tid], k.tak[tid] = tpk, tak
			mu.Unlock()
		}
		tid := tidOf(n - 1)
		tmk := make([]byte, 16)
		rand.Read(tmk)
		if err := s.SetTerminalTMK(ctx, tid, tmk, "", Operator{Name: "test", Reason: "rotation test"}); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		k.tmk[tid] = tmk
		mu.Unlock()
	}()
	once := sync.Once{}
	prog, err := s.RewrapSecrets(ctx, r.Rewrap, RewrapOptions{Batch: 16, Progress: func(RewrapProgress) {
		once.Do(func() { close(started) })
	}})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// What moved under the rewrap was sealed by the current key; a rerun
	// finds nothing left (what a rotation does before it finishes).
	if prog2, err := s.RewrapSecrets(ctx, r.Rewrap, RewrapOptions{}); err != nil || prog2.Rewrapped != 0 {
		t.Fatalf("second pass re-sealed %+v, %v (first %+v)", prog2, err, prog)
	}
	checkSettled(t, s, newK.ID(), 2+n+2*n)
	verifyKeyed(t, s, k)
	t.Logf("first pass %+v", prog)
}

// TestCheckSecretsFindsBadValues corrupts sealed values in the raw store
// and expects the checker to name each record, never a key.
func TestCheckSecretsFindsBadValues(t *testing.T) {
	ctx := context.Background()
	k1, stranger := softKEK(t), softKEK(t)
	for _, tc := range []struct {
		name, want string
		corrupt    func(s *Store, term *Terminal) error
	}{
		{"flipped byte in a TMK", "TMK of tid T0000001 does not open", func(s *Store, term *Terminal) error {
			term.TMK[len(term.TMK)-1] ^= 1
			return putRaw(s, keyTerminal(term.TID), term)
		}},
		{"TMK moved from another terminal", "TMK of tid T0000001 does not open", func(s *Store, term *Terminal) error {
			other, _, err := s.Terminal(tidOf(0))
			if err != nil {
				return err
			}
			term.TMK = other.TMK
			return putRaw(s, keyTerminal(term.TID), term)
		}},
		{"TMK by a key not in the ring", "TMK of tid T0000001 does not open: keys: cannot open sealed 61 bytes: sealed by a KEK this ring does not hold", func(s *Store, term *Terminal) error {
			var err error
			term.TMK, err = stranger.Seal(randKey(t), aadTMK(term.TID))
			if err != nil {
				return err
			}
			return putRaw(s, keyTerminal(term.TID), term)
		}},
		{"truncated TAK", "TAK of tid T0000001", func(s *Store, term *Terminal) error {
			_, st, err := s.Terminal(term.TID)
			if err != nil {
				return err
			}
			st.TAK = st.TAK[:3]
			e := encoder{}
			st.encode(&e)
			return s.db.Set([]byte(keyTermState(term.TID)), e.b, pebble.Sync)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSealed(t, t.TempDir(), ring(t, k1))
			k := provisionSealed(t, s, 2, 2)
			if rep, err := s.Check(ctx); err != nil || !rep.OK() || rep.Secrets.ByKEK[k1.ID()] != 8 {
				t.Fatalf("before: %v %q %+v", err, rep.Problems, rep.Secrets)
			}
			term, _, err := s.Terminal(tidOf(1))
			must(t, err)
			must(t, tc.corrupt(s, term))
			rep, err := s.Check(ctx)
			must(t, err)
			all := strings.Join(rep.Problems, "\n")
			if rep.OK() || !strings.Contains(all, tc.want) {
				t.Fatalf("want a problem with %q, got %q", tc.want, rep.Problems)
			}
			for _, key := range [][]byte{k.tmk[tidOf(1)], k.tak[tidOf(1)], k.imk} {
				if strings.Contains(strings.ToUpper(all), fmt.Sprintf("%X", key)) || strings.Contains(all, string(key)) {
					t.Fatal("a problem shows a key")
				}
			}
		})
	}
}

// putRaw writes a registry record straight to Pebble, past the writer, as
// a disk fault or a tampering would.
func putRaw(s *Store, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return setStored(s.db, key, raw)
}
