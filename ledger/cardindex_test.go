package ledger

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestPackPAN(t *testing.T) {
	for _, tc := range []struct {
		pan string
		ok  bool
	}{
		{"6210000000000013", true},
		{strings.Repeat("9", maxPackedDigits), true}, // the largest: still below 2^64
		{"0", true},
		{strings.Repeat("9", maxPackedDigits+1), false},
		{"", false},
		{"62100000000000A3", false},
		{"6210 000", false},
	} {
		k, ok := packPAN(tc.pan)
		if ok != tc.ok {
			t.Errorf("packPAN(%q): ok %v, want %v", tc.pan, ok, tc.ok)
		}
		if ok && (int(k.n) != len(tc.pan) || fmt.Sprintf("%0*d", k.n, k.v) != tc.pan) {
			t.Errorf("packPAN(%q) = %+v: does not give the PAN back", tc.pan, k)
		}
	}
	a, _ := packPAN("0123")
	b, _ := packPAN("123")
	if a == b {
		t.Error(`"0123" and "123" pack alike`)
	}
}

// Entries are found by their PAN, packed or not, keep their address
// while the index grows, and an evicted entry's slot is cleared and
// reused before the index grows again.
func TestCardIndex(t *testing.T) {
	x := newCardIndex()
	pan := func(i int) string {
		if i%10 == 0 {
			return fmt.Sprintf("TEST%06d", i) // not all digits: the other map
		}
		return fmt.Sprintf("6210%012d", i)
	}
	const n = 3*cardSlabSize + 7
	first := x.entry(pan(1))
	first.slots[slotSV].ok = true
	for i := 2; i <= n; i++ {
		x.entry(pan(i))
	}
	if x.len() != n || len(x.slabs) != 4 {
		t.Fatalf("%d entries in %d slabs, want %d in 4", x.len(), len(x.slabs), n)
	}
	for i := 1; i <= n; i++ {
		if c := x.get(pan(i)); c == nil || c.pan() != pan(i) {
			t.Fatalf("get(%q) = %v", pan(i), c)
		}
	}
	if x.get(pan(1)) != first || !first.slots[slotSV].ok {
		t.Fatal("an entry moved or changed while the index grew")
	}
	if x.entry(pan(1)) != first || x.len() != n {
		t.Fatal("entry made a second entry for a cached PAN")
	}
	if x.get(pan(n+1)) != nil || x.get("6210") != nil {
		t.Fatal("an absent PAN has an entry")
	}

	// Keep every odd one: at most the even ones go.
	keep := func(c *cardValues) bool { return c.pan()[len(c.pan())-1]%2 == 1 }
	if got := x.evict(100, keep); got != 100 {
		t.Fatalf("evicted %d, want 100", got)
	}
	if got := x.evict(n, keep); got != n/2-100 {
		t.Fatalf("evicted %d more, want %d", got, n/2-100)
	}
	for i := 1; i <= n; i++ {
		c := x.get(pan(i))
		if (c != nil) != (i%2 == 1) {
			t.Fatalf("after eviction: %q cached %v", pan(i), c != nil)
		}
	}
	for _, slot := range x.free {
		if c := x.at(slot); c.keys != "" || c.slots[slotSV].ok {
			t.Fatalf("evicted slot %d not cleared: %+v", slot, c)
		}
	}
	for i := n + 1; i <= n+n/2; i++ {
		x.entry(pan(i))
	}
	if len(x.slabs) != 4 || len(x.free) != 0 || x.len() != n {
		t.Fatalf("after re-adding: %d slabs, %d free, %d entries", len(x.slabs), len(x.free), x.len())
	}
	for i := n + 1; i <= n+n/2; i++ {
		if c := x.get(pan(i)); c == nil || c.pan() != pan(i) {
			t.Fatalf("get(%q) after reuse = %v", pan(i), c)
		}
	}
}

// A card cache sized to the cards in use keeps every one of them: an
// operator sizes hot_cards to the cards active in a day, and a cache
// that evicted on reaching its size would read a quarter of them back
// from Pebble.
func TestCardCacheHoldsHotCards(t *testing.T) {
	const hot = 9
	s, _ := openTestIn(t, t.TempDir(), Options{HotCards: hot})
	pans := provisionTestCards(t, s, hot-1) // and testPAN
	pans = append(pans, testPAN)
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	for i, pan := range pans {
		if res := do(t, s, req(KindPurchase, "0200", fmt.Sprintf("%06d", i+2), 100, func(r *Request) { r.PAN = pan })); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	must(t, s.update(context.Background(), func(t2 *tx) error {
		for _, pan := range pans {
			if t2.s.cards.get(pan) == nil {
				t.Errorf("card %s evicted from a cache of %d with %d cards", pan, hot, len(pans))
			}
		}
		return nil
	}))
}

// provisionTestCards makes n cards of the test program beside testPAN,
// each with 100.00 stored.
func provisionTestCards(t *testing.T, s *Store, n int) []string {
	t.Helper()
	ctx := context.Background()
	pans := testPANs("621001%09d", n) // not testPAN
	for _, pan := range pans {
		must(t, s.PutCard(ctx, testCard(pan)))
		if _, err := s.Adjust(ctx, pan, 10000, "opening"); err != nil {
			t.Fatal(err)
		}
	}
	return pans
}

// A card cache far smaller than the cards in use evicts as it goes: a
// card decided on again after its entry was dropped is read back from
// Pebble, with every earlier decision on it, and the cache stays near
// its bound.
func TestSmallCardCacheEvictsAndRereads(t *testing.T) {
	const hot, cards, rounds = 8, 40, 3
	s, _ := openTestIn(t, t.TempDir(), Options{HotCards: hot})
	pans := provisionTestCards(t, s, cards)
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	stan := 1
	for round := 1; round <= rounds; round++ {
		for _, pan := range pans {
			stan++
			res := do(t, s, req(KindPurchase, "0200", fmt.Sprintf("%06d", stan), 100, func(r *Request) { r.PAN = pan }))
			if res.Err != nil || res.Balances.Ledger != Amount(10000-100*round) {
				t.Fatalf("round %d, card %s: %v, balances %+v", round, pan, res.Err, res.Balances)
			}
		}
	}
	if cached := cardsCached(t, s); cached > 2*hot {
		t.Errorf("%d cards cached, bound %d", cached, hot)
	}
}

// Any string packs only when it is 1 to 19 digits, and then packs to
// a key that gives it back; two strings that pack alike are the same.
func FuzzPackPAN(f *testing.F) {
	for _, s := range []string{"6210000000000013", "0", "0123", "123", strings.Repeat("9", 20), "", "62x0", "\xff"} {
		f.Add(s, "123")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, ok := packPAN(a)
		digits := len(a) >= 1 && len(a) <= maxPackedDigits && strings.Trim(a, "0123456789") == ""
		if ok != digits {
			t.Fatalf("packPAN(%q): ok %v", a, ok)
		}
		if !ok {
			return
		}
		if back := fmt.Sprintf("%0*d", ka.n, ka.v); back != a {
			t.Fatalf("packPAN(%q) = %+v gives back %q", a, ka, back)
		}
		if kb, okb := packPAN(b); okb && kb == ka && a != b {
			t.Fatalf("%q and %q pack alike: %+v", a, b, ka)
		}
	})
}

// cardsCached is the number of cards in s's card cache, read by the
// writer, which owns it.
func cardsCached(tb testing.TB, s *Store) int {
	n := 0
	must(tb, s.update(context.Background(), func(t *tx) error { n = t.s.cards.len(); return nil }))
	return n
}
