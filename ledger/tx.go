package ledger

// tx.go: tx, one op's staged writes, its reads through them and how
// flush moves them into the group (the typed record readers built on
// it: tx_records.go).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// tx stages one op's writes. Reads see the op's own writes, then the
// overlay of uncommitted groups, then Pebble. flush moves the staged
// writes into the group; rollback drops them.
type tx struct {
	s        *Store
	g        *group
	writes   []kv
	cache    []kvAny
	seqStart uint64
	// lastPAN's cardValues (nil: none yet): an op reads and writes one
	// card's keys several times.
	lastPAN  string
	lastCard *cardValues
	// te is the entry of the terminal whose request the op decides (nil:
	// none; terminals.go).
	te *terminalEntry
	// runDate is the date of a run this op started (book; 0: none):
	// the writer's Store.runDate once the op is flushed.
	runDate uint32
}

// cardValues is pan's entry in the card cache, made when absent.
func (t *tx) cardValues(pan string) *cardValues {
	if t.lastCard != nil && t.lastPAN == pan {
		return t.lastCard
	}
	c := t.s.cards.entry(pan)
	t.lastPAN, t.lastCard = pan, c
	return c
}

// cardKey is pan's key of slot (cardSlotPrefixes[slot] + pan), built
// once while the card is hot.
func (t *tx) cardKey(pan string, slot int) string {
	return t.cardValues(pan).slotKey(slot)
}

// loadCardAccount sets *a to the card's stored value (slotSV) or points
// (slotPoints) account.
func (t *tx) loadCardAccount(pan string, slot int, a *Account) error {
	unit := UnitMoney
	if slot == slotPoints {
		unit = UnitPoints
	}
	key := t.cardKey(pan, slot)
	*a = Account{ID: key[len(prefixAccount):], Unit: unit, key: key}
	return t.load(a)
}

type kv struct {
	key string
	val []byte
	del bool
	// inArena: val is a slice of the writer's arena (tx.put).
	inArena bool
}

type kvAny struct {
	key string
	val any
}

func (t *tx) get(key string) ([]byte, error) {
	for i := len(t.writes) - 1; i >= 0; i-- {
		if t.writes[i].key == key {
			return t.writes[i].val, nil // nil when deleted
		}
	}
	if slot, pan, ok := cardSlotOf(key); ok {
		cv := t.cardValues(pan)
		c := &cv.slots[slot]
		if c.ok {
			return c.val, nil
		}
		if isMergedSlot(slot) {
			err := t.loadCardParts(pan, cv)
			return c.val, err
		}
		v, err := t.s.dbGet(key)
		if err == nil {
			c.cachedValue, c.ok = cachedValue{val: v}, true
		}
		return v, err
	}
	if pan, ok := strings.CutPrefix(key, prefixCard); ok {
		return t.cardRaw(pan)
	}
	if !worthCaching(key) {
		// Written once, read rarely: an uncommitted write is in its
		// group, newest group first; a committed one is in Pebble.
		for i := len(t.s.live) - 1; i >= 0; i-- {
			if v, ok := t.s.live[i].transient[key]; ok {
				return v, nil
			}
		}
		return t.s.dbGet(key)
	}
	if sl := t.terminalSlot(key); sl != nil {
		return t.getTerminalSlot(sl, key)
	}
	if v, ok := t.s.values[key]; ok {
		return v.val, nil
	}
	v, err := t.s.storedGet(key)
	if err == nil {
		t.s.values[key] = cachedValue{val: v}
	}
	return v, err
}

func (t *tx) set(key string, val []byte) { t.writes = append(t.writes, kv{key: key, val: val}) }

// del stages the deletion of key; reads see it absent.
func (t *tx) del(key string) { t.writes = append(t.writes, kv{key: key, del: true}) }

// put stages rec's encoding as key's value, a slice of the writer's
// arena (arena.go). A value the cache keeps long (!inArena) is copied
// out of it by flush (kept) when it is the op's last write of its key:
// one an op writes twice (a card's stored value account: its posting,
// then its history's head) costs nothing for the first.
func (t *tx) put(key string, rec interface{ encode(*encoder) }) {
	e := &t.s.enc // not a local: it would escape through the interface call
	e.b = e.b[:0]
	rec.encode(e)
	t.setCopy(key, e.b)
}

// setCopy stages a copy of b, in the writer's arena, as key's value, as
// put does with a record's encoding, and returns the copy.
func (t *tx) setCopy(key string, b []byte) []byte {
	val := t.s.arena.copy(b)
	t.writes = append(t.writes, kv{key: key, val: val, inArena: true})
	return val
}

// kept is w's value as the cache keeps it: an arena slice of a value
// the cache keeps long (a card's, a batch's) is copied out, so that it
// does not keep its chunk alive (inArena).
func kept(w kv) []byte {
	val, _ := keptIn(nil, w)
	return val
}

