package ledger

// cardrecord.go: the card values record, cv/<pan>: in one Pebble key a
// card's stored-value account, points account and loyalty record (store
// format 3), and its holds, security state and day counter (format 4).
//
// Above the Pebble boundary nothing changed: the writer, its card cache
// and every reader still name acct/sv/<pan>, acct/pt/<pan>, wal/<pan>,
// hold/<pan>, csec/<pan> and cday/<pan> (the "merged" logical keys).
// Only the boundary translates: readKey reads a merged key's part out of
// cv/<pan>, the writer's miss on any of them loads them all
// (tx.loadCardParts), and tx.flush composes the card's record from the
// cached values and sets it in the group's batch (tx.stageCardRecord).
// A decision writes at most one key of the card, where format 3 wrote
// up to four (the record, the day counter, holds, security state) and
// format 2 six: each key is a memtable insert, and later flush and
// compaction work. And a card's first use reads its values with one
// Pebble read, where format 3 made one a key (up to four).

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// prefixCardValues is the card values record, one a card.
const prefixCardValues = "cv/"

func keyCardValues(pan string) string { return prefixCardValues + pan }

// The parts of a card values record, in the order it holds them. A
// record version holds the first parts of this list (recordParts): a
// new part goes at its end, with a new version.
const (
	partSV = iota
	partPoints
	partWallet
	// numFormat3Parts are the parts of version 1, store format 3's.
	numFormat3Parts
	// Format 4's parts, which version 2 adds.
	partHolds = iota - 1
	partSecurity
	partDay
	numCardParts
)

// partSlots are the writer's card cache slots (cache.go) of the parts.
var partSlots = [numCardParts]int{
	partSV: slotSV, partPoints: slotPoints, partWallet: slotWallet,
	partHolds: slotHolds, partSecurity: slotSecurity, partDay: slotDay,
}

// mergedPrefixes are the logical keys' prefixes of the parts (their
// slots' prefixes); the rest of the key is the PAN.
var mergedPrefixes = func() (p [numCardParts]string) {
	for part, slot := range partSlots {
		p[part] = cardSlotPrefixes[slot]
	}
	return p
}()

// cardRecordVersion is the record's first byte, of the records this
// build writes.
const cardRecordVersion = 2

// recordParts is how many parts a record of each version holds (0: not
// a version). Version 1, format 3's, is still read: the migration to
// format 4 reads it (format4.go), and rewrites it in the current
// version, which a format 2 store's migration writes.
var recordParts = [...]int{1: numFormat3Parts, cardRecordVersion: numCardParts}

// mergedPart says whether key is one of the logical keys a card values
// record holds, and which part of whose.
func mergedPart(key string) (part int, pan string, ok bool) {
	slot, pan, ok := cardSlotOf(key)
	if !ok {
		return 0, "", false
	}
	if part, ok = partOfSlot(slot); !ok {
		return 0, "", false
	}
	return part, pan, true
}

// partOfSlot is the part of the card values record that holds the
// writer's card cache slot, if one does.
func partOfSlot(slot int) (part int, ok bool) {
	for part, s := range partSlots {
		if s == slot {
			return part, true
		}
	}
	return 0, false
}

// cardParts are a record's parts; nil is absent (no part is ever empty
// but present: an account or a loyalty record always encodes to bytes,
// and the codec keeps the two apart anyway).
type cardParts [numCardParts][]byte

// empty: every part is absent.
func (p *cardParts) empty() bool {
	for _, v := range p {
		if v != nil {
			return false
		}
	}
	return true
}

// encodeCardRecord renders parts; nil when every part is absent (the
// record is deleted).
func encodeCardRecord(p *cardParts) []byte { return appendCardRecord(nil, p) }

// appendCardRecord appends the record of parts to b (b unchanged when
// every part is absent). Each part is uvarint(len+1) then its bytes; 0
// is an absent part.
func appendCardRecord(b []byte, p *cardParts) []byte {
	return appendCardRecordVersion(b, p, cardRecordVersion)
}

// appendCardRecordVersion is appendCardRecord in record version
// version; the parts it does not hold must be absent. Only a test
// writes another version than this build's (a format 3 store, to
// migrate).
func appendCardRecordVersion(b []byte, p *cardParts, version byte) []byte {
	if p.empty() {
		return b
	}
	n := 1
	for _, v := range p {
		if v != nil {
			n += binary.MaxVarintLen32 + len(v)
		}
	}
	parts := recordParts[version]
	b = slices.Grow(b, n+parts)
	b = append(b, version)
	for _, v := range p[:parts] {
		if v == nil {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(v))+1)
		b = append(b, v...)
	}
	return b
}

// decodeCardRecord splits a record into its parts, which alias rec
// (each capped at its end, so that an append to one cannot write into
// the next).
func decodeCardRecord(rec []byte) (cardParts, error) {
	var p cardParts
	if len(rec) == 0 || int(rec[0]) >= len(recordParts) || recordParts[rec[0]] == 0 {
		return p, fmt.Errorf("card values record: unknown version: %w", errCorrupt)
	}
	b := rec[1:]
	for i := range p[:recordParts[rec[0]]] {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n)+1 {
			return p, fmt.Errorf("card values record: part %d: %w", i, errCorrupt)
		}
		b = b[n:]
		if l == 0 {
			continue
		}
		l--
		p[i] = b[:l:l]
		b = b[l:]
	}
	if len(b) != 0 {
		return p, fmt.Errorf("card values record: %d bytes after its parts: %w", len(b), errCorrupt)
	}
	if p.empty() {
		// The writer deletes a record whose parts are all gone; one
		// stored without any was not written by it.
		return p, fmt.Errorf("card values record: no part: %w", errCorrupt)
	}
	return p, nil
}

// readCardParts reads pan's record in r (every part absent when it has
// none); the parts are a copy.
func readCardParts(r pebble.Reader, pan string) (cardParts, error) {
	v, err := readRaw(r, keyCardValues(pan))
	if err != nil || v == nil {
		return cardParts{}, err
	}
	p, err := decodeCardRecord(v)
	if err != nil {
		return p, fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
	}
	return p, nil
}

// scanCards calls fn, in PAN order, with every card's record decoded.
// The parts are valid during the call only.
func scanCards(r reader, fn func(pan string, p *cardParts) error) error {
	return scan(r, prefixCardValues, func(k, v []byte) error {
		pan := string(k[len(prefixCardValues):])
		p, err := decodeCardRecord(v)
		if err != nil {
			return fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
		}
		return fn(pan, &p)
	})
}

// scanCardParts calls fn, in PAN order, with every card's part (the
// cards without one are skipped). v is valid during the call only.
func scanCardParts(r reader, part int, fn func(pan string, v []byte) error) error {
	return scanCards(r, func(pan string, p *cardParts) error {
		if p[part] == nil {
			return nil
		}
		return fn(pan, p[part])
	})
}
