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
	for n := rng.IntN(40); n > 0; n-- {
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

func encodeWallet(w *walletRecord) []byte {
	e := encoder{}
	w.encode(&e)
	return e.b
}

// TestAppendEarningIsEarn: appending a lot to the encoded wallet, when
// appendEarning takes it, gives exactly the bytes of decoding, calling
// loyalty.Wallet.Earn and encoding; and the header's available points
// are Available's whenever no lot has expired.
func TestAppendEarningIsEarn(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	took := 0
	for i := 0; i < 5000; i++ {
		w, seq, at := randomWallet(rng)
		raw := encodeWallet(w)
		var back walletRecord
		if err := back.decode(raw); err != nil {
			t.Fatalf("wallet %d: %v", i, err)
		}
		if !reflect.DeepEqual(lotsNanos(back.Lots), lotsNanos(w.Lots)) || back.Debt != w.Debt {
			t.Fatalf("wallet %d: round trip changed it", i)
		}
		if h := w.header(); len(w.Lots) > 0 && w.Lots[0].Live(at) && h.remaining-h.debt != w.Available(at) {
			t.Fatalf("wallet %d: header says %d available, Available %d", i, h.remaining-h.debt, w.Available(at))
		}
		lot := randomLot(rng, seq+1+uint64(rng.IntN(2)), at.Add(time.Hour))
		out, ok := appendEarning(raw, lot)
		if !ok {
			continue
		}
		took++
		if _, _, err := w.Earn(lot); err != nil {
			t.Fatalf("wallet %d: append took a lot Earn refuses: %v", i, err)
		}
		if want := encodeWallet(w); !bytes.Equal(out, want) {
			t.Fatalf("wallet %d: appended % x\nwant         % x", i, out, want)
		}
	}
	if took < 1000 {
		t.Fatalf("the append path took %d of 5000 earnings: the test no longer exercises it", took)
	}
}

func lotsNanos(lots []loyalty.Lot) [][5]int64 {
	out := make([][5]int64, 0, len(lots))
	for _, l := range lots {
		out = append(out, [5]int64{int64(l.Seq), int64(l.Points), int64(l.Remaining), l.EarnedAt.UnixNano(), nanosOrZero(l.Expires)})
	}
	return out
}

// TestWalletDecodesVersion1: a wallet stored before the append path
// decodes to the same lots, and is written back in version 2.
func TestWalletDecodesVersion1(t *testing.T) {
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
		var v1 walletRecord
		if err := v1.decode(e.b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(lotsNanos(v1.Lots), lotsNanos(w.Lots)) || v1.Debt != w.Debt {
			t.Fatalf("wallet %d: version 1 decodes differently", i)
		}
		if got := encodeWallet(&v1); got[0] != 2 || !bytes.Equal(got, encodeWallet(w)) {
			t.Fatalf("wallet %d: not re-encoded as version 2", i)
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
	if err := (&walletRecord{}).decode(e.b); err == nil {
		t.Fatal("a header claiming 1000 points over a lot of 100 decoded")
	}
}
