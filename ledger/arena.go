package ledger

// arena.go: where the writer keeps the records it encodes.

import "strings"

// arenaChunkBytes is the size of an arena chunk: a purchase's records
// take about 350 bytes, so a chunk holds a few purchases' records.
// It bounds what a cached value can keep alive besides itself (the
// rest of its chunk): one chunk, however long it stays in the cache.
const arenaChunkBytes = 1024

// arena hands out the writer's encoded records: each is a slice of a
// shared chunk, so that a purchase's half-dozen records cost a fraction
// of an allocation instead of one each. Writer only.
//
// A chunk is never reused nor written twice: bytes once handed out stay
// as they are for as long as anything refers to them, so they may be
// shared without copying by whatever keeps a record — Pebble's batch
// (which copies anyway), the writer's cache (cachedValue), a group's
// aggregates, which the committer reads, and its transient writes. A
// rolled-back record's bytes are merely wasted. The garbage collector
// frees a chunk once nothing refers to any of its records; no code has
// to decide when that is.
type arena struct {
	chunk []byte
}

// copy is a copy of b in the arena, its capacity its length: an append
// to it reallocates rather than write over the next record.
func (a *arena) copy(b []byte) []byte {
	if len(b) > arenaChunkBytes/4 {
		// A large record (a card's bulk change) gets its own, so that
		// it neither wastes the end of a chunk nor takes most of one.
		return append(make([]byte, 0, len(b)), b...)
	}
	if a.chunk == nil || cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, arenaChunkBytes)
	}
	n := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[n:len(a.chunk):len(a.chunk)]
}

// inArena says whether key's value goes in the arena: whether whatever
// keeps it lets go of it soon, so that it keeps no chunk alive for
// long. A request's identity and journal entry (worthCaching: not
// cached) are let go of once their group has committed; an account not
// a card's — a merchant's, a program's — is rewritten by every purchase
// at the merchant or in the program, so the cache keeps one of its
// values, and at most one chunk, per merchant and program.
// What the cache keeps longer gets a copy of its own (flush copies it
// out of the arena, tx.go's kept): a card's records
// stay as long as the card is hot (HotCards of them), a closed batch's
// until it is evicted, and each would keep its chunk alive with it.
func inArena(key string) bool {
	if id, ok := strings.CutPrefix(key, prefixAccount); ok {
		return !isCardAccount(id)
	}
	return !worthCaching(key)
}
