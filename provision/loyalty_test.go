package provision

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// TestApplyRulesVersions: importing the demo twice keeps rules version
// 1; a file whose campaign changed makes version 2, and version 1 stays
// readable as it was; a file without a loyalty section keeps the rules.
func TestApplyRulesVersions(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	demo, err := os.ReadFile(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	apply := func(data string) Summary {
		t.Helper()
		f, err := Parse([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Apply(ctx, s, f)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	current := func() int {
		t.Helper()
		p, err := s.Program("mallcoalition")
		if err != nil || p.Loyalty == nil {
			t.Fatalf("program: %+v %v", p, err)
		}
		return p.Loyalty.Version
	}

	if sum := apply(string(demo)); sum.RulesVersions != 1 || current() != 1 {
		t.Fatalf("first import: %d versions created, current %d", sum.RulesVersions, current())
	}
	if sum := apply(string(demo)); sum.RulesVersions != 0 || current() != 1 {
		t.Fatalf("re-import: %d versions created, current %d", sum.RulesVersions, current())
	}

	const was = "{id: birthday, kind: birthday, bonus_points: 500, window_days: 7}"
	if !strings.Contains(string(demo), was) {
		t.Fatalf("demo lacks %q", was)
	}
	changed := strings.Replace(string(demo), was, "{id: birthday, kind: birthday, bonus_points: 800, window_days: 7}", 1)
	if sum := apply(changed); sum.RulesVersions != 1 || current() != 2 {
		t.Fatalf("changed campaign: %d versions created, current %d", sum.RulesVersions, current())
	}
	v1, err := s.LoyaltyRules("mallcoalition", 1)
	if err != nil || v1.Version != 1 || v1.Campaigns[2].BonusPoints != 500 {
		t.Fatalf("version 1: %+v %v", v1, err)
	}
	v2, err := s.LoyaltyRules("mallcoalition", 2)
	if err != nil || v2.Campaigns[2].BonusPoints != 800 {
		t.Fatalf("version 2: %+v %v", v2, err)
	}

	// A program record without rules (here: renamed) keeps them.
	if sum := apply(`programs: [{id: mallcoalition, name: Renamed, currency: "156"}]`); sum.RulesVersions != 0 || current() != 2 {
		t.Fatalf("program without rules: %d versions created, current %d", sum.RulesVersions, current())
	}
}

// TestApplyChecksCampaignMerchants: a campaign's merchant that is not in
// the file must be in the store, in the campaign's program; otherwise
// nothing is written.
func TestApplyChecksCampaignMerchants(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	if err := s.PutProgram(ctx, ledger.Program{ID: "p2", Currency: "156"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMerchant(ctx, ledger.Merchant{MID: "OTHER0000000001", ProgramID: "p2"}); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(`
programs:
  - id: p1
    currency: "156"
    loyalty:
      earn_rate_bp: 10000
      lots: {kind: never}
      campaigns:
        - id: welcome
          kind: first_visit
          bonus_points: 50
          merchants: [MALL00000000009, OTHER0000000001]
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
		`programs[0].loyalty.campaigns[0].merchants[0]: merchant "MALL00000000009" is neither in this file nor in the store (line 12)`,
		`programs[0].loyalty.campaigns[0].merchants[1]: merchant OTHER0000000001 is in program "p2" in the store, not in "p1" (line 12)`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, err := s.Program("p1"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a bad file wrote its program: %v", err)
	}
}

// TestCheckProgramRules: the admin API's check of a program names the
// rules' fields by their JSON names under loyalty.
func TestCheckProgramRules(t *testing.T) {
	f, err := Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Programs[0]
	r := *p.Loyalty
	r.Tiers = append(r.Tiers[:0:0], r.Tiers...)
	r.Tiers[2].ThresholdFen = 1
	p.Loyalty = &r
	l := CheckProgram(&p)
	if len(l) != 1 || l[0].Path != "loyalty.tiers[2].threshold_fen" {
		t.Fatalf("got %v", l)
	}
}

// TestLoyaltyDocExample: the complete example of docs/loyalty.md parses,
// and says what the page says it does.
func TestLoyaltyDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/loyalty.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "## A complete example")
	if !ok {
		t.Fatal("docs/loyalty.md has no complete example")
	}
	_, block, ok := strings.Cut(after, "```yaml\n")
	if ok {
		block, _, ok = strings.Cut(block, "```")
	}
	if !ok {
		t.Fatal("the complete example has no yaml block")
	}
	f, err := Parse([]byte(block))
	if err != nil {
		t.Fatalf("the doc's example does not parse:\n%v", err)
	}
	r := f.Programs[0].Loyalty
	if r == nil || len(r.Tiers) != 4 || r.Tiers[1].Name != "Cat's-eye" || r.Tiers[3].ThresholdFen != 1_000_000 ||
		len(r.Campaigns) != 5 || r.Campaigns[1].Merchants[0] != "CITY00000000002" || r.Lots.Days != 365 {
		t.Fatalf("the doc's example reads as %+v", r)
	}
}
