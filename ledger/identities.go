package ledger

import (
	"hash/maphash"
	"math"
)

// identityFilter answers "might this request identity (idem/ key) exist?"
// without asking Pebble. Almost every request is new, and a negative
// Pebble lookup walks every memtable and level; the filter answers "no"
// in a few hundred nanoseconds, and only a "maybe" goes to Pebble.
//
// It is grow-only and never wrong about presence: the store loads every
// identity key at Open, and the writer adds each one it flushes (the only
// way one is written). A false positive costs one Pebble lookup.
//
// It is a chain of Bloom filters: when the newest one holds its
// capacity, a new one of twice the capacity starts, so the false-positive
// rate stays near identityFPRate however many identities arrive.
type identityFilter struct {
	seed    maphash.Seed
	filters []*bloomFilter
}

const (
	identityFPRate      = 0.01
	identityMinCapacity = 1 << 20
)

type bloomFilter struct {
	bits     []uint64
	k        uint32
	capacity int
	count    int
}

func newIdentityFilter(expected int) *identityFilter {
	f := &identityFilter{seed: maphash.MakeSeed()}
	f.grow(max(2*expected, identityMinCapacity))
	return f
}

func (f *identityFilter) grow(capacity int) {
	m := int(math.Ceil(-float64(capacity) * math.Log(identityFPRate) / (math.Ln2 * math.Ln2)))
	k := uint32(math.Round(float64(m) / float64(capacity) * math.Ln2))
	f.filters = append(f.filters, &bloomFilter{bits: make([]uint64, (m+63)/64), k: max(k, 1), capacity: capacity})
}

// positions are derived by double hashing from one 64-bit hash.
func (f *identityFilter) hash(key string) (uint32, uint32) {
	h := maphash.String(f.seed, key)
	return uint32(h), uint32(h>>32) | 1
}

func (f *identityFilter) Add(key string) {
	cur := f.filters[len(f.filters)-1]
	if cur.count >= cur.capacity {
		f.grow(2 * cur.capacity)
		cur = f.filters[len(f.filters)-1]
	}
	h1, h2 := f.hash(key)
	n := uint32(len(cur.bits) * 64)
	for i := uint32(0); i < cur.k; i++ {
		p := (h1 + i*h2) % n
		cur.bits[p/64] |= 1 << (p % 64)
	}
	cur.count++
}

func (f *identityFilter) MayContain(key string) bool {
	h1, h2 := f.hash(key)
	for _, b := range f.filters {
		n := uint32(len(b.bits) * 64)
		hit := true
		for i := uint32(0); i < b.k; i++ {
			p := (h1 + i*h2) % n
			if b.bits[p/64]&(1<<(p%64)) == 0 {
				hit = false
				break
			}
		}
		if hit {
			return true
		}
	}
	return false
}
