package ledger

// terminals.go: the writer's entry for each terminal it decides for:
// the keys every request of the terminal names, built once, and its
// merchant's and its own registry records, decoded. It is to a terminal
// what cardValues (cache.go) is to a card.
//
// Why: on a host with many terminals each of those keys, looked up by
// its bytes in hotKeys, and each record, looked up by its key in the
// registry cache, was a hash of a cold string and a cache miss of its
// own: about ten map lookups a purchase, which cost a purchase at
// 10,000 terminals 3–4 µs more of the writer's time than at 64
// (BenchmarkPurchaseTerminals). One lookup by TID finds them all.

// maxHotTerminals bounds the entries kept; past it they are dropped all
// at once and made again as their terminals send. An entry holds
// nothing that is not also elsewhere (its keys are pure functions of
// the IDs; its records are the registry cache's), so dropping one is
// always safe.
const maxHotTerminals = 1 << 16

// terminalEntry is what the writer keeps of one terminal. Writer only.
type terminalEntry struct {
	tid      string
	termKey  string // keyTerminal(tid)
	stateKey string // keyTermState(tid)

	// The merchant the terminal's requests name, and its keys. A request
	// naming another (a terminal moved, or a bad request) rebuilds them
	// (forMerchant).
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
}

// terminalEntry is tid's entry, made when absent, for a request naming
// merchant mid.
func (s *Store) terminalEntry(tid, mid string) *terminalEntry {
	e := s.terminals[tid]
	if e == nil {
		if s.terminals == nil || len(s.terminals) >= maxHotTerminals {
			s.terminals = make(map[string]*terminalEntry)
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

// batchKeyOf is the key of the terminal's batch n.
func (s *Store) batchKeyOf(e *terminalEntry, n uint32) string {
	if e.batchNo != n || e.batchKey == "" {
		e.batchNo, e.batchKey = n, s.keys.batch(e.tid, n)
	}
	return e.batchKey
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
