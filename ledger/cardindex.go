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
	var slot int32
	var ok bool
	if k, packed := packPAN(pan); packed {
		slot, ok = x.packed[k]
	} else {
		slot, ok = x.other[pan]
	}
	if !ok {
		return nil
	}
	return x.at(slot)
}

// add makes pan's entry (newCardValues), which must not exist yet.
func (x *cardIndex) add(pan string) *cardValues {
	var slot int32
	if n := len(x.free); n > 0 {
		slot, x.free = x.free[n-1], x.free[:n-1]
	} else {
		total := len(x.slabs) * cardSlabSize
		if total >= math.MaxInt32-cardSlabSize {
			// Options.HotCards bounds the cache long before this.
			panic("ledger: card cache index full")
		}
		if x.len() == total {
			x.slabs = append(x.slabs, new([cardSlabSize]cardValues))
		}
		slot = int32(x.len())
	}
	c := x.at(slot)
	*c = newCardValues(pan)
	if k, packed := packPAN(pan); packed {
		x.packed[k] = slot
	} else {
		x.other[c.pan()] = slot
	}
	return c
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
