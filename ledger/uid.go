package ledger

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// uid.go: the registry's map from a contactless member card's UID to the
// card, so that one UID never names two cards. Key, in the style of
// keys.go (kept here, as mall_records.go keeps reg/reward/, so that this
// flow has one file):
//
//	reg/uid/<UID upper-case hex>      CardUID (JSON): the card it names
//
// The UID is 4, 7 or 10 bytes (ISO/IEC 14443-3 single, double, triple
// size), written as 8, 14 or 20 upper-case hex digits.

const prefixUID = "reg/uid/"

func keyUID(uid string) string { return prefixUID + uid }

// CardUID is a UID's registry record.
type CardUID struct {
	UID string `json:"uid"`
	PAN string `json:"pan"`
}

// String masks the PAN.
func (u CardUID) String() string { return "uid " + u.UID + " card " + cardnum.Mask(u.PAN) }

// ErrBadUID is wrapped when a UID is not 4, 7 or 10 bytes of upper-case hex.
var ErrBadUID = errors.New("bad card UID")

// CheckUID says what is wrong with uid, naming it (a UID is read from any
// card in the field by any reader: not card data).
func CheckUID(uid string) error {
	b, err := hex.DecodeString(uid)
	switch {
	case err != nil || strings.ToUpper(uid) != uid:
		return fmt.Errorf("uid %q: want upper-case hex: %w", uid, ErrBadUID)
	case len(b) != 4 && len(b) != 7 && len(b) != 10:
		return fmt.Errorf("uid %q: %d bytes, want 4, 7 or 10: %w", uid, len(b), ErrBadUID)
	}
	return nil
}

// PutCardUID maps uid to the card pan. The card must exist; a UID already
// mapped to another card is refused (ErrConflict) and changes nothing.
// Mapping a UID to its own card again is a no-op.
func (s *Store) PutCardUID(ctx context.Context, uid, pan string) error {
	if err := CheckUID(uid); err != nil {
		return err
	}
	return s.update(ctx, func(t *tx) error {
		c, err := registryGet[Card](t, keyCard(pan))
		if err != nil {
			return err
		} else if c == nil {
			return fmt.Errorf("uid %s: card %s: %w", uid, cardnum.Mask(pan), ErrNotFound)
		}
		old, err := registryGet[CardUID](t, keyUID(uid))
		if err != nil {
			return err
		}
		if old != nil && old.PAN != pan {
			return fmt.Errorf("uid %s is card %s's, not %s: %w", uid, cardnum.Mask(old.PAN), cardnum.Mask(pan), ErrConflict)
		}
		if old != nil {
			return nil
		}
		return registryPut(t, keyUID(uid), &CardUID{UID: uid, PAN: pan})
	})
}

// CardByUID returns the card uid is mapped to; ErrNotFound when none.
func (s *Store) CardByUID(uid string) (*Card, error) {
	if err := CheckUID(uid); err != nil {
		return nil, err
	}
	u, err := readJSON[CardUID](s, keyUID(uid))
	if err != nil {
		return nil, fmt.Errorf("uid %s: %w", uid, err)
	}
	return s.Card(u.PAN)
}
