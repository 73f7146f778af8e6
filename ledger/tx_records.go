package ledger

// tx_records.go: the typed record readers built on tx — a card's
// registry record through the card cache, the JSON registry records
// through the registry cache, accounts and the binary records.

import (
	"encoding/json"
	"fmt"
	"strings"
)

// card is pan's registry record (nil: no such card), read through the
// card cache: decoded and compacted once while the card is hot.
func (t *tx) card(pan string) (*Card, error) {
	c := t.cardValues(pan)
	if c.regOK {
		return c.reg, nil
	}
	raw, err := t.s.dbGet(c.regKey())
	if err != nil {
		return nil, err
	}
	var card *Card
	if raw != nil {
		card = new(Card)
		if err := json.Unmarshal(raw, card); err != nil {
			return nil, fmt.Errorf("ledger: decode %s: %w", keyKind(c.regKey()), err)
		}
		t.s.compactCard(card, c)
	}
	// Read from Pebble: committed (gen 0). The writer is Pebble's only
	// writer, and an entry with an uncommitted record is never dropped.
	c.reg, c.regGen, c.regOK = card, 0, true
	return card, nil
}

// cardRaw is pan's registry record as stored (JSON; nil: none). The
// writer reads it decoded (tx.card); a raw read must still see a change
// not yet committed, which only the card cache holds.
func (t *tx) cardRaw(pan string) ([]byte, error) {
	c := t.cardValues(pan)
	if c.regOK && c.regGen > t.s.committedGen {
		if c.reg == nil {
			return nil, nil
		}
		return json.Marshal(c.reg)
	}
	return t.s.dbGet(c.regKey())
}

// registry reads a JSON registry record through the writer's cache.
func registryGet[T any](t *tx, key string) (*T, error) {
	for i := len(t.cache) - 1; i >= 0; i-- {
		if t.cache[i].key == key {
			return t.cache[i].val.(*T), nil
		}
	}
	if pan, ok := strings.CutPrefix(key, prefixCard); ok {
		c, err := t.card(pan) // T is Card
		return any(c).(*T), err
	}
	if v, ok := t.s.regCache[key]; ok {
		return v.(*T), nil
	}
	raw, err := t.get(key)
	if err != nil || raw == nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("ledger: decode %s: %w", keyKind(key), err)
	}
	t.cache = append(t.cache, kvAny{key, out})
	return out, nil
}

func registryPut(t *tx, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	t.set(key, raw)
	t.cache = append(t.cache, kvAny{key, v})
	return nil
}

func (t *tx) account(id string, unit Unit) (*Account, error) {
	a := &Account{ID: id, Unit: unit}
	return a, t.load(a)
}

// load fills a (its ID and Unit set) with its stored sums; a stays
// zero when it has none yet.
func (t *tx) load(a *Account) error {
	raw, err := t.get(a.storeKey())
	if err != nil || raw == nil {
		return err
	}
	return a.decode(raw)
}

// getRecordInto decodes key's record into *p, the writer's scratch for
// one op (opScratch), and says whether it was found; absent, *p is
// zero. It saves getRecord's allocation for the records every decision
// reads.
func getRecordInto[T any, P interface {
	*T
	decode([]byte) error
}](t *tx, key string, p P) (bool, error) {
	*p = *new(T) // decode sets what the record holds; nothing of the last op's may stay
	raw, err := t.get(key)
	if err != nil || raw == nil {
		return false, err
	}
	return true, p.decode(raw)
}

func getRecord[T any, P interface {
	*T
	decode([]byte) error
}](t *tx, key string) (P, error) {
	raw, err := t.get(key)
	if err != nil || raw == nil {
		return nil, err
	}
	p := P(new(T))
	if err := p.decode(raw); err != nil {
		return nil, err
	}
	return p, nil
}
