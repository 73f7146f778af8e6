package ledger

// wallet.go: the encoding of a card's wallet (its points lots), the
// part of its loyalty record (cardloyalty.go) that every purchase of a
// program with rules adds a lot to and every answer reports the
// available points of. So it is built for those two: a header that
// summarizes the lots (their count, what they hold, the soonest expiry,
// the last lot) and the lots delta-coded after it. An earning whose lot
// goes last — the common case: lots are held soonest-expiring first and
// a new earning expires no sooner than the last — is appended to the
// stored bytes without decoding them, and the available points come
// from the header while no lot has expired. Everything else decodes the
// lots and runs loyalty.Wallet.

import (
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
)

// walletRecord is a card's loyalty.Wallet: its lots in consumption
// order and its debt. Instants are unix nanoseconds; an Expires of 0 is
// never.
//
// Version 2 (written since the append path; version 1, a whole record
// of its own at wal/<pan> before the loyalty record held the
// membership too, still decodes):
//
//	u8 2, iv debt, uv lots, iv sum of Remaining, iv first lot's Expires,
//	uv highest Seq, uv last lot's Seq, iv its EarnedAt, iv its Expires,
//	then per lot, each field the difference from the lot before (the
//	first from zero): iv Seq, iv Points, iv Points−Remaining,
//	iv EarnedAt, iv Expires.
//
// The decoder checks the header against the lots, so a header that
// decodes is one the fast paths may trust.
type walletRecord struct{ loyalty.Wallet }

// walletHeader is the summary ahead of the lots.
type walletHeader struct {
	debt         Points
	count        int
	remaining    Points // sum of the lots' Remaining, live or not
	firstExpires int64  // lots[0].Expires (0: never, or no lots)
	maxSeq       uint64
	last         lotDelta // the last lot, absolute (zero: no lots)
}

// lotDelta is a lot's fields as they are delta-coded.
type lotDelta struct {
	seq              uint64
	earnedAt, expiry int64
}

func lotFields(l *loyalty.Lot) lotDelta {
	return lotDelta{seq: l.Seq, earnedAt: l.EarnedAt.UnixNano(), expiry: nanosOrZero(l.Expires)}
}

func (h *walletHeader) encode(e *encoder) {
	e.u8(2)
	e.iv(int64(h.debt))
	e.uv(uint64(h.count))
	e.iv(int64(h.remaining))
	e.iv(h.firstExpires)
	e.uv(h.maxSeq)
	e.uv(h.last.seq)
	e.iv(h.last.earnedAt)
	e.iv(h.last.expiry)
}

// decodeWalletHeader reads a version 2 header; the rest of d is the
// lots.
func decodeWalletHeader(d *decoder) walletHeader {
	if d.u8() != 2 {
		d.fail()
	}
	h := walletHeader{debt: Points(d.iv()), count: int(min(d.uv(), loyalty.MaxLots+1)), remaining: Points(d.iv()),
		firstExpires: d.iv(), maxSeq: d.uv(), last: lotDelta{seq: d.uv(), earnedAt: d.iv(), expiry: d.iv()}}
	if h.count > loyalty.MaxLots {
		d.fail()
	}
	return h
}

// encodeLot appends l delta-coded against prev.
func encodeLot(e *encoder, l *loyalty.Lot, prev lotDelta) lotDelta {
	f := lotFields(l)
	e.iv(int64(f.seq - prev.seq))
	e.iv(int64(l.Points))
	e.iv(int64(l.Points - l.Remaining))
	e.iv(f.earnedAt - prev.earnedAt)
	e.iv(f.expiry - prev.expiry)
	return f
}

func (w *walletRecord) header() walletHeader {
	h := walletHeader{debt: w.Debt, count: len(w.Lots)}
	for i := range w.Lots {
		l := &w.Lots[i]
		h.remaining += l.Remaining
		h.maxSeq = max(h.maxSeq, l.Seq)
	}
	if n := len(w.Lots); n > 0 {
		h.firstExpires = nanosOrZero(w.Lots[0].Expires)
		h.last = lotFields(&w.Lots[n-1])
	}
	return h
}

func (w *walletRecord) encode(e *encoder) {
	h := w.header()
	h.encode(e)
	var prev lotDelta
	for i := range w.Lots {
		prev = encodeLot(e, &w.Lots[i], prev)
	}
}

func (w *walletRecord) decode(b []byte) error {
	if len(b) > 0 && b[0] == 1 {
		return w.decodeV1(b)
	}
	d := decoder{b: b}
	h := decodeWalletHeader(&d)
	w.Debt = h.debt
	w.Lots = make([]loyalty.Lot, 0, h.count)
	var prev lotDelta
	for i := 0; i < h.count && d.err == nil; i++ {
		f := lotDelta{seq: prev.seq + uint64(d.iv())}
		l := loyalty.Lot{Seq: f.seq, Points: Points(d.iv())}
		l.Remaining = l.Points - Points(d.iv())
		f.earnedAt, f.expiry = prev.earnedAt+d.iv(), prev.expiry+d.iv()
		l.EarnedAt, l.Expires = time.Unix(0, f.earnedAt), timeOrZero(f.expiry)
		w.Lots = append(w.Lots, l)
		prev = f
	}
	if d.err == nil && w.header() != h {
		d.fail() // the header must say what the lots say: the fast paths trust it
	}
	return d.done("wallet")
}

// decodeV1 reads the first wallet format: every lot's fields in full.
func (w *walletRecord) decodeV1(b []byte) error {
	d := decoder{b: b}
	if d.u8() != 1 {
		d.fail()
	}
	n := d.uv()
	if n > loyalty.MaxLots {
		d.fail()
		n = 0
	}
	w.Lots = make([]loyalty.Lot, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		l := loyalty.Lot{Seq: d.uv(), Points: Points(d.iv()), Remaining: Points(d.iv()), EarnedAt: time.Unix(0, d.iv())}
		l.Expires = timeOrZero(d.iv())
		w.Lots = append(w.Lots, l)
	}
	w.Debt = Points(d.iv())
	return d.done("wallet")
}

// appendEarning is Wallet.Earn on the encoded wallet raw (version 2),
// for the case where it only appends: no debt to repay, room for the
// lot, and the lot going last (a Seq above every lot's, expiring no
// sooner than the last). ok is false when any of that does not hold —
// the caller then decodes and calls Earn — and out is raw with the lot
// appended and the header updated. A lot of 0 points changes nothing
// (out is raw), as with Earn.
func appendEarning(raw []byte, lot loyalty.Lot) (out []byte, ok bool) {
	d := decoder{b: raw}
	h := decodeWalletHeader(&d)
	if d.err != nil || h.debt != 0 || h.count >= loyalty.MaxLots || lot.Seq <= h.maxSeq ||
		lot.Points < 0 || !money.InRange(int64(lot.Points)) {
		return nil, false
	}
	if lot.Points == 0 {
		return raw, true
	}
	if h.count > 0 {
		last := loyalty.Lot{Seq: h.last.seq, Expires: timeOrZero(h.last.expiry)}
		if !last.Before(&lot) {
			return nil, false
		}
	}
	lot.Remaining = lot.Points
	lots := d.b // the encoded lots, after the header
	next := h
	next.count++
	next.remaining += lot.Points
	next.maxSeq = lot.Seq
	next.last = lotFields(&lot)
	if h.count == 0 {
		next.firstExpires = next.last.expiry
	}
	e := encoder{b: make([]byte, 0, len(raw)+48)}
	next.encode(&e)
	e.raw(lots)
	encodeLot(&e, &lot, h.last)
	return e.b, true
}

func nanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
