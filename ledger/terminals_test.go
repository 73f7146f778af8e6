package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTerminalEntryFollowsTheRegistry: the writer's entry for a
// terminal keeps its merchant's and its own records between requests,
// and every change an operator makes to either is what the next
// request is decided on: a terminal disabled, enabled again, moved to
// another merchant; a merchant the terminal names that does not exist.
func TestTerminalEntryFollowsTheRegistry(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	stan := 0
	send := func(kind Kind, mti string, opts ...reqOpt) Result {
		stan++
		return do(t, s, req(kind, mti, fmt.Sprintf("%06d", stan), 100, opts...))
	}
	if res := send(KindSignOn, "0800"); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := send(KindPurchase, "0200"); res.Err != nil {
		t.Fatalf("purchase: %v", res.Err)
	}
	must(t, s.PutTerminal(ctx, Terminal{TID: testTID, MID: testMID, Enabled: false}))
	if res := send(KindPurchase, "0200"); !errors.Is(res.Err, ErrTerminalDisabled) {
		t.Fatalf("disabled terminal: %v, want %v", res.Err, ErrTerminalDisabled)
	}
	must(t, s.PutTerminal(ctx, Terminal{TID: testTID, MID: testMID, Enabled: true}))
	if res := send(KindPurchase, "0200"); res.Err != nil {
		t.Fatalf("enabled again: %v", res.Err)
	}

	// A merchant not yet registered is unknown (03) until it is; the
	// terminal is not its (03) until it is moved there, and then no
	// longer its old merchant's (03).
	const newMID = "MID000000000099"
	atNew := func(r *Request) { r.MID = newMID }
	if res := send(KindPurchase, "0200", atNew); !errors.Is(res.Err, ErrUnknownMerchant) {
		t.Fatalf("unregistered mid: %v, want %v", res.Err, ErrUnknownMerchant)
	}
	must(t, s.PutMerchant(ctx, Merchant{MID: newMID, ProgramID: "p1", MDRBP: 60}))
	if res := send(KindPurchase, "0200", atNew); !errors.Is(res.Err, ErrUnknownTerminal) {
		t.Fatalf("another merchant's terminal: %v, want %v", res.Err, ErrUnknownTerminal)
	}
	must(t, s.PutTerminal(ctx, Terminal{TID: testTID, MID: newMID, Enabled: true}))
	if res := send(KindPurchase, "0200"); !errors.Is(res.Err, ErrUnknownTerminal) {
		t.Fatalf("old mid after the move: %v, want %v", res.Err, ErrUnknownTerminal)
	}
	res := send(KindPurchase, "0200", atNew)
	if res.Err != nil {
		t.Fatalf("moved terminal at its new mid: %v", res.Err)
	}
	// The purchase was posted to the new merchant's account.
	bal, err := s.AccountBalance(accountMerchantSV(newMID))
	if err != nil {
		t.Fatal(err)
	}
	if bal != 100 {
		t.Fatalf("new merchant's stored value: %d, want 100", bal)
	}
}

// TestTerminalEntriesAreBounded: past maxHotTerminals the entries are
// dropped and made again; a terminal's requests are decided the same,
// its batch's totals (cached in its entry) counted in full.
func TestTerminalEntriesAreBounded(t *testing.T) {
	s, _ := openTest(t)
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000002", 100)); res.Err != nil {
		t.Fatal(res.Err)
	}
	// Entries for as many unknown terminals as a flood of requests would
	// make, made in the writer as it makes them.
	most := 0
	must(t, s.update(context.Background(), func(t *tx) error {
		for i := range maxHotTerminals + 10 {
			t.s.terminalEntry(fmt.Sprintf("U%07d", i), testMID)
			most = max(most, len(t.s.terminals))
		}
		return nil
	}))
	if most > maxHotTerminals {
		t.Fatalf("%d terminal entries, above %d", most, maxHotTerminals)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000003", 250)); res.Err != nil {
		t.Fatalf("the known terminal after the entries were dropped: %v", res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000004", 100, func(r *Request) { r.TID = "U0000001" })); !errors.Is(res.Err, ErrUnknownTerminal) {
		t.Fatalf("an unknown terminal: %v, want %v", res.Err, ErrUnknownTerminal)
	}
	closeBatch := req(KindBatchClose, "0500", "000005", 0, func(r *Request) { r.Totals = BatchTotals{DebitCount: 2, DebitAmount: 350} })
	if res := do(t, s, closeBatch); res.Err != nil {
		t.Fatalf("batch close on both purchases' totals: %v", res.Err)
	}
}

