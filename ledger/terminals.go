package ledger

// terminals.go: the writer's entry for each terminal it decides for:
// the keys every request of the terminal names, built once, its
// merchant's and its own registry records, decoded, and the cached
// values of its state and its current batch. It is to a terminal what
// cardValues (cache.go) is to a card.
//
// Why: on a host with many terminals each of those keys, looked up by
// its bytes in hotKeys, and each record, looked up by its key in the
// registry cache, was a hash of a cold string and a cache miss of its
// own: about ten map lookups a purchase, which cost a purchase at
// 10,000 terminals 3–4 µs more of the writer's time than at 64
// (BenchmarkPurchaseTerminals). One lookup by TID finds them all.

import "strings"

// maxHotTerminals bounds the entries kept; past it they are dropped all
// at once and made again as their terminals send. Dropping an entry
// loses nothing: its keys are pure functions of the IDs, its records
// are the registry cache's, and its slots' values go back to the values
// cache (dropTerminals).
const maxHotTerminals = 1 << 16

// terminalEntry is what the writer keeps of one terminal. Writer only.
type terminalEntry struct {
	tid      string
	termKey  string // keyTerminal(tid)
	stateKey string // keyTermState(tid)

	// The merchant the terminal's requests name, and its keys. A request
	// naming another (a terminal moved, or a bad request) rebuilds them
	// (Store.terminalEntry).
	mid           string
	merchantKey   string // keyMerchant(mid)
	merchantSVKey string // the merchant's stored value account

	// batchNo's key, keyBatch(tid, batchNo): the batch the terminal's
	// requests name (0: none yet).
	batchNo  uint32
	batchKey string

	// The registry records of the merchant mid and of the terminal (nil:
	// absent), as the registry cache held them when it was at regGen
	// (Store.regGen); stale once it has moved on.
	merchant *Merchant
	term     *Terminal
	regGen   uint64
	regOK    bool

	// The cached values of stateKey and of batchKey. While a terminal
	// has an entry, a slot is where the writer caches its key's value,
	// not the values map (tx.terminalSlot): a value found there, or
	// written, moves into the slot, and an ok slot's key is never in the
	// map too. A slot gives its value back to the map when it stops
	// being the key's (a new batch, the entry dropped).
	state, batch cachedSlot
}

// terminalEntry is tid's entry, made when absent, for a request naming
// merchant mid.
func (s *Store) terminalEntry(tid, mid string) *terminalEntry {
	e := s.terminals[tid]
	if e == nil {
		if s.terminals == nil || len(s.terminals) >= maxHotTerminals {
			s.dropTerminals()
		}
		e = &terminalEntry{tid: tid, termKey: s.keys.of(prefixTerminal, tid), stateKey: s.keys.of(prefixTermState, tid)}
		s.terminals[e.termKey[len(prefixTerminal):]] = e // keyed by the kept copy, not the request's
	}
	if e.mid != mid || e.merchantKey == "" {
		e.merchantKey = s.keys.of(prefixMerchant, mid)
		e.mid = e.merchantKey[len(prefixMerchant):]
		e.merchantSVKey = s.keys.account(kindMerchantSV, mid)
		e.regOK = false
	}
	return e
}

// dropTerminals drops every terminal entry, their slots' values given
// back to the values cache.
func (s *Store) dropTerminals() {
	for _, e := range s.terminals {
		s.giveBack(&e.state, e.stateKey)
		s.giveBack(&e.batch, e.batchKey)
	}
	s.terminals = make(map[string]*terminalEntry)
}

// giveBack moves slot sl's value, of key, to the values cache: a value
// not yet committed, or an aggregate not yet checkpointed, is in no
// other place the writer reads.
func (s *Store) giveBack(sl *cachedSlot, key string) {
	if sl.ok {
		s.values[key] = sl.cachedValue
	}
	*sl = cachedSlot{}
}

// batchKeyOf is the key of the terminal's batch n, which becomes the
// batch its entry caches.
func (s *Store) batchKeyOf(e *terminalEntry, n uint32) string {
	if e.batchNo != n || e.batchKey == "" {
		s.giveBack(&e.batch, e.batchKey)
		e.batchNo, e.batchKey = n, s.keys.batch(e.tid, n)
	}
	return e.batchKey
}

// terminalSlot is the slot in which the writer caches key's value (nil:
// the values map): key is a terminal's state key, or the key of the
// batch its entry caches, and the terminal has an entry. The op's own
// terminal (tx.te) is found by comparing kept strings; any other, by
// its TID.
func (t *tx) terminalSlot(key string) *cachedSlot {
	if e := t.te; e != nil {
		switch key {
		case e.stateKey:
			return &e.state
		case e.batchKey:
			return &e.batch
		}
	}
	switch {
	case strings.HasPrefix(key, prefixTermState):
		if e := t.s.terminals[key[len(prefixTermState):]]; e != nil {
			return &e.state
		}
	case strings.HasPrefix(key, prefixBatch):
		rest := key[len(prefixBatch):]
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			if e := t.s.terminals[rest[:i]]; e != nil && e.batchKey == key {
				return &e.batch
			}
		}
	}
	return nil
}

// getTerminalSlot is tx.get's read of a key cached in slot sl.
func (t *tx) getTerminalSlot(sl *cachedSlot, key string) ([]byte, error) {
	if sl.ok {
		return sl.val, nil
	}
	if v, ok := t.s.values[key]; ok {
		delete(t.s.values, key)
		*sl = cachedSlot{cachedValue: v, ok: true}
		return v.val, nil
	}
	v, err := t.s.storedGet(key)
	if err == nil {
		*sl = cachedSlot{cachedValue: cachedValue{val: v}, ok: true}
	}
	return v, err
}

// setTerminalSlot is tx.flush's write w of a key cached in slot sl. An
// arena value is copied out (kept) into the slot's own copy when it has
// one big enough: a terminal's batch record changes with every purchase
// and stays the same size, and the copy is the writer's alone (its
// readers decode it within their op; the committer logs the arena
// value, not this one).
func (t *tx) setTerminalSlot(sl *cachedSlot, w kv) {
	if !sl.ok {
		delete(t.s.values, w.key) // an older value may be there
	}
	var own []byte
	if sl.ok && sl.owned {
		own = sl.val
	}
	val, copied := keptIn(own, w)
	*sl = cachedSlot{cachedValue: cachedValue{val, t.g.gen}, ok: true, owned: copied} // nil val when deleted
}

// terminalRecords reads the registry records of e's merchant and
// terminal (nil: absent), from e while the registry cache has not
// changed since e kept them. Records are kept only when both were found
// in the registry cache, not decoded by this op: a record this op
// decoded is in the registry cache only once the op is flushed, which
// moves regGen on.
func (t *tx) terminalRecords(e *terminalEntry) (*Merchant, *Terminal, error) {
	s := t.s
	if e.regOK && e.regGen == s.regGen && len(t.cache) == 0 {
		return e.merchant, e.term, nil
	}
	cached := len(t.cache)
	m, err := registryGet[Merchant](t, e.merchantKey)
	if err != nil {
		return nil, nil, err
	}
	term, err := registryGet[Terminal](t, e.termKey)
	if err != nil {
		return nil, nil, err
	}
	if cached == 0 && len(t.cache) == 0 {
		e.merchant, e.term, e.regGen, e.regOK = m, term, s.regGen, true
	}
	return m, term, nil
}
