package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const demoPath = "../testdata/demo.yaml"

// longDigits finds what could be a clear PAN.
var longDigits = regexp.MustCompile(`[0-9]{12,}`)

// TestBadFiles parses every file in testdata/provision. Each starts with
// "# want: <text>" lines; the error must contain every one of them, and no
// run of 12 or more digits (a clear PAN).
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("../testdata/provision/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, l := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("file has no '# want:' lines")
			}
			f, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse accepted a bad file: %d cards", len(f.Cards))
			}
			var l ErrorList
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error is not an ErrorList: %T %v", err, err)
			}
			msg := err.Error()
			for _, w := range wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q; got:\n%s", w, msg)
				}
			}
			if d := longDigits.FindString(msg); d != "" {
				t.Errorf("error shows a long digit run %q (clear PAN?):\n%s", d, msg)
			}
			// Load reports the same.
			if _, err := Load(path); err == nil || err.Error() != msg {
				t.Errorf("Load: %v, want the Parse error", err)
			}
		})
	}
}

func TestLoadDemo(t *testing.T) {
	f, err := Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Programs) != 1 || len(f.Merchants) != 3 || len(f.Terminals) != 7 || len(f.Cards) < 12 {
		t.Fatalf("demo: %d programs %d merchants %d terminals %d cards", len(f.Programs), len(f.Merchants), len(f.Terminals), len(f.Cards))
	}
	p := f.Programs[0]
	if p.ID != "mallcoalition" || p.Currency != "156" || p.PointCost != 1 || p.RedemptionValue != 1 || p.InterchangeBP != 50 || p.HoldDays != 7 {
		t.Errorf("program: %+v", p)
	}
	homes := 0
	for _, m := range f.Merchants {
		if len(m.MID) != 15 {
			t.Errorf("mid %q not 15 characters", m.MID)
		}
		if m.Home {
			homes++
		}
	}
	if homes != 2 {
		t.Errorf("%d home merchants, want 2", homes)
	}
	disabled := 0
	perMerchant := map[string]int{}
	for _, tm := range f.Terminals {
		if !tm.Enabled {
			disabled++
		} else {
			perMerchant[tm.MID]++
		}
	}
	if disabled != 1 || len(perMerchant) != 3 {
		t.Errorf("terminals: %d disabled, enabled per merchant %v", disabled, perMerchant)
	}
	states := map[ledger.CardState]int{}
	expiredActive, blacklisted := 0, 0
	for _, c := range f.Cards {
		states[c.State]++
		if c.State == ledger.CardActive && c.Expiry < "2601" {
			expiredActive++
		}
		if c.Blacklisted {
			blacklisted++
		}
		if len(c.PAN) != 16 || !strings.HasPrefix(c.PAN, "621000") || !cardnum.LuhnValid(c.PAN) {
			t.Errorf("%v: want a 16-digit Luhn-valid 621000 PAN", c)
		}
	}
	for st := ledger.CardIssued; st <= ledger.CardClosed; st++ {
		if states[st] == 0 {
			t.Errorf("no card in state %s", st)
		}
	}
	if expiredActive != 1 || blacklisted != 1 {
		t.Errorf("%d expired active cards, %d blacklisted; want 1 and 1", expiredActive, blacklisted)
	}
	// The mall's rules, as docs/loyalty.md describes them.
	r := p.Loyalty
	if r == nil {
		t.Fatal("demo program has no loyalty rules")
	}
	wantRules := loyalty.Rules{
		EarnRateBP: 10000, TierWindowMonths: 3,
		Tiers: []loyalty.Tier{
			{Name: "Pearl", ThresholdFen: 0, MultiplierBP: 10000},
			{Name: "Ruby", ThresholdFen: 100000, MultiplierBP: 12000, DiscountBP: 200},
			{Name: "Diamond", ThresholdFen: 500000, MultiplierBP: 15000, DiscountBP: 500},
		},
		Campaigns: []loyalty.Campaign{
			{ID: "december-double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, From: "2026-12-01", To: "2026-12-31", Priority: 2},
			{ID: "sixth-visit", Kind: loyalty.CampaignVisit, MultiplierBP: 20000, VisitFrom: 6, Priority: 1},
			{ID: "birthday", Kind: loyalty.CampaignBirthday, BonusPoints: 500, WindowDays: 7},
		},
		Lots:       loyalty.LotPolicy{Kind: loyalty.LotEndOfMonth, Months: 12},
		NoticeDays: 30,
	}
	if !reflect.DeepEqual(*r, wantRules) {
		t.Errorf("demo rules:\n got %+v\nwant %+v", *r, wantRules)
	}
	// The names the POS demo scenario uses.
	for name, want := range map[string]ledger.CardState{
		"alice": ledger.CardActive, "bob": ledger.CardActive, "carol": ledger.CardActive,
		"dave": ledger.CardActive, "erin": ledger.CardActive, "lost1": ledger.CardLost, "expired1": ledger.CardActive,
	} {
		a, ok := f.Alias(name)
		if !ok {
			t.Errorf("alias %s missing", name)
			continue
		}
		if a.State != want || a.PAN == "" || a.Expiry == "" {
			t.Errorf("alias %s: %v", name, a)
		}
		if want == ledger.CardActive && name != "expired1" && a.OpeningBalance <= 0 {
			t.Errorf("alias %s has no opening balance", name)
		}
	}
	if a, _ := f.Alias("expired1"); a.Expiry != "2401" {
		t.Errorf("expired1 expiry %s", a.Expiry)
	}
	if a, _ := f.Alias("alice"); a.ServiceCode != "201" || a.PSN != "01" {
		t.Errorf("alice: service code %s psn %s", a.ServiceCode, a.PSN)
	}
	if s := f.Cards[0].String(); strings.Contains(s, f.Cards[0].PAN) {
		t.Errorf("Card.String shows the PAN: %s", s)
	}
	if a, _ := f.Alias("alice"); strings.Contains(a.String(), a.PAN) {
		t.Errorf("Alias.String shows the PAN: %s", a)
	}
}

