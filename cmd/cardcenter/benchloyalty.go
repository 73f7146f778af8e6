package main

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
	"github.com/cardcenter/cardcenter/terminal"
)

// The bench with the loyalty engine on (bench --loyalty): a second
// program with the demo mall's rules (three tiers, a December double,
// ×2 from the 6th visit of a month, a birthday bonus), with its own
// merchants, terminals and cards, on the same host process and store as
// the program without rules. Every purchase of its cards earns: the
// rules are evaluated, a lot is made, the points posted, the membership
// updated. The two purchase runs differ only in that.

const benchLoyaltyProgram = "benchloy"

// benchLoyaltyRules are the demo mall's rules (testdata/demo.yaml), with
// the December double open all year so that it applies whatever the
// day of the run.
func benchLoyaltyRules() *loyalty.Rules {
	return &loyalty.Rules{
		EarnRateBP:       10000,
		TierWindowMonths: 3,
		Tiers: []loyalty.Tier{
			{Name: "Pearl", ThresholdFen: 0, MultiplierBP: 10000},
			{Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 12000, DiscountBP: 200},
			{Name: "Diamond", ThresholdFen: 500000, MultiplierBP: 15000, DiscountBP: 500},
		},
		Campaigns: []loyalty.Campaign{
			{ID: "december-double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, Priority: 2},
			{ID: "sixth-visit", Kind: loyalty.CampaignVisit, MultiplierBP: 20000, VisitFrom: 6, Priority: 1},
			{ID: "birthday", Kind: loyalty.CampaignBirthday, BonusPoints: money.Points(500), WindowDays: 7},
		},
		Lots:       loyalty.LotPolicy{Kind: loyalty.LotEndOfMonth, Months: 12},
		NoticeDays: 30,
	}
}

func benchLoyaltyMID(i int) string { return fmt.Sprintf("BLOYL%010d", i) }

// benchLoyaltyTerminals are the loyalty program's terminals, 32 a merchant.
func benchLoyaltyTerminals(n int) []terminal.LoadTerminal {
	return benchTerminalsOf(n, "L", benchLoyaltyMID)
}

// benchLoyaltyCards are the loyalty program's cards.
func benchLoyaltyCards(n int) []terminal.Card { return benchCardsOf(n, "629200", "") }

// provisionBenchLoyalty registers the loyalty program, its merchants,
// terminals and cards (members with birthdays spread over the year, so
// that the birthday campaign is evaluated for every one and applies to
// some).
func provisionBenchLoyalty(ctx context.Context, st *ledger.Store, nTerm, nCards int) error {
	if err := st.PutProgram(ctx, ledger.Program{ID: benchLoyaltyProgram, Name: "Bench loyalty", Currency: "156",
		PointCost: 1, RedemptionValue: 1, Loyalty: benchLoyaltyRules()}); err != nil {
		return err
	}
	if err := provisionTerminals(ctx, st, benchLoyaltyTerminals(nTerm), benchLoyaltyProgram); err != nil {
		return err
	}
	cards := benchLoyaltyCards(nCards)
	return provisionCards(ctx, st, len(cards), func(i int) (ledger.Card, error) {
		birthday := fmt.Sprintf("%02d-%02d", i%12+1, i%28+1)
		return ledger.Card{PAN: cards[i].PAN, ProgramID: benchLoyaltyProgram, HomeMID: benchLoyaltyMID(0),
			Product: "magstripe", State: ledger.CardActive, Expiry: "4912", MaxBalance: 1_000_000_000,
			Member: ledger.Member{Registered: true, Birthday: birthday}}, nil
	})
}
