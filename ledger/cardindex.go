package ledger

// cardindex.go: where the card cache keeps its entries, laid out for
// the garbage collector.
//
// A host with a million active cards keeps a million cardValues. Kept
// as a map from the PAN string to a pointer, each entry was an object
// of its own and each map slot held two pointers (the key's bytes and
// the entry), so every GC cycle chased three million pointers in
// random order: at a million cards about 0.9 s of wall time on two
// cores, every cycle, taken from the authorizations running beside it
// (docs/performance.md, "The garbage collector"). Here the entries lie
// by value in fixed-size slabs, which the collector scans front to
// back, and the map goes from the PAN packed into integers to a slot
// number: a map whose keys and values hold no pointers is not scanned
// at all.

import "math"

// cardSlabSize is the entries a slab holds: large enough that the
// slabs of a million cards are a few hundred objects, small enough
// that a store with few cards does not keep a large one.
const cardSlabSize = 1024

// panKey is an all-digit PAN as integers: its value and its length
// (the length keeps "0123" and "123" apart). Nineteen digits, the
// longest PAN, fit in a uint64.
type panKey struct {
	v uint64
	n uint8
}

// maxPackedDigits is the longest PAN a panKey holds.
const maxPackedDigits = 19

// packPAN is pan as a panKey; false when it is empty, longer than 19
// characters or not all digits (the store's own tests make such keys;
// the gateway accepts none).
func packPAN(pan string) (panKey, bool) {
	if len(pan) == 0 || len(pan) > maxPackedDigits {
		return panKey{}, false
	}
	var v uint64
	for i := 0; i < len(pan); i++ {
		d := pan[i] - '0'
		if d > 9 {
			return panKey{}, false
		}
		v = v*10 + uint64(d)
	}
	return panKey{v: v, n: uint8(len(pan))}, true
}

// cardIndex holds the card cache's entries. A *cardValues it returns
// stays valid, and is this PAN's entry, until the entry is evicted:
// only the writer evicts (Store.evict, between ops), so a pointer held
// for one op is safe.
type cardIndex struct {
	packed map[panKey]int32
	// other is every PAN packPAN refuses.
	other map[string]int32
	slabs []*[cardSlabSize]cardValues
	// free are the slots of evicted entries, reused first.
	free []int32
}

func newCardIndex() *cardIndex {
	return &cardIndex{packed: make(map[panKey]int32), other: make(map[string]int32)}
}

// len is the number of cards cached.
func (x *cardIndex) len() int { return len(x.packed) + len(x.other) }

func (x *cardIndex) at(slot int32) *cardValues {
	return &x.slabs[slot/cardSlabSize][slot%cardSlabSize]
}

// get is pan's entry, nil when pan is not cached.
func (x *cardIndex) get(pan string) *cardValues {
	if slot, found, _, _ := x.find(pan); found {
		return x.at(slot)
	}
	return nil
}

// entry is pan's entry, made (newCardValues) when pan is not cached.
func (x *cardIndex) entry(pan string) *cardValues {
	slot, found, k, packed := x.find(pan)
	if found {
		return x.at(slot)
	}
	slot = x.newSlot()
	c := x.at(slot)
	*c = newCardValues(pan)
	if packed {
		x.packed[k] = slot
	} else {
		x.other[c.pan()] = slot // c's copy: pan may be a slice of a longer key
	}
	return c
}

// find is pan's slot, if it has one, and pan packed (packPAN): what
// entry needs to add it, packed once.
func (x *cardIndex) find(pan string) (slot int32, found bool, k panKey, packed bool) {
	if k, packed = packPAN(pan); packed {
		slot, found = x.packed[k]
	} else {
		slot, found = x.other[pan]
	}
	return slot, found, k, packed
}

// newSlot is a slot for a new entry: an evicted entry's, or the next
// unused one, in a new slab when the last is full. With no evicted
// slot to reuse, the slots in use are exactly the first len().
func (x *cardIndex) newSlot() int32 {
	if n := len(x.free); n > 0 {
		slot := x.free[n-1]
		x.free = x.free[:n-1]
		return slot
	}
	total := len(x.slabs) * cardSlabSize
	if total >= math.MaxInt32-cardSlabSize {
		// Options.HotCards bounds the cache long before this.
		panic("ledger: card cache index full")
	}
	if x.len() == total {
		x.slabs = append(x.slabs, new([cardSlabSize]cardValues))
	}
	return int32(x.len())
}

// evict drops up to n of the entries keep does not claim, in map
// order (random), and returns how many it dropped. A dropped entry's
// slot is cleared, so that what it held is garbage at once, and reused.
func (x *cardIndex) evict(n int, keep func(*cardValues) bool) int {
	dropped := 0
	drop := func(slot int32) bool {
		c := x.at(slot)
		if keep(c) {
			return false
		}
		*c = cardValues{}
		x.free = append(x.free, slot)
		dropped++
		return true
	}
	for k, slot := range x.packed {
		if dropped >= n {
			return dropped
		}
		if drop(slot) {
			delete(x.packed, k)
		}
	}
	for pan, slot := range x.other {
		if dropped >= n {
			break
		}
		if drop(slot) {
			delete(x.other, pan)
		}
	}
	return dropped
}
