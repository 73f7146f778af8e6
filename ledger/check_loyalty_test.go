package ledger

import (
	"context"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/loyalty"
)

// walletToCorrupt is a store whose test card holds a 100-point wallet,
// for the tests that corrupt it (skipped with -tags invariants, whose
// commit would stop at the corruption).
func walletToCorrupt(t *testing.T) (*Store, *fixedClock) {
	t.Helper()
	if invariantsEnabled {
		t.Skip("corrupts the store on purpose: with -tags invariants the commit itself panics")
	}
	s, clk := openTest(t)
	rules := &loyalty.Rules{EarnRateBP: 10000, Lots: loyalty.LotPolicy{Kind: loyalty.LotNever}}
	must(t, s.PutProgram(context.Background(), Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
	if _, err := s.AdjustPoints(context.Background(), testPAN, 100, "welcome"); err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// TestCheckWalletCorruption: the checker notices a wallet that no
// longer matches its points account, a wallet that breaks its own
// invariants, and points issued by a program that no card holds.
func TestCheckWalletCorruption(t *testing.T) {
	s, clk := walletToCorrupt(t)
	ctx := context.Background()
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("before corruption: %v %v", err, rep.Problems)
	}
	for _, tc := range []struct {
		name string
		w    walletRecord
		want string
	}{
		{"lots do not match the account", walletRecord{loyalty.Wallet{Lots: []loyalty.Lot{{Seq: 1, Points: 90, Remaining: 90, EarnedAt: clk.t}}}}, "holds 90 points"},
		{"remaining above points", walletRecord{loyalty.Wallet{Lots: []loyalty.Lot{{Seq: 1, Points: 50, Remaining: 100, EarnedAt: clk.t}}}}, "remaining 100 of 50"},
		{"negative debt", walletRecord{loyalty.Wallet{Debt: -100}}, "debt -100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.w
			must(t, s.update(ctx, func(tx *tx) error { putWallet(tx, testPAN, &w); return nil }))
			rep, err := s.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("problems %q: want one with %q", rep.Problems, tc.want)
			}
		})
	}
	// Points the program issued that no card holds (a lost posting,
	// simulated by rewriting the issuance account).
	must(t, s.update(ctx, func(tx *tx) error {
		putWallet(tx, testPAN, &walletRecord{loyalty.Wallet{Lots: []loyalty.Lot{{Seq: 2, Points: 100, Remaining: 100, EarnedAt: clk.t}}}})
		a := &Account{ID: accountProgramPts("p1"), Unit: UnitPoints, DebitsPosted: 150}
		tx.put(keyAccount(a.ID), a)
		return nil
	}))
	rep, err = s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "program p1 points: issued 150") {
		t.Fatalf("problems %q: want the program's points not conserved", rep.Problems)
	}
}

// putWallet stores w as pan's loyalty record (a blank membership) with
// its sealed pages, whatever its invariants say.
func putWallet(tx *tx, pan string, w *walletRecord) {
	rec, pages := encodeLoyaltyRecord(&Membership{}, w)
	tx.set(keyWallet(pan), rec)
	writePages(tx, pan, pages, nil)
}

// TestCheckOrphanWalletPage: a sealed wallet page its wallet does not
// count (left behind, or written without its record) is reported.
func TestCheckOrphanWalletPage(t *testing.T) {
	s, clk := walletToCorrupt(t)
	ctx := context.Background()
	page := encoder{}
	page.u8(walletPageV1)
	lot := loyalty.Lot{Seq: 1, Points: 1, Remaining: 1, EarnedAt: clk.t}
	for range pageLots {
		encodeLot(&page, &lot, lotDelta{})
	}
	must(t, s.update(ctx, func(tx *tx) error { tx.set(keyWalletPage(testPAN, 0), page.b); return nil }))
	rep, err := s.Check(ctx)
	must(t, err)
	if want := "wallet page \"000\" of card 621000******0011: not one its wallet counts"; !strings.Contains(strings.Join(rep.Problems, "\n"), want) {
		t.Fatalf("problems %q: want %q", rep.Problems, want)
	}
}
