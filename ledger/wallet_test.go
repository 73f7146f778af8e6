package ledger

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

// randomWallet is a wallet after a random life of earnings, redemptions,
// take-backs and expiries, and the instant it got to.
func randomWallet(rng *rand.Rand) (*walletRecord, uint64, time.Time) {
	w := &walletRecord{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(1)
	for n := rng.IntN(120); n > 0; n-- {
		at = at.Add(time.Duration(rng.IntN(72)) * time.Hour)
		seq += uint64(1 + rng.IntN(3))
		switch rng.IntN(6) {
		case 0, 1, 2:
			_, _, _ = w.Earn(randomLot(rng, seq, at))
		case 3:
			_, _ = w.Redeem(Points(rng.IntN(300)), at)
		case 4:
			if len(w.Lots) > 0 {
				_, _, _ = w.TakeBack(w.Lots[rng.IntN(len(w.Lots))].Seq, Points(rng.IntN(400)), at)
			}
		case 5:
			w.Expire(at)
		}
	}
	return w, seq, at
}

func randomLot(rng *rand.Rand, seq uint64, at time.Time) loyalty.Lot {
	l := loyalty.Lot{Seq: seq, Points: Points(rng.IntN(500)), EarnedAt: at}
	switch rng.IntN(4) {
	case 0: // never expires
	case 1: // sooner than a usual lot: goes before later ones
		l.Expires = at.Add(time.Duration(1+rng.IntN(48)) * time.Hour)
	default:
		l.Expires = time.Date(at.Year(), at.Month()+13, 1, 0, 0, 0, 0, time.UTC)
	}
	return l
}

// encodeWallet renders w as stored: the record's part and the pages.
func encodeWallet(w *walletRecord) ([]byte, [][]byte) {
	e := encoder{}
	pages := w.encodePaged(&e)
	return e.b, pages
}

// encodeWalletV2 renders w in version 2 (every lot in the record), as
// stores written before the pages hold it.
func encodeWalletV2(w *walletRecord) []byte {
	e := encoder{}
	h := w.header()
	h.encode(&e)
	e.b[0] = walletV2 // the same header fields, version 2
	var prev lotDelta
	for i := range w.Lots {
		prev = encodeLot(&e, &w.Lots[i], prev)
	}
	return e.b
}

// TestAppendEarningIsEarn: appending a lot to the encoded wallet, when
// appendEarning takes it, gives exactly the record part and the pages
// of decoding, calling loyalty.Wallet.Earn and encoding (the page it
// seals included); and the header's available points are Available's
// whenever no lot has expired.
func TestAppendEarningIsEarn(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	took, sealed := 0, 0
	for i := 0; i < 5000; i++ {
		w, seq, at := randomWallet(rng)
		raw, pages := encodeWallet(w)
		back, read, err := decodeWallet(raw, pagesFrom(pages))
		if err != nil {
			t.Fatalf("wallet %d: %v", i, err)
		}
		if !reflect.DeepEqual(lotsNanos(back.Lots), lotsNanos(w.Lots)) || back.Debt != w.Debt || len(read) != pagesFor(len(w.Lots)) {
			t.Fatalf("wallet %d: round trip changed it", i)
		}
		if h := w.header(); len(w.Lots) > 0 && w.Lots[0].Live(at) && h.remaining-h.debt != w.Available(at) {
			t.Fatalf("wallet %d: header says %d available, Available %d", i, h.remaining-h.debt, w.Available(at))
		}
		lot := randomLot(rng, seq+1+uint64(rng.IntN(2)), at.Add(time.Hour))
		out, page, ok := appendEarning(nil, raw, lot)
		if !ok {
			continue
		}
		took++
		if _, _, err := w.Earn(lot); err != nil {
			t.Fatalf("wallet %d: append took a lot Earn refuses: %v", i, err)
		}
		wantRaw, wantPages := encodeWallet(w)
		if !bytes.Equal(out, wantRaw) {
			t.Fatalf("wallet %d: appended % x\nwant         % x", i, out, wantRaw)
		}
		if page.bytes != nil {
			sealed++
			if page.n != len(pages) {
				t.Fatalf("wallet %d: sealed page %d after %d pages", i, page.n, len(pages))
			}
			pages = append(pages, page.bytes)
		}
		if !reflect.DeepEqual(pages, wantPages) {
			t.Fatalf("wallet %d: pages after the append differ from Earn's", i)
		}
	}
	if took < 1000 || sealed < 20 {
		t.Fatalf("the append path took %d of 5000 earnings and sealed %d pages: the test no longer exercises it", took, sealed)
	}
}

func lotsNanos(lots []loyalty.Lot) [][5]int64 {
	out := make([][5]int64, 0, len(lots))
	for _, l := range lots {
		out = append(out, [5]int64{int64(l.Seq), int64(l.Points), int64(l.Remaining), l.EarnedAt.UnixNano(), nanosOrZero(l.Expires)})
	}
	return out
}

// TestWalletDecodesOlderVersions: a wallet stored in version 1 (every
// field in full) or version 2 (every lot in the record) decodes to the
// same lots, and is written back in version 3 with its pages.
func TestWalletDecodesOlderVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 200; i++ {
		w, _, _ := randomWallet(rng)
		e := encoder{}
		e.u8(1)
		e.uv(uint64(len(w.Lots)))
		for _, l := range w.Lots {
			e.uv(l.Seq)
			e.iv(int64(l.Points))
			e.iv(int64(l.Remaining))
			e.iv(l.EarnedAt.UnixNano())
			e.iv(nanosOrZero(l.Expires))
		}
		e.iv(int64(w.Debt))
		wantRaw, wantPages := encodeWallet(w)
		for version, raw := range map[int][]byte{1: e.b, 2: encodeWalletV2(w)} {
			old, pages, err := decodeWallet(raw, pagesFrom(nil))
			if err != nil {
				t.Fatalf("wallet %d, version %d: %v", i, version, err)
			}
			if !reflect.DeepEqual(lotsNanos(old.Lots), lotsNanos(w.Lots)) || old.Debt != w.Debt || pages != nil {
				t.Fatalf("wallet %d: version %d decodes differently", i, version)
			}
			if got, gotPages := encodeWallet(old); got[0] != walletV3 || !bytes.Equal(got, wantRaw) || !reflect.DeepEqual(gotPages, wantPages) {
				t.Fatalf("wallet %d: version %d not re-encoded as version 3", i, version)
			}
		}
	}
}

