package ledger

// visited.go: the merchants a card has been seen at (mbv/<pan>), for
// first-visit campaigns. They are a record of their own, not part of
// the membership in the loyalty record, because they change only on a
// card's first purchase at a merchant while the loyalty record is
// rewritten on every purchase: kept there, up to maxMerchantsSeen
// merchant ids were rewritten with each one (16 bytes a merchant).
//
// Version 1:
//
//	u8 1, uv n, n × str merchant id, boolean full
//
// full: the card reached maxMerchantsSeen; it counts as having seen
// every merchant (no more first-visit bonuses).
//
// Memberships stored before it (versions 1 and 2) hold the merchants
// themselves; decoded, they carry them in Membership.legacyVisited until
// the membership is next written, which moves them here.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

const visitedV1 = 1

// visitedMerchants is a card's merchants seen, decoded.
type visitedMerchants struct {
	MIDs []string
	Full bool
}

func (v *visitedMerchants) encode(e *encoder) {
	e.u8(visitedV1)
	e.uv(uint64(len(v.MIDs)))
	for _, mid := range v.MIDs {
		e.str(mid)
	}
	e.boolean(v.Full)
}

func (v *visitedMerchants) decode(b []byte) error {
	d := decoder{b: b}
	if d.u8() != visitedV1 {
		d.fail()
	}
	n := d.uv()
	if n > maxMerchantsSeen {
		d.fail()
		n = 0
	}
	v.MIDs = decodeStrings(&d, n)
	v.Full = d.boolean()
	return d.done("merchants seen")
}

func (v *visitedMerchants) seen(mid string) bool {
	return v.Full || slices.Contains(v.MIDs, mid)
}

// add records mid; past maxMerchantsSeen the card is full instead.
func (v *visitedMerchants) add(mid string) {
	if v.seen(mid) {
		return
	}
	if len(v.MIDs) >= maxMerchantsSeen {
		v.Full = true
		return
	}
	v.MIDs = append(v.MIDs, mid)
}

// visitedHas reports whether the stored record raw names mid (or is
// full), without decoding it: every earning asks, and the answer is
// almost always yes.
func visitedHas(raw []byte, mid string) (bool, error) {
	if len(raw) == 0 {
		return false, nil
	}
	d := decoder{b: raw}
	if d.u8() != visitedV1 {
		d.fail()
	}
	n := d.uv()
	for i := uint64(0); i < n && d.err == nil; i++ {
		if bytes.Equal(d.view(), []byte(mid)) {
			return true, nil
		}
	}
	full := d.boolean()
	if d.err != nil || len(d.b) != 0 {
		return false, fmt.Errorf("merchants seen: %w", errCorrupt)
	}
	return full, nil
}

// visitedBy is the decision's card's merchants (loyalty.MerchantHistory,
// loyalty.Member.MerchantsSeen): the decision itself, converted, so that
// handing it over allocates nothing.
type visitedBy decision

func (v *visitedBy) Seen(mid string) bool { return (*decision)(v).merchantSeen(mid) }

// merchantSeen reports whether the decision's card has been seen at
// mid before.
func (d *decision) merchantSeen(mid string) bool {
	if lv := d.membership().legacyVisited; lv != nil {
		return lv.seen(mid)
	}
	raw, err := d.t.get(d.t.cardKey(d.card.PAN, slotVisited))
	if err == nil {
		var seen bool
		if seen, err = visitedHas(raw, mid); err == nil {
			return seen
		}
	}
	d.ioErr = errors.Join(d.ioErr, fmt.Errorf("card %s: %w", cardnum.Mask(d.card.PAN), err))
	return true // no bonus on a fact the ledger cannot read
}

// recordMerchant records that the decision's card was seen at mid,
// writing mbv/<pan> only when mid is new to it.
func (d *decision) recordMerchant(mid string) {
	if d.merchantSeen(mid) || d.ioErr != nil {
		return
	}
	m := d.membership()
	v := m.legacyVisited
	if v == nil {
		v = &visitedMerchants{}
		raw, err := d.t.get(d.t.cardKey(d.card.PAN, slotVisited))
		if err == nil && raw != nil {
			err = v.decode(raw)
		}
		if err != nil {
			d.ioErr = errors.Join(d.ioErr, fmt.Errorf("card %s: %w", cardnum.Mask(d.card.PAN), err))
			return
		}
	}
	v.add(mid)
	d.t.put(d.t.cardKey(d.card.PAN, slotVisited), v)
	m.legacyVisited = nil // moved: the membership is written without them
}

// moveLegacyVisited writes the merchants a legacy membership carried
// to their own record, before the membership is written without them.
func moveLegacyVisited(t *tx, pan string, m *Membership) {
	if m.legacyVisited != nil {
		t.put(keyVisited(pan), m.legacyVisited)
		m.legacyVisited = nil
	}
}
