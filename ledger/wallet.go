package ledger

// wallet.go: the encoding of a card's wallet (its points lots), the
// part of its loyalty record (cardloyalty.go) that every purchase of a
// program with rules adds a lot to and every answer reports the
// available points of. So it is built for those two, and so that an
// earning costs the same whatever the card's history:
//
//   - a header summarizes the lots (their count, what they hold, the
//     soonest expiry, the last lot), so the available points come from
//     it while no lot has expired;
//   - the lots are delta-coded, and all but the last 1..pageLots of them
//     sit in sealed pages of pageLots lots under keys of their own
//     (wlp/<pan>/<n>), so the record an earning rewrites holds at most
//     pageLots lots;
//   - an earning whose lot goes last — the common case: lots are held
//     soonest-expiring first and a new earning expires no sooner than
//     the last — is appended to the stored bytes without decoding them
//     (appendEarning), sealing the full tail into the next page.
//
// Everything else (redemption, take-back, expiry, an earning that goes
// before another lot) decodes the whole wallet, pages included, runs
// loyalty.Wallet, and writes back the pages whose bytes changed.

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
)

// walletRecord is a card's loyalty.Wallet: its lots in consumption
// order and its debt. Instants are unix nanoseconds; an Expires of 0 is
// never.
//
// Version 3, the wallet part of the loyalty record:
//
//	u8 3, iv debt, uv lots, iv sum of Remaining, iv first lot's Expires,
//	uv highest Seq, uv last lot's Seq, iv its EarnedAt, iv its Expires,
//	then the tail: the lots not in sealed pages, delta-coded from zero.
//
// and each of its pagesFor(lots) sealed pages, lots in order:
//
//	u8 1, then pageLots lots delta-coded from zero.
//
// A lot delta-coded is each field the difference from the lot before
// (the first from zero): iv Seq, iv Points, iv Points−Remaining,
// iv EarnedAt, iv Expires.
//
// Versions 1 (every field in full) and 2 (version 3's header, version
// 2, and every lot in the record) still decode; the next write of such
// a wallet is version 3. The decoder checks the header against the
// lots, so a header that decodes is one the fast paths may trust.
type walletRecord struct{ loyalty.Wallet }

// pageLots is how many lots a sealed page holds: small enough that the
// record an earning rewrites stays a few hundred bytes, large enough
// that a card with years of earnings has few pages.
const pageLots = 8

// pagesFor is how many sealed pages a version 3 wallet of n lots has:
// every lot but the last 1..pageLots.
func pagesFor(n int) int {
	if n <= 0 {
		return 0
	}
	return (n - 1) / pageLots
}

const (
	walletV2     = 2
	walletV3     = 3
	walletPageV1 = 1
)

// walletHeader is the summary ahead of the lots.
type walletHeader struct {
	version      uint8
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
	e.u8(walletV3)
	e.iv(int64(h.debt))
	e.uv(uint64(h.count))
	e.iv(int64(h.remaining))
	e.iv(h.firstExpires)
	e.uv(h.maxSeq)
	e.uv(h.last.seq)
	e.iv(h.last.earnedAt)
	e.iv(h.last.expiry)
}

