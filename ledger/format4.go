package ledger

// format4.go: the migration from store format 3 to 4: each card's holds,
// security state and day counters become parts of its card values
// record (cardrecord.go).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"
)

// format3CardKeys are the card keys format 3 stored beside the card's
// record and format 4 keeps in it: hold/<pan>, csec/<pan> and
// cday/<pan>/<yyyymmdd>, one a day the card was used on.
var format3CardKeys = [...]struct {
	prefix string
	part   int
}{{prefixHolds, partHolds}, {prefixCardSec, partSecurity}, {prefixCardDay, partDay}}

// migrateCardParts is format 3 to 4: each card's record is rewritten in
// the current version with its holds, security state and latest day
// counter (its date set from its key: format 3's counter held none) as
// parts, and those keys — every day counter of the card — are deleted,
// in one batch a card. A crashed attempt left whole cards migrated
// (a current record and no format 3 key), which this one skips, and
// whole cards not, which it migrates.
func migrateCardParts(db *pebble.DB, log zerolog.Logger, w *migrationWriter) error {
	start := time.Now()
	snap := db.NewSnapshot()
	defer snap.Close()
	// its[0] walks the records, its[1:] the format 3 keys.
	prefixes := []string{prefixCardValues}
	for _, k := range format3CardKeys {
		prefixes = append(prefixes, k.prefix)
	}
	its, closeIters, err := prefixIters(snap, prefixes)
	if err != nil {
		return err
	}
	defer closeIters()
	// panOf is the card of iterator i's key ("" when it is done); a day
	// counter's key has its date after the PAN. A PAN is digits, which
	// sort after '/': every walk is in PAN order.
	panOf := func(i int) string {
		if !its[i].Valid() {
			return ""
		}
		pan := string(its[i].Key()[len(prefixes[i]):])
		pan, _, _ = strings.Cut(pan, "/")
		return pan
	}
	cards, days := 0, 0
	for {
		pan := ""
		for i := range its {
			if p := panOf(i); p != "" && (pan == "" || p < pan) {
				pan = p
			}
		}
		if pan == "" {
			break
		}
		var parts cardParts
		current := false // the card's record is of this build's version
		if panOf(0) == pan {
			v := its[0].Value()
			p, err := decodeCardRecord(v)
			if err != nil {
				return fmt.Errorf("ledger: migrate store format 3 to 4: card %s: %w", cardnum.Mask(pan), err)
			}
			for part, val := range p {
				if val != nil {
					parts[part] = slices.Clone(val)
				}
			}
			current = v[0] == cardRecordVersion
			its[0].Next()
		}
		var keys []kv
		dayKey := "" // the card's latest cday/ key
		for i, k := range format3CardKeys {
			// A card has one hold/ and csec/ key at most, and a cday/ key
			// a date it was used on: the last, dates being fixed-width,
			// is the latest, the one the part keeps.
			it := its[1+i]
			for panOf(1+i) == pan {
				keys = append(keys, kv{key: string(it.Key()), del: true})
				parts[k.part] = slices.Clone(it.Value())
				if k.part == partDay {
					dayKey = keys[len(keys)-1].key
					days++
				}
				it.Next()
			}
		}
		if dayKey != "" {
			var err error
			if parts[partDay], err = datedCardDay(dayKey, parts[partDay]); err != nil {
				return fmt.Errorf("ledger: migrate store format 3 to 4: card %s: %w", cardnum.Mask(pan), err)
			}
		}
		if current && len(keys) == 0 {
			continue // migrated by a crashed attempt
		}
		keys = append(keys, kv{key: keyCardValues(pan), val: encodeCardRecord(&parts)})
		if err := w.setAll(keys); err != nil {
			return err
		}
		cards++
	}
	if err := w.finishWalk(its, 4); err != nil {
		return err
	}
	log.Info().Uint64("from", 3).Uint64("to", 4).Int("cards", cards).Int("day_counters", days).
		Dur("took", time.Since(start)).Msg("ledger: store format migrated")
	return nil
}

// datedCardDay is format 3's day counter under key
// (cday/<pan>/<yyyymmdd>) as format 4's part: with its date.
func datedCardDay(key string, val []byte) ([]byte, error) {
	_, date, _ := strings.Cut(key[len(prefixCardDay):], "/")
	d, err := strconv.ParseUint(date, 10, 32)
	if err != nil || len(date) != 8 {
		return nil, fmt.Errorf("day counter key of date %q: %w", date, errCorrupt)
	}
	var c CardDay
	if err := c.decode(val); err != nil {
		return nil, fmt.Errorf("day counter of %s: %w", date, err)
	}
	c.Date = uint32(d)
	e := encoder{}
	c.encode(&e)
	return e.b, nil
}
