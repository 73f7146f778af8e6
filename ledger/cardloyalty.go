package ledger

// cardloyalty.go: a card's loyalty record (wal/<pan>): its membership
// and its wallet in one record, since every purchase of a program with
// rules changes both, and a decision's view of it.
//
// Version 3:
//
//	u8 3, bytes the Membership, then the wallet (walletRecord, version
//	3, whose sealed pages are at wlp/<pan>/<n>) to the end.
//
// Stores written before version 3 hold the wallet alone at wal/<pan>
// (version 1 or 2: never 3, which exists only inside this record) and the membership at mbr/<pan>; such a card's
// membership is read from there, and the first write of its record
// moves it in and deletes mbr/<pan>.

import (
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

const loyaltyRecordV3 = 3

// loyaltyParts splits a stored loyalty record into its membership and
// wallet encodings. A record before version 3 is a wallet alone
// (legacy: the membership is at mbr/<pan>).
func loyaltyParts(raw []byte) (mbr, wal []byte, legacy bool, err error) {
	if len(raw) == 0 || raw[0] != loyaltyRecordV3 {
		return nil, raw, true, nil
	}
	d := decoder{b: raw[1:]}
	mbr = d.view()
	if d.err != nil {
		return nil, nil, false, fmt.Errorf("loyalty record: %w", d.err)
	}
	return mbr, d.b, false, nil
}

// appendLoyaltyRecord renders a version 3 record of the two encodings.
func appendLoyaltyRecord(e *encoder, mbr, wal []byte) {
	e.u8(loyaltyRecordV3)
	e.bytes(mbr)
	e.raw(wal)
}

// walletOf decodes the wallet part of pan's stored loyalty record (of
// any version), its pages read through get, for the scans that read
// only it.
func walletOf(get func(string) ([]byte, error), pan string, raw []byte) (*walletRecord, error) {
	_, wal, _, err := loyaltyParts(raw)
	if err != nil {
		return nil, err
	}
	w, _, err := decodeWallet(wal, pagesOf(get, pan))
	return w, err
}

// pagesOf reads pan's sealed wallet pages through get; a page the
// header counts but the store lacks is a corrupt wallet.
func pagesOf(get func(string) ([]byte, error), pan string) pageReader {
	return func(n int) ([]byte, error) {
		p, err := get(keyWalletPage(pan, n))
		if err == nil && p == nil {
			err = fmt.Errorf("wallet page %d: missing: %w", n, errCorrupt)
		}
		return p, err
	}
}

// hasMembership reports whether a stored loyalty record holds a
// membership: a card becomes a member with its first earning or spend;
// a record made only by points credits (an operator's adjustment) holds
// a blank one. A record it cannot read counts, so that whoever reads it
// next reports it.
func hasMembership(raw []byte) bool {
	mbr, _, legacy, err := loyaltyParts(raw)
	if err != nil || legacy {
		return true // a legacy membership is at mbr/<pan>
	}
	var m Membership
	if m.decode(mbr) != nil {
		return true
	}
	return m.Tier != 0 || len(m.TierHistory) != 0 || len(m.Spend) != 0 || m.LifetimeSpend != 0 || m.LifetimeVisits != 0
}

// cardLoyalty is a card's loyalty record decoded whole, for the jobs and
// views that read many cards (expiry, tier review, member view).
type cardLoyalty struct {
	Membership Membership
	Wallet     walletRecord
	// Stored: the card has a record; Legacy: its membership came from
	// mbr/<pan> (see the file comment).
	Stored, Legacy bool
	pages          [][]byte // the wallet's sealed pages as read
}

// readCardLoyalty reads pan's loyalty record through get.
func readCardLoyalty(get func(string) ([]byte, error), pan string) (*cardLoyalty, error) {
	raw, err := get(keyWallet(pan))
	if err != nil || raw == nil {
		return &cardLoyalty{}, err
	}
	mbr, wal, legacy, err := loyaltyParts(raw)
	if err != nil {
		return nil, fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
	}
	if legacy {
		if mbr, err = get(keyMembership(pan)); err != nil {
			return nil, err
		}
	}
	cl := &cardLoyalty{Stored: true, Legacy: legacy}
	if mbr != nil {
		if err := cl.Membership.decode(mbr); err != nil {
			return nil, fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
		}
	}
	w, pages, err := decodeWallet(wal, pagesOf(get, pan))
	if err != nil {
		return nil, fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
	}
	cl.Wallet, cl.pages = *w, pages
	return cl, nil
}

// write stores the record as version 3 (moving a legacy membership in)
// and the wallet's pages that changed.
func (cl *cardLoyalty) write(t *tx, pan string) {
	moveLegacyVisited(t, pan, &cl.Membership)
	rec, pages := encodeLoyaltyRecord(&cl.Membership, &cl.Wallet)
	t.set(keyWallet(pan), rec)
	writePages(t, pan, pages, cl.pages)
	cl.pages = pages
	if cl.Legacy {
		t.del(keyMembership(pan))
		cl.Legacy = false
	}
	cl.Stored = true
}

// encodeLoyaltyRecord renders a version 3 record of a decoded
// membership and wallet, and the wallet's sealed pages. (A decision's
// storeLoyalty copies the parts it did not decode as they were stored
// instead.)
func encodeLoyaltyRecord(m *Membership, w *walletRecord) (rec []byte, pages [][]byte) {
	var me, we encoder
	m.encode(&me)
	pages = w.encodePaged(&we)
	out := encoder{b: make([]byte, 0, len(me.b)+len(we.b)+4)}
	appendLoyaltyRecord(&out, me.b, we.b)
	return out.b, pages
}

// loyaltyView is a decision's copy of the card's loyalty record: its
// two parts as stored, read once, each decoded only when a step needs
// it. A decoded part is the truth (a step may have changed it); storing
// the record (storeLoyalty) renders the decoded parts and copies the
// others as they are.
type loyaltyView struct {
	loaded bool
	legacy bool        // the membership is at mbr/<pan>: delete it on write
	mbrRaw []byte      // nil: no membership yet
	walRaw []byte      // nil: no wallet yet
	mbr    *Membership // nil until decoded; then the request's scratch (decision.spareMembership), or &mbrVal
	mbrVal Membership
	wal    *walletRecord
	pages  [][]byte // wal's sealed pages as read (nil until decoded)
	// key is the card's wal/ key.
	key string
}

func (d *decision) loadLoyalty() *loyaltyView {
	v := &d.lv
	if v.loaded {
		return v
	}
	v.loaded = true
	v.key = d.t.cardKey(d.card.PAN, slotWallet)
	raw, err := d.t.get(v.key)
	if err != nil {
		d.ioErr = errors.Join(d.ioErr, err)
		return v
	}
	mbr, wal, legacy, err := loyaltyParts(raw)
	if err != nil {
		d.ioErr = errors.Join(d.ioErr, fmt.Errorf("card %s: %w", cardnum.Mask(d.card.PAN), err))
		return v
	}
	if legacy && raw != nil {
		if mbr, err = d.t.get(keyMembership(d.card.PAN)); err != nil {
			d.ioErr = errors.Join(d.ioErr, err)
		}
		v.legacy = mbr != nil
	}
	v.mbrRaw, v.walRaw = mbr, wal
	return v
}

// membership is the card's membership, decoded once per decision (an
// empty one for a card without).
func (d *decision) membership() *Membership {
	v := d.loadLoyalty()
	if v.mbr == nil {
		v.mbr = d.spareMembership // a request's: its lists' arrays reused by decode
		if v.mbr == nil {
			v.mbr = &v.mbrVal
		}
		if v.mbrRaw == nil {
			*v.mbr = Membership{}
		} else if err := v.mbr.decode(v.mbrRaw); err != nil {
			d.ioErr = errors.Join(d.ioErr, fmt.Errorf("card %s: %w", cardnum.Mask(d.card.PAN), err))
			*v.mbr = Membership{}
		}
	}
	return v.mbr
}

// wallet is the card's wallet, decoded once per decision: the steps of
// one request (earn, the answer's balances, an undo's check) share it,
// and a step that changes it stores the record with storeLoyalty. A step that
// fails leaves it unchanged (loyalty.Wallet's methods change nothing on
// error), so a later step of a declined request reads what is stored.
// A card without a stored wallet gets an empty one.
func (d *decision) wallet() *walletRecord {
	v := d.loadLoyalty()
	if v.wal == nil {
		v.wal = &walletRecord{}
		if v.walRaw != nil {
			w, pages, err := decodeWallet(v.walRaw, pagesOf(d.t.get, d.card.PAN))
			if err != nil {
				d.ioErr = errors.Join(d.ioErr, fmt.Errorf("card %s: %w", cardnum.Mask(d.card.PAN), err))
			} else {
				v.wal, v.pages = w, pages
			}
		}
	}
	return v.wal
}

// storeLoyalty writes the card's record: the decoded parts rendered,
// the others as read.
func (d *decision) storeLoyalty() {
	v := d.loadLoyalty()
	if v.mbr != nil {
		moveLegacyVisited(d.t, d.card.PAN, v.mbr) // before: it uses the scratch encoder
	}
	e := &d.s.enc
	e.b = e.b[:0]
	if v.mbr != nil {
		v.mbr.encode(e)
	} else if v.mbrRaw != nil {
		e.raw(v.mbrRaw)
	} else {
		(&Membership{}).encode(e)
	}
	mbrEnd := len(e.b)
	if v.wal != nil {
		pages := v.wal.encodePaged(e)
		writePages(d.t, d.card.PAN, pages, v.pages)
		v.pages = pages
	} else if v.walRaw != nil {
		e.raw(v.walRaw)
	} else {
		(&walletRecord{}).encodePaged(e)
	}
	out := &d.s.recordEnc
	out.b = out.b[:0]
	appendLoyaltyRecord(out, e.b[:mbrEnd], e.b[mbrEnd:])
	staged := d.t.setCopy(v.key, out.b)
	if v.legacy {
		d.t.del(keyMembership(d.card.PAN))
		v.legacy = false
	}
	// Later steps of this decision read the parts just written.
	v.mbrRaw, v.walRaw, _, _ = loyaltyParts(staged)
}

// earnLot credits an earning's lot to the card's wallet, appended to the
// stored encoding when it goes last (appendEarning; a page it seals is
// staged at once), else through loyalty.Wallet.Earn. The caller stores
// the record (storeLoyalty).
func (d *decision) earnLot(lot loyalty.Lot) error {
	v := d.loadLoyalty()
	if v.wal == nil && v.walRaw != nil {
		// Rendered in the writer's scratch buffer, kept in its arena.
		if out, sealed, ok := appendEarning(d.s.enc.b[:0], v.walRaw, lot); ok {
			if sealed.bytes != nil {
				d.t.set(keyWalletPage(d.card.PAN, sealed.n), sealed.bytes)
			}
			v.walRaw = d.s.arena.copy(out)
			return nil
		}
	}
	_, _, err := d.wallet().Earn(lot)
	return err
}

// pointsAvailable is the card's available points at the decision's
// instant, and whether it has a wallet at all (a card whose program
// never had rules has none: its points are its account's balance).
// While no lot has expired the wallet's header answers without
// decoding its lots.
func (d *decision) pointsAvailable() (Points, bool) {
	v := d.loadLoyalty()
	if v.wal != nil {
		return v.wal.Available(d.now), true
	}
	if v.walRaw == nil {
		return 0, false
	}
	if v.walRaw[0] == walletV2 || v.walRaw[0] == walletV3 { // these have the header
		dec := decoder{b: v.walRaw}
		h := decodeWalletHeader(&dec)
		if dec.err == nil && (h.count == 0 || h.firstExpires == 0 || d.now.UnixNano() < h.firstExpires) {
			return h.remaining - h.debt, true
		}
	}
	return d.wallet().Available(d.now), true
}