func openStore(t *testing.T, dir string) *ledger.Store {
	t.Helper()
	// The demo file gives keys and PINs: the store seals them, under one
	// master key for the whole test binary so that a store reopens.
	s, err := ledger.Open(dir, ledger.Options{Sealer: testRing()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var testRing = sync.OnceValue(func() *keys.Ring {
	kek, err := keys.Ephemeral()
	if err != nil {
		panic(err)
	}
	ring, err := keys.NewRing(kek)
	if err != nil {
		panic(err)
	}
	return ring
})

func TestApplyDemoTwice(t *testing.T) {
	ctx := context.Background()
	f, err := Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := openStore(t, dir)
	sum, err := Apply(ctx, s, f)
	if err != nil {
		t.Fatal(err)
	}
	var wantAmount ledger.Amount
	var wantPoints ledger.Points
	withBalance, withPoints := 0, 0
	for _, c := range f.Cards {
		wantAmount += c.OpeningBalance
		wantPoints += c.OpeningPoints
		if c.OpeningBalance > 0 {
			withBalance++
		}
		if c.OpeningPoints > 0 {
			withPoints++
		}
	}
	want := Summary{
		Programs: Counts{Created: 1}, Merchants: Counts{Created: 3}, Terminals: Counts{Created: 7},
		Cards: Counts{Created: len(f.Cards)}, OpeningBalances: withBalance, OpeningAmount: wantAmount,
		OpeningPointsCards: withPoints, OpeningPoints: wantPoints, RulesVersions: 1,
	}
	if sum != want {
		t.Fatalf("first import:\n got %v\nwant %v", sum, want)
	}
	balances := func() map[string]ledger.Balances {
		out := map[string]ledger.Balances{}
		for _, c := range f.Cards {
			b, err := s.CardBalances(c.PAN)
			if err != nil {
				t.Fatalf("%v: %v", c, err)
			}
			out[c.PAN] = b
		}
		return out
	}
	first := balances()
	for _, c := range f.Cards {
		if b := first[c.PAN]; b.Ledger != c.OpeningBalance || b.Available != c.OpeningBalance || b.Points != c.OpeningPoints {
			t.Errorf("%v: balances %+v, want %s and %d points", c, b, c.OpeningBalance, c.OpeningPoints)
		}
		got, err := s.Card(c.PAN)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != c.State || got.Expiry != c.Expiry || got.Member != c.Member || got.Blacklisted != c.Blacklisted {
			t.Errorf("%v: stored as %+v", c, got.Member)
		}
	}
	if tm, _, err := s.Terminal("T0000199"); err != nil || tm.Enabled {
		t.Errorf("T0000199: %+v %v, want disabled", tm, err)
	}

	// An operator reports a card lost; the re-import must keep that.
	if err := s.SetCardState(ctx, f.Cards[0].PAN, ledger.CardLost, ledger.Operator{Name: "test", Reason: "lost card"}); err != nil {
		t.Fatal(err)
	}
	sum, err = Apply(ctx, s, f)
	if err != nil {
		t.Fatal(err)
	}
	want = Summary{
		Programs: Counts{Updated: 1}, Merchants: Counts{Updated: 3}, Terminals: Counts{Updated: 7},
		Cards: Counts{Updated: len(f.Cards)}, OpeningsSkipped: withBalanceOrPoints(f), StatesKept: 1,
	}
	if sum != want {
		t.Fatalf("second import:\n got %v\nwant %v", sum, want)
	}
	second := balances()
	for pan, b := range first {
		if second[pan] != b {
			t.Errorf("%s: balances changed by the re-import: %+v → %+v", cardnum.Mask(pan), b, second[pan])
		}
	}
	if c, _ := s.Card(f.Cards[0].PAN); c.State != ledger.CardLost {
		t.Errorf("re-import changed an operator's state: %s", c.State)
	}
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %+v", err, rep)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// And after a restart.
	s = openStore(t, dir)
	defer s.Close()
	if sum, err = Apply(ctx, s, f); err != nil || sum.OpeningBalances != 0 || sum.OpeningPointsCards != 0 {
		t.Fatalf("third import: %v %v", sum, err)
	}
}

func withBalanceOrPoints(f *File) int {
	n := 0
	for _, c := range f.Cards {
		if c.OpeningBalance > 0 || c.OpeningPoints > 0 {
			n++
		}
	}
	return n
}

// TestApplyChecksStoreFirst: a file that references records missing from
// the store changes nothing.
func TestApplyChecksStoreFirst(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	f, err := Parse([]byte(`
programs:
  - {id: p1, currency: "156"}
merchants:
  - {mid: MALL00000000001, program_id: p1, home: true}
terminals:
  - {tid: T0000001, mid: MALL00000000009}
cards:
  - pan: "6210000000000011"
    program_id: p2
    home_mid: MALL00000000008
    product: chip
    state: active
    expiry: "2912"
    opening_balance: "10.00"
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(ctx, s, f)
	var l ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	for _, w := range []string{
		`terminals[0].mid: merchant "MALL00000000009" is neither in this file nor in the store (line 7)`,
		`cards[0].program_id: program "p2" is neither in this file nor in the store (line 10)`,
		`cards[0].home_mid: merchant "MALL00000000008" is neither in this file nor in the store (line 11)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if ps, _ := s.Programs(); len(ps) != 0 {
		t.Errorf("a bad file wrote %d programs", len(ps))
	}

	// A second file that adds a card to what the store has.
	base, err := Parse([]byte(`
programs: [{id: p1, currency: "156"}]
merchants: [{mid: MALL00000000001, program_id: p1, home: true}, {mid: MALL00000000002, program_id: p1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, s, base); err != nil {
		t.Fatal(err)
	}
	more, err := Parse([]byte(`
cards:
  - {pan: "6210000000000011", program_id: p1, home_mid: MALL00000000001, product: chip, state: active, expiry: "2912", opening_balance: "10.00"}
  - {pan: "6210000000000029", program_id: p1, home_mid: MALL00000000002, product: chip, state: active, expiry: "2912"}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(ctx, s, more)
	if err == nil || !strings.Contains(err.Error(), "cards[1].home_mid: merchant MALL00000000002 is not a home merchant in the store (line 4)") {
		t.Fatalf("got %v", err)
	}
	more.Cards = more.Cards[:1]
	if sum, err := Apply(ctx, s, more); err != nil || sum.OpeningAmount != 1000 {
		t.Fatalf("got %v %v", sum, err)
	}
	// Moving a merchant to another program is refused.
	moved, err := Parse([]byte(`
programs: [{id: p2, currency: "156"}]
merchants: [{mid: MALL00000000001, program_id: p2, home: true}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(ctx, s, moved); err == nil || !strings.Contains(err.Error(), `merchants[0].program_id: "p2", but merchant MALL00000000001 is in program "p1" in the store`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseEdges(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"comment only", "# nothing\n", "empty file"},
		{"two documents", "programs: []\n---\nprograms: []\n", "more than one YAML document (---): put everything in one (line 2)"},
		{"top-level list", "- a\n", "want a mapping of keys, got a list (line 1)"},
		{"version", "version: 2\n", `version: "2": only version 1 exists (line 1)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if f, err := Parse([]byte("version: 1\n")); err != nil || len(f.Cards) != 0 {
		t.Fatalf("an empty program file: %v", err)
	}
	big := make([]byte, MaxFileBytes+1)
	if _, err := Parse(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
}

// TestDemoKeysForSimulators: what a simulator reads of the demo file to
// act as its terminals and cardholders.
func TestDemoKeysForSimulators(t *testing.T) {
	f, err := Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	tmk := f.TerminalTMK("T0000101")
	if len(tmk) != 16 || f.TerminalTMK("T9999999") != nil {
		t.Fatalf("TerminalTMK: %d bytes; unknown terminal %x", len(tmk), f.TerminalTMK("T9999999"))
	}
	tmk[0] ^= 0xFF
	if f.TerminalTMK("T0000101")[0] == tmk[0] {
		t.Error("TerminalTMK hands out the file's own key")
	}
	sec, ok := f.Product("mallcoalition", "secure")
	if !ok || sec.Kind != "both" || !sec.NeedsPIN("000000", 10000) || sec.NeedsPIN("000000", 9999) ||
		!sec.NeedsPIN("310000", 0) || sec.NeedsPIN("210000", 10000) {
		t.Errorf("product secure: %+v %v", sec, ok)
	}
	if chip, ok := f.Product("mallcoalition", "chip"); !ok || chip.Kind != "chip" || chip.NeedsPIN("000000", 1) {
		t.Errorf("built-in chip: %+v %v", chip, ok)
	}
	if _, ok := f.Product("nope", "chip"); ok {
		t.Error("a program not in the file has products")
	}
	mei, _ := f.Alias("mei")
	if mei.PIN != "1234" || len(mei.IMK) != 32 || mei.Product != "secure" || mei.PSN != "01" {
		t.Errorf("alias mei: product %s psn %s, PIN given %v, IMK %d hex", mei.Product, mei.PSN, mei.PIN != "", len(mei.IMK))
	}
}

// TestBillingParsed: a program's billing block reaches the ledger
// record as whole fen; a program without one bills nothing.
func TestBillingParsed(t *testing.T) {
	f, err := Parse([]byte("programs:\n  - id: p1\n    currency: \"156\"\n    billing: {merchant_monthly_fee_fen: 5000, terminal_monthly_fee_fen: 1200}\n  - id: p2\n    currency: \"156\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := f.Programs[0].Billing; b == nil || b.MerchantMonthlyFee != 5000 || b.TerminalMonthlyFee != 1200 {
		t.Fatalf("p1 billing: %+v", b)
	}
	if f.Programs[1].Billing != nil {
		t.Fatalf("p2 billing: %+v, want none", f.Programs[1].Billing)
	}
}
