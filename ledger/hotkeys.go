package ledger

// hotkeys.go: the keys every decision at a terminal names — its
// merchant, terminal, terminal state, open batch, the merchant's stored
// value account, the program — kept built by the writer, so that a
// purchase does not build them again (an allocation a key, two for a
// batch key; a dozen a purchase). A card's own keys are kept in its
// cardValues (cache.go) instead.

import "strings"

// maxHotKeys bounds the keys kept; past it they are dropped all at once
// and built again as they are named. A host's terminals, merchants and
// programs are far fewer, so in practice the set only grows.
const maxHotKeys = 1 << 16

// hotKeys interns keys: a key is looked up by its bytes, built in a
// buffer on the caller's stack, and allocated once, when first named.
// Writer only. A key is a pure function of its parts, so nothing here
// is ever stale: recovery (recover.go) keeps it.
type hotKeys struct {
	m map[string]string
}

// intern is the kept copy of key b (b itself is not kept).
func (h *hotKeys) intern(b []byte) string {
	if k, ok := h.m[string(b)]; ok { // no allocation: the compiler looks up b's bytes
		return k
	}
	return h.str(string(b))
}

// str is the kept copy of s: the interned form of a value many records
// share (a card's program, home merchant, product).
func (h *hotKeys) str(s string) string {
	if k, ok := h.m[s]; ok {
		return k
	}
	if h.m == nil || len(h.m) >= maxHotKeys {
		h.m = make(map[string]string)
	}
	h.m[s] = s
	return s
}

// of is the key prefix + id.
func (h *hotKeys) of(prefix, id string) string {
	var buf [64]byte
	return h.intern(append(append(buf[:0], prefix...), id...))
}

// batch is keyBatch(tid, n).
func (h *hotKeys) batch(tid string, n uint32) string {
	var buf [64]byte
	b := append(append(append(buf[:0], prefixBatch...), tid...), '/')
	return h.intern(appendPadded(b, uint64(n), 6))
}

// account is the key of owner's account of kind (kindMerchantSV: a
// merchant's stored value, keyAccount(accountMerchantSV(owner))); its
// ID is the key past prefixAccount.
func (h *hotKeys) account(kind, owner string) string {
	var buf [64]byte
	return h.intern(append(append(append(buf[:0], prefixAccount...), kind...), owner...))
}

// cardRegKey is pan's registry key, keyCard(pan), kept in its card
// cache entry.
func (t *tx) cardRegKey(pan string) string { return t.cardValues(pan).regKey() }

// accountIDOf is the account ID of an account key.
func accountIDOf(key string) string { return strings.TrimPrefix(key, prefixAccount) }
