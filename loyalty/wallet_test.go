package loyalty

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// TestWalletConservation runs random sequences of earn, redeem, refund
// take-back, void (the exact rest of an earning) and expiry on wallets
// with small lot limits (so merging happens) and checks after every step:
// the invariants of Check; points conserved (earned = available counting
// unexpired-but-unremoved lots + redeemed + expired + taken back, Debt
// inside available); redemptions in expiry order; a refused operation
// changes nothing. Seeded, bounded: the same sequences every run.
func TestWalletConservation(t *testing.T) {
	rng := rand.New(rand.NewPCG(2025, 7))
	type earning struct {
		seq             uint64
		points, takenBy money.Points
	}
	for iter := range 400 {
		limit := 2 + rng.IntN(8)
		var w Wallet
		var earned, redeemed, expired, taken money.Points
		var earnings []earning
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for step := range 150 {
			before := Wallet{Lots: slices.Clone(w.Lots), Debt: w.Debt}
			unchanged := func(op string, err error) {
				if w.Debt != before.Debt || !slices.Equal(w.Lots, before.Lots) {
					t.Fatalf("iter %d step %d: refused %s (%v) changed the wallet", iter, step, op, err)
				}
			}
			switch rng.IntN(7) {
			case 0, 1: // earn
				pts := money.Points(rng.Int64N(200))
				lot := Lot{Seq: uint64(len(earnings) + 1), Points: pts, EarnedAt: now}
				if rng.IntN(5) > 0 {
					lot.Expires = now.Add(time.Duration(1+rng.IntN(60*24)) * time.Hour)
				}
				_, _, err := w.earn(lot, limit)
				if err != nil {
					if !errors.Is(err, ErrTooManyLots) {
						t.Fatalf("iter %d step %d: earn %+v: %v", iter, step, lot, err)
					}
					unchanged("earn", err)
					continue
				}
				earned += pts
				earnings = append(earnings, earning{seq: lot.Seq, points: pts})
			case 2: // redeem
				pts := money.Points(rng.Int64N(300))
				avail := w.Available(now)
				uses, err := w.Redeem(pts, now)
				if err != nil {
					if !errors.Is(err, ErrInsufficientPoints) || pts <= avail {
						t.Fatalf("iter %d step %d: redeem %d of %d: %v", iter, step, pts, avail, err)
					}
					unchanged("redeem", err)
					continue
				}
				checkOrder(t, before, uses, now)
				if sumUses(uses) != pts {
					t.Fatalf("iter %d step %d: redeem %d took %d", iter, step, pts, sumUses(uses))
				}
				redeemed += pts
			case 3, 4: // a refund's take-back, or a void's exact rest
				if len(earnings) == 0 {
					continue
				}
				e := &earnings[rng.IntN(len(earnings))]
				pts := e.points - e.takenBy
				if rng.IntN(2) == 0 && pts > 0 {
					pts = money.Points(rng.Int64N(int64(pts) + 1))
				}
				uses, debt, err := w.TakeBack(e.seq, pts, now)
				if err != nil {
					t.Fatalf("iter %d step %d: take back %d: %v", iter, step, pts, err)
				}
				if sumUses(uses)+debt != pts || w.Debt != before.Debt+debt {
					t.Fatalf("iter %d step %d: take back %d: lots %d, debt %d", iter, step, pts, sumUses(uses), debt)
				}
				e.takenBy += pts
				taken += pts
			case 5: // time passes; sometimes the expiry job runs
				now = now.Add(time.Duration(rng.IntN(20*24)) * time.Hour)
				if rng.IntN(2) == 0 {
					expired += sumUses(w.Expire(now))
					if again := w.Expire(now); len(again) != 0 {
						t.Fatalf("iter %d step %d: expiry not idempotent: %v", iter, step, again)
					}
				}
			case 6: // a bad request
				if _, err := w.Redeem(-1, now); !errors.Is(err, ErrInvalid) {
					t.Fatalf("iter %d step %d: redeem -1: %v", iter, step, err)
				}
				unchanged("redeem -1", nil)
			}
			if err := w.Check(); err != nil {
				t.Fatalf("iter %d step %d: %v", iter, step, err)
			}
			held := -w.Debt
			for _, l := range w.Lots {
				held += l.Remaining
			}
			if earned != held+redeemed+expired+taken {
				t.Fatalf("iter %d step %d: earned %d != held %d + redeemed %d + expired %d + taken back %d",
					iter, step, earned, held, redeemed, expired, taken)
			}
			if w.Debt > 0 && w.live(now) > 0 {
				t.Fatalf("iter %d step %d: debt %d beside %d live points", iter, step, w.Debt, w.live(now))
			}
		}
	}
}

// checkOrder: a redemption used the live lots of the wallet before it
// in order, emptying all but the last it touched.
func checkOrder(t *testing.T, before Wallet, uses []Use, at time.Time) {
	t.Helper()
	var live []Lot
	for _, l := range before.Lots {
		if l.Live(at) {
			live = append(live, l)
		}
	}
	for i, u := range uses {
		if i >= len(live) || live[i].Seq != u.Seq || (i < len(uses)-1 && u.Points != live[i].Remaining) {
			t.Fatalf("redemption %v out of expiry order over %v", uses, live)
		}
	}
}

func sumUses(uses []Use) money.Points {
	var s money.Points
	for _, u := range uses {
		s += u.Points
	}
	return s
}

// TestWalletMergesBeyondLimit: a full wallet merges a new earning into
// its latest-expiring lot, which takes the later expiry and keeps its
// Seq; with every lot expired it refuses until the expiry job runs.
func TestWalletMergesBeyondLimit(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var w Wallet
	for i := range 3 {
		if _, _, err := w.earn(Lot{Seq: uint64(i + 1), Points: 10, EarnedAt: t0, Expires: t0.AddDate(0, 1+i, 0)}, 3); err != nil {
			t.Fatal(err)
		}
	}
	_, into, err := w.earn(Lot{Seq: 4, Points: 5, EarnedAt: t0, Expires: t0.AddDate(0, 6, 0)}, 3)
	if err != nil || into != 3 {
		t.Fatalf("merge: into %d, %v; want lot 3", into, err)
	}
	last := w.Lots[2]
	if len(w.Lots) != 3 || last.Seq != 3 || last.Points != 15 || last.Remaining != 15 || !last.Expires.Equal(t0.AddDate(0, 6, 0)) {
		t.Fatalf("after merge: %+v", w.Lots)
	}
	late := t0.AddDate(1, 0, 0)
	if _, _, err := w.earn(Lot{Seq: 5, Points: 5, EarnedAt: late}, 3); !errors.Is(err, ErrTooManyLots) {
		t.Fatalf("earn into a full, expired wallet: %v, want ErrTooManyLots", err)
	}
	w.Expire(late)
	if _, into, err := w.earn(Lot{Seq: 5, Points: 5, EarnedAt: late}, 3); err != nil || into != 5 {
		t.Fatalf("earn after expiry: into %d, %v", into, err)
	}
	if err := w.Check(); err != nil {
		t.Fatal(err)
	}
}