// keptIn is kept(w), its copy (copied) made in buf when buf is not nil
// and has room for it: buf must be a copy kept made before, which
// nothing but its one owner points to (cachedSlot.owned).
func keptIn(buf []byte, w kv) (val []byte, copied bool) {
	if !w.inArena || inArena(w.key) {
		return w.val, false
	}
	if buf != nil && cap(buf) >= len(w.val) {
		return append(buf[:0], w.val...), true
	}
	return bytes.Clone(w.val), true
}

// mark and rollback undo part of an op: a declined request keeps only its
// stored response.
type txMark struct {
	writes, cache int
	seq           uint64
	runDate       uint32
}

func (t *tx) mark() txMark { return txMark{len(t.writes), len(t.cache), t.s.nextSeq, t.runDate} }

func (t *tx) rollbackTo(m txMark) {
	t.writes = t.writes[:m.writes]
	t.cache = t.cache[:m.cache]
	t.s.nextSeq = m.seq
	t.runDate = m.runDate
}

// book records that journal entry seq is booked on business date
// date: when the latest run (jr/) is of another date, a run of date
// starts at seq. Entries are booked in sequence order, so this writes
// one key a business date, not one an entry.
func (t *tx) book(seq uint64, date uint32) {
	latest := t.s.runDate
	if t.runDate != 0 {
		latest = t.runDate
	}
	if date == latest {
		return
	}
	v := make([]byte, 8)
	putU64(v, uint64(date))
	t.set(keyRun(seq), v)
	t.runDate = date
}

// loadCardParts fills the card's merged slots (cardrecord.go) not yet
// loaded from its card values record, read once: they are loaded
// together, so that flush can compose the record from them, and a
// card's first use reads its values with one Pebble read.
func (t *tx) loadCardParts(pan string, c *cardValues) error {
	db, release, err := t.s.acquire()
	if err != nil {
		return err
	}
	defer release()
	p, err := readCardParts(db, pan)
	if err != nil {
		return err
	}
	for part, slot := range partSlots {
		if s := &c.slots[slot]; !s.ok {
			s.cachedValue, s.ok = cachedValue{val: p[part]}, true
		}
	}
	return nil
}

// isMergedSlot: the slot's key is one a card values record holds.
func isMergedSlot(slot int) bool {
	_, ok := partOfSlot(slot)
	return ok
}

// flush moves the op's writes into its group. Only the last write of a
// key goes into the batch: an op may write a key twice (a card's stored
// value is posted to, then records the entry's place in the card's
// history), and the batch would carry, and Pebble's memtable insert,
// both.
//
// A write of a merged logical key (cardrecord.go) only changes its
// slot; once the op's writes are in, each card they changed has its
// card values record composed from its merged slots and set in the
// batch. It is composed now, not at commit, because the writer decides
// the next group's ops, which change the slots again, before this group
// commits. (Not as a group aggregate, written once per group: a card
// is rarely decided on twice in one group, and the aggregate would cost
// a map insert and the record's own allocation on every purchase.)
func (t *tx) flush() {
	var marks [maxPairwiseWrites]bool
	overwritten := t.overwritten(marks[:0])
	var merged [2]string // the cards with merged writes: one, mostly
	cards := merged[:0]
	for i, w := range t.writes {
		if overwritten != nil && overwritten[i] {
			continue
		}
		if slot, pan, ok := cardSlotOf(w.key); ok && isMergedSlot(slot) {
			// Not copied out of the arena here: stageCardRecord points
			// every part at one copy of the record it composes.
			c := &t.cardValues(pan).slots[slot]
			c.cachedValue, c.ok = cachedValue{w.val, t.g.gen}, true // nil val when deleted
			if !slices.Contains(cards, pan) {
				cards = append(cards, pan)
			}
			continue
		}
		if w.del {
			t.g.batch.Delete([]byte(w.key), nil)
		} else if isAggregateKey(w.key) {
			t.g.aggregate(w.key, w.val)
		} else {
			if strings.HasPrefix(w.key, prefixIdem) {
				t.s.idents.Add(w.key)
			}
			t.g.batch.Set([]byte(w.key), w.val, nil)
		}
		if slot, pan, ok := cardSlotOf(w.key); ok {
			c := &t.cardValues(pan).slots[slot]
			c.cachedValue, c.ok = cachedValue{kept(w), t.g.gen}, true // nil val when deleted
			continue
		}
		switch {
		case isIndexKey(w.key):
			// never read by the writer: Pebble alone holds it
		case strings.HasPrefix(w.key, prefixCard):
			t.g.cardsChanged = true
			t.cacheCard(w)
		case worthCaching(w.key):
			if sl := t.terminalSlot(w.key); sl != nil {
				t.setTerminalSlot(sl, w)
				break
			}
			t.s.values[w.key] = cachedValue{kept(w), t.g.gen} // nil val when deleted
		default:
			if t.g.transient == nil {
				t.g.transient = make(map[string][]byte)
			}
			t.g.transient[w.key] = w.val
		}
	}
	for _, pan := range cards {
		t.stageCardRecord(pan)
	}
	if t.runDate != 0 {
		t.s.runDate = t.runDate
	}
	if len(t.cache) > 0 {
		t.s.regGen++
	}
	if len(t.s.regCache)+len(t.cache) > maxRegistryCache {
		t.s.regCache = make(map[string]any)
	}
	for _, c := range t.cache {
		if !strings.HasPrefix(c.key, prefixCard) { // cached by cacheCard
			t.s.regCache[c.key] = c.val
		}
	}
}

