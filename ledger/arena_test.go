package ledger

import (
	"bytes"
	"strings"
	"testing"
)

// An arena's records are independent: appending to one reallocates
// instead of writing over the next, an empty record is present (not
// nil: nil is an absent key), and a large one has its own array.
func TestArenaRecordsIndependent(t *testing.T) {
	var a arena
	first := a.copy([]byte("first"))
	second := a.copy([]byte("second"))
	if cap(first) != len(first) {
		t.Fatalf("capacity %d past the record's %d bytes", cap(first), len(first))
	}
	grown := append(first, "XXXXXX"...)
	if string(second) != "second" || string(grown) != "firstXXXXXX" {
		t.Fatalf("second %q grown %q after an append to the first", second, grown)
	}
	if empty := a.copy(nil); empty == nil || len(empty) != 0 {
		t.Fatalf("empty record %#v, want present and empty", empty)
	}
	big := bytes.Repeat([]byte("b"), arenaChunkBytes)
	kept := a.copy(big)
	big[0] = 'x'
	if kept[0] != 'b' || cap(kept) != len(kept) {
		t.Fatalf("large record aliased its source or has spare capacity")
	}
	// Filling past a chunk starts another: earlier records stay as they were.
	for i := 0; i < 3*arenaChunkBytes/10; i++ {
		a.copy([]byte("0123456789"))
	}
	if string(first) != "first" || string(second) != "second" {
		t.Fatalf("records changed: %q %q", first, second)
	}
}

func TestInArena(t *testing.T) {
	for key, want := range map[string]bool{
		keyTxn(7): true, keyIdem("T1", "000001", "1203100000"): true,
		keyAccount(accountMerchantSV("M1")): true, keyAccount(accountFloat("p1")): true,
		keyAccount(accountSV(testPAN)): false, keyAccount(accountPoints(testPAN)): false,
		keyBatch("T1", 1): false, keyHolds(testPAN): false, keyTermState("T1"): false,
	} {
		if got := inArena(key); got != want {
			t.Errorf("inArena(%s) = %v, want %v", strings.SplitN(key, "/", 2)[0], got, want)
		}
	}
}

// The cache keeps a long-lived value as a copy of its own, a short-lived
// one as the arena's slice.
func TestKeptCopiesLongLived(t *testing.T) {
	var a arena
	card := kv{key: keyAccount(accountSV(testPAN)), val: a.copy([]byte("sv")), inArena: true}
	if got := kept(card); &got[0] == &card.val[0] || string(got) != "sv" {
		t.Fatalf("a card's account kept as the arena's slice (or changed: %q)", got)
	}
	txn := kv{key: keyTxn(7), val: a.copy([]byte("txn")), inArena: true}
	if got := kept(txn); &got[0] != &txn.val[0] {
		t.Fatalf("a journal entry copied out of the arena")
	}
	own := kv{key: keyAccount(accountSV(testPAN)), val: []byte("own")}
	if got := kept(own); &got[0] != &own.val[0] {
		t.Fatalf("a value not in the arena copied again")
	}
}
