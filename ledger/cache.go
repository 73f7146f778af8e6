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

// isIndexKey: the journal's index entries, which decisions never read.
func isIndexKey(key string) bool {
	return strings.HasPrefix(key, prefixByDate) || strings.HasPrefix(key, prefixByCard)
}

// worthCaching says whether a committed key is likely to be read again
// soon: balances, terminal and batch state, day counters, holds. Each
// request's identity, journal entry and index entries are written once and
// read rarely (a retransmission, a refund): Pebble serves those, and they
// stay out of the cache so that it holds what every decision reads.
func worthCaching(key string) bool {
	switch {
	case strings.HasPrefix(key, prefixIdem),
		strings.HasPrefix(key, prefixTxn), strings.HasPrefix(key, prefixByDate),
		strings.HasPrefix(key, prefixByCard):
		return false
	}
	return true
}

// evict keeps the cache near maxHotValues entries by dropping a random
// quarter of them (map order is random) when it is exceeded; values not
// yet committed are never dropped (at most the groups in flight: a few
// times maxOpsPerBatch ops' writes).
func (s *Store) evict() {
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
