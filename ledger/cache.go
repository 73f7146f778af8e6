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

// cachedSlot is a cached value kept in an entry of its own key's
// owner (a card's, cache.go; a terminal's, terminals.go) rather than in
// the values map; !ok: not cached there.
type cachedSlot struct {
	cachedValue
	ok bool
	// owned: val is a copy the writer made for this slot alone (kept,
	// by setTerminalSlot), which nothing else points to, so the slot's
	// next value of no greater size may be copied into it instead of a
	// new one. Whatever else sets the slot's value clears it.
	owned bool
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
//
// It is also the one place the writer keeps the card's registry record
// (reg/card/<pan>), decoded: every decision on the card reads it, and
// keeping it here, rather than its JSON in the values cache and its
// decoded copy in the registry cache, makes a hot card one slab entry
// (cardindex.go) and a handful of objects for the garbage collector to
// mark, not two dozen (docs/performance.md, "The garbage collector").
type cardValues struct {
	slots [numCardSlots]cachedSlot
	// reg is the card's registry record (nil: no such card) as of group
	// regGen (0: read from Pebble), once regOK. Writer only, never
	// changed in place: a change replaces it (tx.flush).
	reg    *Card
	regGen uint64
	regOK  bool
	// panLen is the PAN's length in keys.
	panLen int
	// keys are the card's PAN, then its slots' keys (each
	// cardSlotPrefixes[slot] + PAN), its values record key
	// (keyCardValues) and its registry key (keyCard), one after the
	// other in one string built when the card is first cached: every
	// decision on a card names the same keys, and building them each time
	// was an allocation a key.
	keys string
}

// newCardValues is an empty cache entry for pan, its keys built.
func newCardValues(pan string) cardValues {
	n := len(pan) + numCardSlots*len(pan) + len(prefixCardValues) + len(pan) + len(prefixCard) + len(pan)
	for _, p := range cardSlotPrefixes {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(pan)
	for _, p := range cardSlotPrefixes {
		b.WriteString(p)
		b.WriteString(pan)
	}
	b.WriteString(prefixCardValues)
	b.WriteString(pan)
	b.WriteString(prefixCard)
	b.WriteString(pan)
	return cardValues{panLen: len(pan), keys: b.String()}
}

// pan is the card's PAN.
func (c *cardValues) pan() string { return c.keys[:c.panLen] }

// slotKey is the card's key of slot.
func (c *cardValues) slotKey(slot int) string {
	n := c.panLen
	off := n
	for _, p := range cardSlotPrefixes[:slot] {
		off += len(p) + n
	}
	return c.keys[off : off+len(cardSlotPrefixes[slot])+n]
}

// recordKey is the card's values record key, keyCardValues(pan).
func (c *cardValues) recordKey() string {
	end := len(c.keys) - len(prefixCard) - c.panLen
	return c.keys[end-len(prefixCardValues)-c.panLen : end]
}

// regKey is the card's registry key, keyCard(pan).
func (c *cardValues) regKey() string {
	return c.keys[len(c.keys)-len(prefixCard)-c.panLen:]
}

// committed: neither a slot nor the registry record holds a value of a
// group not yet committed.
func (c *cardValues) committed(gen uint64) bool {
	if c.regOK && c.regGen > gen {
		return false
	}
	for i := range c.slots {
		if c.slots[i].ok && c.slots[i].gen > gen {
			return false
		}
	}
	return true
}

// compactCard makes card, which the card cache entry c keeps, as few
// objects as it can be: its PAN is the entry's, the values many cards
// share (program, home merchant, product, expiry, service code) are
// interned, and the member's own strings and the PSN share one
// allocation. The strings a JSON decode made are then garbage at once,
// rather than objects the collector marks for as long as the card is
// hot.
func (s *Store) compactCard(card *Card, c *cardValues) {
	if card.PAN == c.pan() {
		card.PAN = c.pan()
	}
	f := &s.cardFields
	card.ProgramID, card.HomeMID = f.str(card.ProgramID), f.str(card.HomeMID)
	card.Product, card.Expiry, card.ServiceCode = f.str(card.Product), f.str(card.Expiry), f.str(card.ServiceCode)
	m := &card.Member
	own := [...]*string{&m.Name, &m.Phone, &m.Birthday, &card.PSN}
	n := 0
	for _, p := range own {
		n += len(*p)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range own {
		b.WriteString(*p)
	}
	joined := b.String()
	for _, p := range own {
		*p, joined = joined[:len(*p)], joined[len(*p):]
	}
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

// evictable says whether the writer may drop a cached value written (or
// read) by group gen: one Pebble already holds at its key. Not one not
// yet committed, nor an aggregate whose latest value is only in the
// aggregate log (its group came after the last checkpoint): its own key
// holds an older one, and the writer reads the key alone (storedGet).
func evictable(key string, gen, committedGen, checkpointedGen uint64) bool {
	return gen <= committedGen && (gen <= checkpointedGen || !isAggregateKey(key))
}

// evict keeps the card cache at most Options.HotCards cards and the
// values cache near maxHotValues entries, by dropping a random quarter
// of one (map order is random) when it holds more; values not yet
// committed are never dropped (at most the groups in flight: a few
// times maxOpsPerBatch ops' writes). A card cache sized to the cards in
// use (hot_cards) never evicts: it may hold all HotCards of them.
func (s *Store) evict() {
	if max := s.opts.HotCards; s.cards.len() > max {
		s.cards.evict(max/4, func(c *cardValues) bool { return !c.committed(s.committedGen) })
	}
	if len(s.values) < maxHotValues {
		return
	}
	n := 0
	checkpointed := s.checkpointedGen.Load()
	for k, v := range s.values {
		if !evictable(k, v.gen, s.committedGen, checkpointed) {
			continue
		}
		delete(s.values, k)
		if n++; n >= maxHotValues/4 {
			return
		}
	}
}