// TestTerminalBatchSlotMoves: the entry caches one batch; a request
// naming another takes its place, and the one it held is still
// counted, closed and read back right.
func TestTerminalBatchSlotMoves(t *testing.T) {
	s, _ := openTest(t)
	stan := 0
	send := func(kind Kind, mti string, amount Amount, opts ...reqOpt) Result {
		stan++
		return do(t, s, req(kind, mti, fmt.Sprintf("%06d", stan), amount, opts...))
	}
	inBatch := func(n uint32) reqOpt { return func(r *Request) { r.Batch = n } }
	if res := send(KindSignOn, "0800", 0); res.Err != nil {
		t.Fatal(res.Err)
	}
	p1 := send(KindPurchase, "0200", 100, inBatch(1))
	if p1.Err != nil {
		t.Fatal(p1.Err)
	}
	// Batch 2 opens, and closes batch 1 on the host's totals.
	if res := send(KindPurchase, "0200", 200, inBatch(2)); res.Err != nil {
		t.Fatal(res.Err)
	}
	// Batch 1 is closed (12).
	if res := send(KindPurchase, "0200", 300, inBatch(1)); !errors.Is(res.Err, ErrNotAllowed) {
		t.Fatalf("purchase in closed batch 1: %v, want %v", res.Err, ErrNotAllowed)
	}
	// A purchase in batch 2, reversed, is taken out of it again.
	p3 := send(KindPurchase, "0200", 400, inBatch(2))
	if p3.Err != nil {
		t.Fatal(p3.Err)
	}
	orig := OrigRef{"0200", fmt.Sprintf("%06d", stan), "1123100000"}
	if res := send(KindReversal, "0400", 400, inBatch(2), func(r *Request) { r.Orig = orig }); res.Err != nil {
		t.Fatalf("reversal: %v", res.Err)
	}
	if res := send(KindBatchClose, "0500", 0, inBatch(2), func(r *Request) { r.Totals = BatchTotals{DebitCount: 1, DebitAmount: 200} }); res.Err != nil {
		t.Fatalf("close batch 2: %v", res.Err)
	}
	batches, err := s.TerminalBatches(testTID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]BatchTotals{1: {DebitCount: 1, DebitAmount: 100}, 2: {DebitCount: 1, DebitAmount: 200}}
	for _, b := range batches {
		if b.State != BatchClosed || b.Totals != want[b.Number] {
			t.Errorf("batch %d: state %d totals %+v, want closed with %+v", b.Number, b.State, b.Totals, want[b.Number])
		}
		delete(want, b.Number)
	}
	if len(want) != 0 {
		t.Errorf("batches missing: %v", want)
	}
}

// TestTerminalSlotsAgainstModel decides waves of purchases from a few
// terminals, each naming its open batch, a new one or an old, closed
// one, submitted together so that a wave's later requests are decided
// while its earlier ones are not yet committed, with the terminal
// entries dropped between some waves. Every batch's totals and state
// in the store must be the model's: the slots lose no value as they
// change batches and give their values back.
func TestTerminalSlotsAgainstModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.Adjust(ctx, testPAN, 480_000, "float"); err != nil {
		t.Fatal(err)
	}
	tids := []string{testTID, "T0000102", "T0000103"}
	type model struct {
		open   uint32
		seen   map[uint32]bool
		closed map[uint32]bool
		totals map[uint32]BatchTotals
	}
	terms := map[string]*model{}
	for i, tid := range tids {
		if i > 0 {
			must(t, s.PutTerminal(ctx, Terminal{TID: tid, MID: testMID, Enabled: true}))
		}
		terms[tid] = &model{seen: map[uint32]bool{}, closed: map[uint32]bool{}, totals: map[uint32]BatchTotals{}}
		r := req(KindSignOn, "0800", "000001", 0, func(r *Request) { r.TID = tid })
		if res := do(t, s, r); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	stan := 1
	for round := range 40 {
		type sent struct {
			r    *Request
			want error
		}
		var wave []sent
		for range 1 + rng.IntN(12) {
			tid := tids[rng.IntN(len(tids))]
			m := terms[tid]
			n := m.open
			switch k := rng.IntN(10); {
			case k < 2 || n == 0:
				n = m.open + 1 // a new batch
			case k < 3:
				n = 1 + uint32(rng.IntN(int(m.open))) // an old one, maybe closed
			}
			stan++
			amount := Amount(1 + rng.IntN(999))
			r := req(KindPurchase, "0200", fmt.Sprintf("%06d", stan), amount, func(r *Request) { r.TID, r.Batch = tid, n })
			var want error
			if m.closed[n] {
				want = ErrNotAllowed
			} else {
				if !m.seen[n] {
					if m.open != 0 {
						m.closed[m.open] = true
					}
					m.seen[n], m.open = true, n
				}
				tot := m.totals[n]
				tot.DebitCount++
				tot.DebitAmount += amount
				m.totals[n] = tot
			}
			wave = append(wave, sent{r, want})
		}
		results := make([]chan Result, len(wave))
		for i, w := range wave {
			ch := make(chan Result, 1)
			results[i] = ch
			if err := s.Submit(ctx, w.r, func(res Result) { ch <- res }); err != nil {
				t.Fatal(err)
			}
		}
		for i, w := range wave {
			if res := <-results[i]; !errors.Is(res.Err, w.want) || (w.want == nil && res.Err != nil) {
				t.Fatalf("wave %d: tid %s batch %d stan %s: %v, want %v", round, w.r.TID, w.r.Batch, w.r.STAN, res.Err, w.want)
			}
		}
		// A slot's value is in one place: not in the values map too.
		must(t, s.update(ctx, func(t *tx) error {
			for _, e := range t.s.terminals {
				for _, sl := range []struct {
					key  string
					slot *cachedSlot
				}{{e.stateKey, &e.state}, {e.batchKey, &e.batch}} {
					if _, dup := t.s.values[sl.key]; dup && sl.slot.ok {
						return fmt.Errorf("%s is in its terminal's slot and in the values map", sl.key)
					}
				}
			}
			if rng.IntN(4) == 0 {
				t.s.dropTerminals()
			}
			return nil
		}))
	}
	for _, tid := range tids {
		m := terms[tid]
		batches, err := s.TerminalBatches(tid)
		if err != nil {
			t.Fatal(err)
		}
		if len(batches) != len(m.seen) {
			t.Errorf("tid %s: %d batches, want %d", tid, len(batches), len(m.seen))
		}
		for _, b := range batches {
			wantState := BatchOpen
			if m.closed[b.Number] {
				wantState = BatchClosed
			}
			if b.Totals != m.totals[b.Number] || b.State != wantState {
				t.Errorf("tid %s batch %d: state %d totals %+v, want state %d totals %+v", tid, b.Number, b.State, b.Totals, wantState, m.totals[b.Number])
			}
		}
	}
}