// TestWalletHeaderMustMatchLots: a header that disagrees with its lots
// is a corrupt record, since the fast paths answer from the header.
func TestWalletHeaderMustMatchLots(t *testing.T) {
	w := &walletRecord{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := w.Earn(loyalty.Lot{Seq: 5, Points: 100, EarnedAt: at}); err != nil {
		t.Fatal(err)
	}
	h := w.header()
	h.remaining = 1000 // claims more points than the lot holds
	e := encoder{}
	h.encode(&e)
	encodeLot(&e, &w.Lots[0], lotDelta{})
	if _, _, err := decodeWallet(e.b, pagesFrom(nil)); err == nil {
		t.Fatal("a header claiming 1000 points over a lot of 100 decoded")
	}
}

// TestWalletPagesMustBeThere: a wallet whose header counts a sealed
// page the store lacks, or whose page is cut, is corrupt, not a wallet
// with fewer lots. (Pages in the wrong order break the lots' order:
// the checker's Wallet.Check reports that.)
func TestWalletPagesMustBeThere(t *testing.T) {
	w := &walletRecord{}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for seq := uint64(1); seq <= 2*pageLots+1; seq++ {
		if _, _, err := w.Earn(loyalty.Lot{Seq: seq, Points: 10, EarnedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	raw, pages := encodeWallet(w)
	if len(pages) != 2 {
		t.Fatalf("%d lots in %d pages, want 2", len(w.Lots), len(pages))
	}
	for name, stored := range map[string][][]byte{
		"page missing": pages[:1],
		"page cut":     {pages[0], pages[1][:len(pages[1])-1]},
	} {
		if _, _, err := decodeWallet(raw, pagesFrom(stored)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