// stageCardRecord composes pan's card values record from its slots and
// sets it in the group's batch (a delete when every part is absent). A
// blind write — of a card whose other parts were never read — loads
// them first: only committed values are ever dropped from the cache, so
// what Pebble holds is what they are. When that read fails the record
// cannot be composed (absent parts would destroy the stored ones): the
// group is failed as a failed commit would be (group.poison), and
// recovery drops the cache the op changed.
func (t *tx) stageCardRecord(pan string) {
	c := t.cardValues(pan)
	for _, slot := range partSlots {
		if !c.slots[slot].ok {
			if err := t.loadCardParts(pan, c); err != nil {
				if t.g.poison == nil {
					t.g.poison = fmt.Errorf("ledger: read the card values record of %s: %w", cardnum.Mask(pan), err)
				}
				return
			}
			break
		}
	}
	var p cardParts
	for part, slot := range partSlots {
		p[part] = c.slots[slot].val
	}
	// Rendered in the writer's scratch buffer: the batch copies it.
	e := &t.s.enc
	e.b = appendCardRecord(e.b[:0], &p)
	if len(e.b) == 0 {
		t.g.batch.Delete([]byte(c.recordKey()), nil)
		return
	}
	t.g.batch.Set([]byte(c.recordKey()), e.b, nil)
	// The cache keeps the parts as slices of one copy of the record, as
	// a card's first read does (loadCardParts): one object for the
	// garbage collector to mark, where a copy of each part written would
	// be one a part. Some parts may still be arena slices (flush).
	kept, err := decodeCardRecord(bytes.Clone(e.b))
	if err != nil { // it was just composed from valid parts
		panic(fmt.Sprintf("ledger: the card values record just composed does not decode: %v", err))
	}
	for part, slot := range partSlots {
		c.slots[slot].val = kept[part]
	}
}

// cacheCard records an op's write w of a card's registry record in the
// card's cache entry, decoded, as of the op's group. The op staged the
// decoded record with the write (registryPut); the entry keeps a
// compact copy of it (Store.compactCard). A write staged without one
// is decoded; when that fails the group is failed, as a failed commit
// would be (group.poison), since the cache cannot say what the batch
// holds.
func (t *tx) cacheCard(w kv) {
	c := t.cardValues(w.key[len(prefixCard):])
	var card *Card
	if !w.del {
		card = new(Card)
		if staged := t.stagedCard(w.key); staged != nil {
			*card = *staged
		} else if err := json.Unmarshal(w.val, card); err != nil {
			if t.g.poison == nil {
				t.g.poison = fmt.Errorf("ledger: decode the card record of %s: %w", cardnum.Mask(c.pan()), err)
			}
			c.regOK = false
			return
		}
		t.s.compactCard(card, c)
	}
	c.reg, c.regGen, c.regOK = card, t.g.gen, true
}

// stagedCard is the decoded record the op last staged for key (nil:
// none).
func (t *tx) stagedCard(key string) *Card {
	for i := len(t.cache) - 1; i >= 0; i-- {
		if t.cache[i].key == key {
			c, _ := t.cache[i].val.(*Card)
			return c
		}
	}
	return nil
}

// overwritten marks the writes a later write of the same key in the op
// supersedes (nil: none). An op writes a few keys, so they are compared
// pairwise; an operator's bulk change (hundreds) goes through a map.
//
// buf, the caller's, holds the marks when it is long enough.
func (t *tx) overwritten(buf []bool) []bool {
	var out []bool
	mark := func(i int) {
		if out == nil {
			if len(t.writes) <= cap(buf) {
				out = buf[:len(t.writes)]
				clear(out)
			} else {
				out = make([]bool, len(t.writes))
			}
		}
		out[i] = true
	}
	if len(t.writes) <= maxPairwiseWrites {
		for i := range t.writes {
			for j := i + 1; j < len(t.writes); j++ {
				if t.writes[j].key == t.writes[i].key {
					mark(i)
					break
				}
			}
		}
		return out
	}
	last := make(map[string]int, len(t.writes))
	for i, w := range t.writes {
		if j, ok := last[w.key]; ok {
			mark(j)
		}
		last[w.key] = i
	}
	return out
}

// maxPairwiseWrites is the most writes overwritten compares pairwise.
const maxPairwiseWrites = 32

// allocSeq takes the next journal sequence number (the RRN).
func (t *tx) allocSeq() uint64 {
	seq := t.s.nextSeq
	t.s.nextSeq++
	return seq
}
