package loyalty

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// demoRules are like the demo program's: three tiers, three campaigns.
func demoRules() *Rules {
	return &Rules{
		Version: 4, EarnRateBP: 10000, TierWindowMonths: 3,
		Tiers: []Tier{
			{Name: "Pearl", ThresholdFen: 0, MultiplierBP: 10000},
			{Name: "Catseye", ThresholdFen: 100000, MultiplierBP: 12000, DiscountBP: 200},
			{Name: "Ruby", ThresholdFen: 300000, MultiplierBP: 15000, DiscountBP: 500},
		},
		Campaigns: []Campaign{
			{ID: "december", Kind: CampaignPeriod, MultiplierBP: 20000, From: "2025-12-01", To: "2025-12-31"},
			{ID: "sixth", Kind: CampaignVisit, MultiplierBP: 20000, VisitFrom: 6},
			{ID: "bday", Kind: CampaignBirthday, BonusPoints: 500, WindowDays: 7},
		},
		Lots: LotPolicy{Kind: LotEndOfMonth, Months: 12},
	}
}

func TestEarnRefusesBadFacts(t *testing.T) {
	r := demoRules()
	at := time.Date(2025, 12, 18, 4, 0, 0, 0, time.UTC)
	ok := Purchase{Amount: 10000, MID: "M1", At: at, Location: time.UTC}
	for name, c := range map[string]struct {
		m Member
		p Purchase
	}{
		"negative amount": {Member{}, Purchase{Amount: -1, MID: "M1", At: at, Location: time.UTC}},
		"nil location":    {Member{}, Purchase{Amount: 1, MID: "M1", At: at}},
		"tier":            {Member{Tier: 3}, ok},
		"visit date":      {Member{VisitDates: []string{"2025-12-1x"}}, ok},
		"birthday":        {Member{Birthday: "13-01"}, ok},
	} {
		if _, err := Earn(r, c.m, c.p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	big := &Rules{Version: 1, EarnRateBP: 1_000_000, Tiers: []Tier{{MultiplierBP: 1_000_000}}}
	if _, err := Earn(big, Member{}, Purchase{Amount: money.MaxAmount, At: at, Location: time.UTC}); !errors.Is(err, money.ErrOutOfRange) {
		t.Errorf("overflowing earning: %v, want money.ErrOutOfRange", err)
	}
}

// TestEarnNilMerchantsSeen: without merchant history (nil, or a nil
// SeenFunc) no first-visit bonus is paid; with it, a new merchant gets
// it.
func TestEarnNilMerchantsSeen(t *testing.T) {
	r := &Rules{Version: 1, EarnRateBP: 10000, Campaigns: []Campaign{{ID: "new", Kind: CampaignFirstVisit, BonusPoints: 100}}}
	p := Purchase{Amount: 1000, MID: "M7", At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Location: time.UTC}
	if e, err := Earn(r, Member{}, p); err != nil || e.Points != 10 || e.Bonus != 0 {
		t.Errorf("nil MerchantsSeen: %+v, %v; want 10 points, no bonus", e, err)
	}
	// A nil func converted to the interface is no history too, not a
	// panic.
	if e, err := Earn(r, Member{MerchantsSeen: SeenFunc(nil)}, p); err != nil || e.Points != 10 || e.Bonus != 0 {
		t.Errorf("SeenFunc(nil): %+v, %v; want 10 points, no bonus", e, err)
	}
	m := Member{MerchantsSeen: SeenFunc(func(string) bool { return false })}
	if e, err := Earn(r, m, p); err != nil || e.Points != 110 || len(e.Campaigns) != 1 {
		t.Errorf("new merchant: %+v, %v; want 110 points", e, err)
	}
}

// TestEarnAppendReusesTheArray: EarnAppend earns what Earn earns, the
// multiplier first and the bonuses after it, in the array it is given
// whatever that array held, and with no campaign leaves the list nil.
func TestEarnAppendReusesTheArray(t *testing.T) {
	r := demoRules()
	r.Campaigns = append(r.Campaigns, Campaign{ID: "new", Kind: CampaignFirstVisit, BonusPoints: 100})
	m := Member{Birthday: "1990-12-20", MerchantsSeen: SeenFunc(func(string) bool { return false })}
	p := Purchase{Amount: 12345, MID: "M1", At: time.Date(2025, 12, 18, 4, 0, 0, 0, time.UTC), Location: time.UTC}
	buf := []string{"stale", "stale", "stale", "stale"}
	for range 2 {
		want, err := Earn(r, m, p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EarnAppend(buf, r, m, p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Campaigns, []string{"december", "bday", "new"}) || !reflect.DeepEqual(got, want) {
			t.Fatalf("EarnAppend %+v, Earn %+v", got, want)
		}
		if &got.Campaigns[0] != &buf[0] {
			t.Fatal("the list is not in the array given")
		}
	}
	p.At = time.Date(2025, 11, 3, 4, 0, 0, 0, time.UTC) // no campaign applies
	m.Birthday, m.MerchantsSeen = "", nil
	if e, err := EarnAppend(buf, r, m, p); err != nil || e.Campaigns != nil {
		t.Fatalf("no campaign: %+v, %v", e, err)
	}
}

func BenchmarkEarn(b *testing.B) {
	r := demoRules()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{"M1": true}
	m := Member{Birthday: "1990-12-20", Tier: 1, BirthdayBonusYear: 2024,
		VisitDates:    []string{"2025-12-01", "2025-12-03", "2025-12-05", "2025-12-08", "2025-12-11"},
		MerchantsSeen: SeenFunc(func(mid string) bool { return seen[mid] })}
	p := Purchase{Amount: 12345, MID: "M1", At: time.Date(2025, 12, 18, 4, 0, 0, 0, time.UTC), Location: sh}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Earn(r, m, p); err != nil {
			b.Fatal(err)
		}
	}
}
