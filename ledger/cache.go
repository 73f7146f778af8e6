package ledger

// cache.go: the writer's cache of committed values: what is worth
// keeping and how it stays bounded.

import "strings"

// cachedValue is a value the writer wrote or read, as of group gen (0:
// read from Pebble). It is committed once gen <= Store.committedGen; a
// nil val is an absent (or deleted) key.
type cachedValue struct {
	val []byte
	gen uint64
}

// isIndexKey: the journal's runs (jr/), which decisions never read:
// the writer knows the latest run's date (Store.runDate).
func isIndexKey(key string) bool { return strings.HasPrefix(key, prefixRun) }

// worthCaching says whether a committed key is likely to be read again
// soon: balances, terminal and batch state, day counters, holds. Each
// request's identity and journal entry are written once and read rarely
// (a retransmission, a refund): Pebble serves those, and they stay out
// of the cache so that it holds what every decision reads.
func worthCaching(key string) bool {
	switch {
	case strings.HasPrefix(key, prefixIdem),
		strings.HasPrefix(key, prefixTxn), strings.HasPrefix(key, prefixRun),
		strings.HasPrefix(key, prefixWalletPage):
		return false
	}
	return true
}

// A card's own keys that most decisions on it read — its stored value
// and points accounts, holds, security state, loyalty record, day
// counter and merchants seen — are
// cached together, in one cardValues per card, so that a decision finds
// them all with one map lookup (tx.cardValues) instead of one lookup
// each in a map of every hot key: on a host with many cards each of
// those lookups is a cache miss, and together they were a quarter of a
// purchase's decision time.
const (
	slotSV = iota
	slotPoints
	slotHolds
	slotSecurity
	slotWallet
	slotVisited
	slotDay
	numCardSlots
)

// cardSlotPrefixes are the slots' key prefixes; the rest of the key is
// the PAN.
var cardSlotPrefixes = [numCardSlots]string{
	slotSV: prefixAccount + "sv/", slotPoints: prefixAccount + "pt/",
	slotHolds: prefixHolds, slotSecurity: prefixCardSec, slotWallet: prefixWallet,
	slotVisited: prefixVisited, slotDay: prefixCardDay,
}

// cardValues is one card's cached keys; a slot not cached is !ok.
type cardValues struct {
	slots [numCardSlots]struct {
		cachedValue
		ok bool
	}
	// keys are the slots' keys, each cardSlotPrefixes[slot] + PAN, one
	// after the other in one string built on the card's first use
	// (slotKey): every decision on a card names the same keys, and
	// building them each time was an allocation a key.
	keys string
	// recordKey is the card's values record key (keyCardValues), built
	// on the card's first write of a merged key.
	recordKey string
	// regKey is the card's registry key (cardRegKey).
	regKey string
}

// slotKey is the card's key of slot; pan is the card's PAN.
func (c *cardValues) slotKey(slot int, pan string) string {
	if c.keys == "" {
		n := numCardSlots * len(pan)
		for _, p := range cardSlotPrefixes {
			n += len(p)
		}
		var b strings.Builder
		b.Grow(n)
		for _, p := range cardSlotPrefixes {
			b.WriteString(p)
			b.WriteString(pan)
		}
		c.keys = b.String()
	}
	off := 0
	for _, p := range cardSlotPrefixes[:slot] {
		off += len(p) + len(pan)
	}
	return c.keys[off : off+len(cardSlotPrefixes[slot])+len(pan)]
}

// committed: no slot holds a value of a group not yet committed.
func (c *cardValues) committed(gen uint64) bool {
	for i := range c.slots {
		if c.slots[i].ok && c.slots[i].gen > gen {
			return false
		}
	}
	return true
}

// cardSlotOf splits one of a card's cached keys into its slot and PAN.
func cardSlotOf(key string) (slot int, pan string, ok bool) {
	switch {
	case strings.HasPrefix(key, prefixAccount):
		for slot = slotSV; slot <= slotPoints; slot++ {
			if p, found := strings.CutPrefix(key, cardSlotPrefixes[slot]); found {
				return slot, p, true
			}
		}
		return 0, "", false
	case strings.HasPrefix(key, prefixHolds):
		return slotHolds, key[len(prefixHolds):], true
	case strings.HasPrefix(key, prefixCardSec):
		return slotSecurity, key[len(prefixCardSec):], true
	case strings.HasPrefix(key, prefixWallet):
		return slotWallet, key[len(prefixWallet):], true
	case strings.HasPrefix(key, prefixVisited):
		return slotVisited, key[len(prefixVisited):], true
	case strings.HasPrefix(key, prefixCardDay):
		return slotDay, key[len(prefixCardDay):], true
	}
	return 0, "", false
}

// evict keeps the cache near maxHotValues entries by dropping a random
// quarter of them (map order is random) when it is exceeded; values not
// yet committed are never dropped (at most the groups in flight: a few
// times maxOpsPerBatch ops' writes).
func (s *Store) evict() {
	if max := s.opts.HotCards; len(s.cards) >= max {
		n := 0
		for pan, c := range s.cards {
			if !c.committed(s.committedGen) {
				continue
			}
			delete(s.cards, pan)
			if n++; n >= max/4 {
				break
			}
		}
	}
	if len(s.values) < maxHotValues {
		return
	}
	n := 0
	for k, v := range s.values {
		if v.gen > s.committedGen {
			continue
		}
		delete(s.values, k)
		if n++; n >= maxHotValues/4 {
			return
		}
	}
}
