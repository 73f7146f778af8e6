package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// A card cache entry's keys are cut out of one string: each must be the
// key its constructor builds, for every PAN length.
func TestCardValuesKeys(t *testing.T) {
	for n := cardnum.MinLen; n <= cardnum.MaxLen; n++ {
		pan := strings.Repeat("6", n-1)
		pan += string(cardnum.LuhnDigit(pan))
		c := newCardValues(pan[:]) // a slice of nothing longer; the keys are c's own anyway
		if c.pan() != pan {
			t.Fatalf("%d digits: pan %q", n, c.pan())
		}
		for slot, p := range cardSlotPrefixes {
			if got := c.slotKey(slot); got != p+pan {
				t.Errorf("%d digits: slot %d key %q, want %q", n, slot, got, p+pan)
			}
		}
		if c.recordKey() != keyCardValues(pan) || c.regKey() != keyCard(pan) {
			t.Errorf("%d digits: record key %q, registry key %q", n, c.recordKey(), c.regKey())
		}
	}
}

// Compacting a cached card record changes none of its values, and
// shares what many cards share.
func TestCompactCardKeepsEveryValue(t *testing.T) {
	s := &Store{}
	mk := func(pan string) *Card {
		// Built field by field, as a decoder does: no string is shared yet.
		return &Card{PAN: strings.Clone(pan), ProgramID: strings.Clone("mall"), HomeMID: strings.Clone("MALL00000000001"),
			Product: strings.Clone("chip"), State: CardLost, Expiry: strings.Clone("2912"), ServiceCode: strings.Clone("201"),
			PSN: "01", Blacklisted: true, PINData: []byte{1, 2, 3},
			Member:     Member{Name: "Li Lei", Phone: "13800000000", Birthday: "1990-05-04", Registered: true},
			MaxBalance: 100, PerTxnLimit: 50, DailyLimit: 70, DailyCountLimit: 3}
	}
	var cards [2]*Card
	for i, pan := range []string{"6210000000000013", "6210000000000021"} {
		c := mk(pan)
		want := *c
		want.PINData = []byte{1, 2, 3}
		entry := newCardValues(pan)
		s.compactCard(c, &entry)
		if !reflect.DeepEqual(*c, want) {
			t.Fatalf("compacted %+v, want %+v", *c, want)
		}
		if unsafe.StringData(c.PAN) != unsafe.StringData(entry.pan()) {
			t.Error("the record's PAN is not the cache entry's")
		}
		cards[i] = c
	}
	if unsafe.StringData(cards[0].ProgramID) != unsafe.StringData(cards[1].ProgramID) ||
		unsafe.StringData(cards[0].HomeMID) != unsafe.StringData(cards[1].HomeMID) {
		t.Error("two cards of one program and home merchant do not share those strings")
	}
	empty := &Card{PAN: "6210000000000013"}
	emptyEntry := newCardValues(empty.PAN)
	s.compactCard(empty, &emptyEntry)
	if !reflect.DeepEqual(*empty, Card{PAN: "6210000000000013"}) {
		t.Fatalf("a card without member data: %+v", *empty)
	}
}

// The writer keeps a card's registry record decoded in its cache entry:
// a change is what the next decision sees, a rolled-back change is not,
// and a raw read sees the latest change whether or not its group has
// committed yet.
func TestCardCacheFollowsChanges(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000002", 100)); res.Err != nil {
		t.Fatal(res.Err)
	}
	// A change the op itself rolls back leaves the cached record alone.
	errRefused := errors.New("refused after the change")
	err := s.update(ctx, func(tx *tx) error {
		c, err := existingCard(tx, testPAN)
		if err != nil {
			return err
		}
		cp := *c
		cp.State = CardLost
		if err := registryPut(tx, keyCard(testPAN), &cp); err != nil {
			return err
		}
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("the refused change: %v", err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000003", 100)); res.Err != nil {
		t.Fatalf("after a rolled-back change: %v", res.Err)
	}
	// A change that stands is the next decision's.
	must(t, s.SetCardState(ctx, testPAN, CardLost, Operator{Name: "t", Reason: "test"}))
	if res := do(t, s, req(KindPurchase, "0200", "000004", 100)); !errors.Is(res.Err, ErrCardLost) {
		t.Fatalf("after the card was reported lost: %v", res.Err)
	}
	// A raw read of the record (tx.get) sees a change not yet
	// committed: the card cache holds it decoded, and only it.
	must(t, s.update(ctx, func(tx *tx) error {
		c := tx.cardValues(testPAN)
		if _, err := tx.card(testPAN); err != nil {
			return err
		}
		kept, keptGen := c.reg, c.regGen
		cp := *c.reg
		cp.State = CardFrozen
		c.reg, c.regGen = &cp, tx.s.committedGen+1 // as if a group in flight changed it
		defer func() { c.reg, c.regGen = kept, keptGen }()
		raw, err := tx.get(keyCard(testPAN))
		if err != nil {
			return err
		}
		var seen Card
		if err := json.Unmarshal(raw, &seen); err != nil || seen.State != CardFrozen || seen.PAN != testPAN {
			return fmt.Errorf("raw read of an uncommitted change: %+v, %v", seen, err)
		}
		return nil
	}))
	// Ops submitted back to back, the second reading what the first
	// changed, in the same group or the next, committed or not.
	for round := range 20 {
		state := CardActive
		if round%2 == 1 {
			state = CardFrozen
		}
		done := make(chan Result, 2)
		change := &op{admin: func(tx *tx) error {
			c, err := existingCard(tx, testPAN)
			if err != nil {
				return err
			}
			cp := *c
			cp.State = state
			return registryPut(tx, keyCard(testPAN), &cp)
		}, done: func(r Result) { done <- r }}
		var raw Card
		var decoded *Card
		read := &op{admin: func(tx *tx) error {
			b, err := tx.get(keyCard(testPAN))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &raw); err != nil {
				return err
			}
			decoded, err = registryGet[Card](tx, keyCard(testPAN))
			return err
		}, done: func(r Result) { done <- r }}
		must(t, s.enqueue(ctx, change))
		must(t, s.enqueue(ctx, read))
		for range 2 {
			must(t, (<-done).Err)
		}
		if raw.State != state || decoded.State != state {
			t.Fatalf("round %d: read %v raw and %v decoded after the change to %v", round, raw.State, decoded.State, state)
		}
		if c, err := s.Card(testPAN); err != nil || c.State != state {
			t.Fatalf("round %d: stored %+v, %v", round, c, err)
		}
	}
}

// A retired group's map comes back empty, a map an unusually large
// group grew is not kept, and no more than a few spares are.
func TestGroupSparesRecycle(t *testing.T) {
	var m spares[map[string][]byte]
	if m.get() != nil {
		t.Fatal("a spare map before any was put")
	}
	used := map[string][]byte{"txn/0000000000000001": {1}}
	putMap(&m, used)
	got := m.get()
	if got == nil || len(got) != 0 {
		t.Fatalf("recycled map %v, want an empty one", got)
	}
	big := make(map[string][]byte)
	for i := 0; i <= maxSpareGroupMapLen; i++ {
		big[keyTxn(uint64(i))] = nil
	}
	putMap(&m, big)
	if m.get() != nil {
		t.Fatal("a map past maxSpareGroupMapLen was kept")
	}
	for i := 0; i < 2*maxSpares; i++ {
		putMap(&m, map[string][]byte{})
	}
	if len(m.free) != maxSpares {
		t.Fatalf("%d spare maps, want at most %d", len(m.free), maxSpares)
	}
}
