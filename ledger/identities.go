package ledger

import (
	"hash/maphash"
	"math"
	"math/bits"
)

// identityFilter answers "might this request identity (idem/ key) exist?"
// without asking Pebble. Almost every request is new, and a negative
// Pebble lookup walks every memtable and level; the filter answers "no"
// in a few dozen nanoseconds, and only a "maybe" goes to Pebble.
//
// It is grow-only and never wrong about presence: the store loads every
// identity key at Open, and the writer adds each one it flushes (the only
// way one is written). A false positive costs one Pebble lookup.
//
// It is a chain of blocked Bloom filters: when the newest one holds its
// capacity, a new one of twice the capacity starts, so the false-positive
// rate stays near identityFPRate however many identities arrive.
type identityFilter struct {
	seed    maphash.Seed
	filters []*bloomFilter
}

const (
	identityFPRate      = 0.01
	identityMinCapacity = 1 << 20
	// identityBitsBoost is the extra bits a key a blocked filter needs
	// for the false-positive rate a plain one has: confining a key's
	// bits to one block makes some blocks fuller than the average.
	identityBitsBoost = 1.25
)

// bloomFilter is a blocked Bloom filter (Putze, Sanders and Singler,
// "Cache-, hash- and space-efficient Bloom filters", 2007): a key's k
// bits all lie in one 512-bit block, one cache line, chosen by the
// key's hash. A plain Bloom filter of a million identities is a few
// megabytes, past the CPU's caches, and touches k random lines of it
// for every key the writer adds (every approved request) and for every
// "no"; a blocked one touches one.
type bloomFilter struct {
	blocks   []bloomBlock
	k        uint32
	capacity int
	count    int
}

// bloomBlock is one cache line of a blocked filter.
type bloomBlock [8]uint64

func newIdentityFilter(expected int) *identityFilter {
	f := &identityFilter{seed: maphash.MakeSeed()}
	f.grow(max(2*expected, identityMinCapacity))
	return f
}

func (f *identityFilter) grow(capacity int) {
	perKey := -math.Log(identityFPRate) / (math.Ln2 * math.Ln2) // bits a key, plain filter
	k := uint32(math.Round(perKey * math.Ln2))
	m := int(math.Ceil(float64(capacity) * perKey * identityBitsBoost))
	f.filters = append(f.filters, &bloomFilter{blocks: make([]bloomBlock, (m+511)/512), k: max(k, 1), capacity: capacity})
}

// probe is where a key's bits lie in b: its block, and the two halves
// of a second hash from which the k bit positions in the block are
// derived (double hashing, each position 9 bits: 0..511).
func (b *bloomFilter) probe(h uint64) (blk *bloomBlock, h1, h2 uint32) {
	// The block from the hash's high bits (a multiply-shift range
	// reduction, no division); the positions from a remix of it, so
	// they do not depend on which block was chosen.
	i, _ := bits.Mul64(h, uint64(len(b.blocks)))
	r := h * 0x9e3779b97f4a7c15
	r ^= r >> 29
	return &b.blocks[i], uint32(r), uint32(r>>32) | 1
}

func (f *identityFilter) Add(key string) {
	cur := f.filters[len(f.filters)-1]
	if cur.count >= cur.capacity {
		f.grow(2 * cur.capacity)
		cur = f.filters[len(f.filters)-1]
	}
	blk, h1, h2 := cur.probe(maphash.String(f.seed, key))
	for i := uint32(0); i < cur.k; i++ {
		p := (h1 + i*h2) & 511
		blk[p/64] |= 1 << (p % 64)
	}
	cur.count++
}

func (f *identityFilter) MayContain(key string) bool {
	h := maphash.String(f.seed, key)
	for _, b := range f.filters {
		blk, h1, h2 := b.probe(h)
		hit := true
		for i := uint32(0); i < b.k; i++ {
			p := (h1 + i*h2) & 511
			if blk[p/64]&(1<<(p%64)) == 0 {
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