// decodeWalletHeader reads a version 2 or 3 header; the rest of d is
// the lots (version 2) or the tail (version 3).
func decodeWalletHeader(d *decoder) walletHeader {
	v := d.u8()
	if v != walletV2 && v != walletV3 {
		d.fail()
	}
	h := walletHeader{version: v, debt: Points(d.iv()), count: int(min(d.uv(), loyalty.MaxLots+1)), remaining: Points(d.iv()),
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

// decodeLots appends n lots delta-coded from zero to lots.
func decodeLots(d *decoder, n int, lots []loyalty.Lot) []loyalty.Lot {
	var prev lotDelta
	for i := 0; i < n && d.err == nil; i++ {
		f := lotDelta{seq: prev.seq + uint64(d.iv())}
		l := loyalty.Lot{Seq: f.seq, Points: Points(d.iv())}
		l.Remaining = l.Points - Points(d.iv())
		f.earnedAt, f.expiry = prev.earnedAt+d.iv(), prev.expiry+d.iv()
		l.EarnedAt, l.Expires = time.Unix(0, f.earnedAt), timeOrZero(f.expiry)
		lots = append(lots, l)
		prev = f
	}
	return lots
}

func (w *walletRecord) header() walletHeader {
	h := walletHeader{version: walletV3, debt: w.Debt, count: len(w.Lots)}
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

// encodePaged renders w as version 3: the record's part into e, and the
// sealed pages, each its own slice.
func (w *walletRecord) encodePaged(e *encoder) (pages [][]byte) {
	h := w.header()
	np := pagesFor(h.count)
	for p := 0; p < np; p++ {
		pe := encoder{b: make([]byte, 0, 1+pageLots*12)}
		pe.u8(walletPageV1)
		var prev lotDelta
		for i := p * pageLots; i < (p+1)*pageLots; i++ {
			prev = encodeLot(&pe, &w.Lots[i], prev)
		}
		pages = append(pages, pe.b)
	}
	h.encode(e)
	var prev lotDelta
	for i := np * pageLots; i < h.count; i++ {
		prev = encodeLot(e, &w.Lots[i], prev)
	}
	return pages
}

// pageReader reads sealed page n of the wallet being decoded (nil when
// absent).
type pageReader func(n int) ([]byte, error)

// decodeWallet decodes a stored wallet of any version, reading its
// sealed pages through page, and returns the pages as read (for
// writePages to leave those unchanged alone).
func decodeWallet(raw []byte, page pageReader) (*walletRecord, [][]byte, error) {
	w := &walletRecord{}
	if len(raw) > 0 && raw[0] == 1 {
		return w, nil, w.decodeV1(raw)
	}
	d := decoder{b: raw}
	h := decodeWalletHeader(&d)
	if d.err != nil {
		return nil, nil, d.done("wallet")
	}
	w.Debt = h.debt
	w.Lots = make([]loyalty.Lot, 0, h.count)
	var pages [][]byte
	if h.version == walletV3 {
		for n := range pagesFor(h.count) {
			p, err := page(n)
			if err != nil {
				return nil, nil, err
			}
			pd := decoder{b: p}
			if pd.u8() != walletPageV1 {
				pd.fail()
			}
			w.Lots = decodeLots(&pd, pageLots, w.Lots)
			if err := pd.done(fmt.Sprintf("wallet page %d", n)); err != nil {
				return nil, nil, err
			}
			pages = append(pages, p)
		}
	}
	w.Lots = decodeLots(&d, h.count-len(w.Lots), w.Lots)
	if d.err == nil && w.header().withVersion(h.version) != h {
		d.fail() // the header must say what the lots say: the fast paths trust it
	}
	return w, pages, d.done("wallet")
}

func (h walletHeader) withVersion(v uint8) walletHeader { h.version = v; return h }

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

// writePages stages the sealed pages of pan's wallet: each page that
// differs from the one read (old), and the deletion of the pages beyond
// the new count.
func writePages(t *tx, pan string, pages, old [][]byte) {
	for n, p := range pages {
		if n >= len(old) || !bytes.Equal(p, old[n]) {
			t.set(keyWalletPage(pan, n), p)
		}
	}
	for n := len(pages); n < len(old); n++ {
		t.del(keyWalletPage(pan, n))
	}
}

// sealedPage is a page appendEarning sealed: the caller stores it at
// keyWalletPage(pan, n) with the record.
type sealedPage struct {
	n     int
	bytes []byte
}

// appendEarning is Wallet.Earn on the encoded version 3 wallet raw,
// for the case where it only appends: no debt to repay, room for the
// lot, and the lot going last (a Seq above every lot's, expiring no
// sooner than the last). ok is false when any of that does not hold —
// the caller then decodes and calls Earn — and out is raw with the lot
// appended and the header updated, rendered at the end of dst; when the
// tail was full it is sealed into the next page (sealed.bytes non-nil)
// and out's tail is the lot alone. A lot of 0 points changes nothing
// (out is raw), as with Earn.
func appendEarning(dst, raw []byte, lot loyalty.Lot) (out []byte, sealed sealedPage, ok bool) {
	d := decoder{b: raw}
	h := decodeWalletHeader(&d)
	if d.err != nil || h.version != walletV3 || h.debt != 0 || h.count >= loyalty.MaxLots || lot.Seq <= h.maxSeq ||
		lot.Points < 0 || !money.InRange(int64(lot.Points)) {
		return nil, sealedPage{}, false
	}
	if lot.Points == 0 {
		return raw, sealedPage{}, true
	}
	if h.count > 0 {
		last := loyalty.Lot{Seq: h.last.seq, Expires: timeOrZero(h.last.expiry)}
		if !last.Before(&lot) {
			return nil, sealedPage{}, false
		}
	}
	lot.Remaining = lot.Points
	tail, prev := d.b, h.last // the encoded tail, after the header
	if h.count > 0 && h.count-pagesFor(h.count)*pageLots == pageLots {
		sealed = sealedPage{n: pagesFor(h.count), bytes: append([]byte{walletPageV1}, tail...)}
		tail, prev = nil, lotDelta{}
	}
	next := h
	next.count++
	next.remaining += lot.Points
	next.maxSeq = lot.Seq
	next.last = lotFields(&lot)
	if h.count == 0 {
		next.firstExpires = next.last.expiry
	}
	e := encoder{b: slices.Grow(dst, len(tail)+64)}
	next.encode(&e)
	e.raw(tail)
	encodeLot(&e, &lot, prev)
	return e.b, sealed, true
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
