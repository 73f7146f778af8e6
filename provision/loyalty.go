package provision

// loyalty.go: a program's loyalty rules in the provisioning file, the
// programs[].loyalty section (docs/loyalty.md is the operators' manual).
// The rules check themselves (loyalty.Rules.Validate, whose field paths,
// prefixed "programs[i].loyalty.", are the keys of the file); this file
// converts the YAML, and checks what needs the rest of the file or the
// store: that a campaign's merchants are merchants of its program.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cardcenter/cardcenter/money"
)

type rawLoyalty struct {
	EarnRateBP       string        `yaml:"earn_rate_bp"`
	TierWindowMonths string        `yaml:"tier_window_months"`
	Tiers            []rawTier     `yaml:"tiers"`
	Campaigns        []rawCampaign `yaml:"campaigns"`
	Lots             rawLots       `yaml:"lots"`
	NoticeDays       string        `yaml:"notice_days"`
}

type rawTier struct {
	Name         string `yaml:"name"`
	Threshold    string `yaml:"threshold"`
	MultiplierBP string `yaml:"multiplier_bp"`
	DiscountBP   string `yaml:"discount_bp"`
}

type rawCampaign struct {
	ID           string   `yaml:"id"`
	Kind         string   `yaml:"kind"`
	MultiplierBP string   `yaml:"multiplier_bp"`
	BonusPoints  string   `yaml:"bonus_points"`
	From         string   `yaml:"from"`
	To           string   `yaml:"to"`
	Merchants    []string `yaml:"merchants"`
	Priority     string   `yaml:"priority"`
	VisitFrom    string   `yaml:"visit_from"`
	WindowDays   string   `yaml:"window_days"`
}

type rawLots struct {
	Kind   string `yaml:"kind"`
	Months string `yaml:"months"`
	Days   string `yaml:"days"`
}

// rulesKeyOf maps the rules' JSON field names (loyalty.Rules, the admin
// API) to the file's keys where they differ: the file writes money in
// yuan, under a name without the _fen unit.
func rulesKeyOf(path string) string {
	if strings.HasPrefix(path, "loyalty.tiers[") && strings.HasSuffix(path, ".threshold_fen") {
		return strings.TrimSuffix(path, "_fen")
	}
	return path
}

// loyalty converts a program's loyalty section; nil when the program has
// none (Apply then keeps the stored rules). Numbers are read wide: the
// rules' own Validate says what range each one wants.
func (c *conv) loyalty(path string, r *rawLoyalty) *loyalty.Rules {
	if r == nil {
		return nil
	}
	p := path + "."
	n := func(key, v string) int64 { return c.wholeNumber(p+key, v) }
	required := func(key, v, want string) {
		if v == "" {
			c.fail(p+key, "missing: want %s", want)
		}
	}
	required("earn_rate_bp", r.EarnRateBP, "basis points, 10000 = 1 point a yuan")
	rules := &loyalty.Rules{
		EarnRateBP:       money.BP(n("earn_rate_bp", r.EarnRateBP)),
		TierWindowMonths: int(n("tier_window_months", r.TierWindowMonths)),
		Lots: loyalty.LotPolicy{
			Kind:   loyalty.LotPolicyKind(r.Lots.Kind),
			Months: int(n("lots.months", r.Lots.Months)),
			Days:   int(n("lots.days", r.Lots.Days)),
		},
		NoticeDays: int(n("notice_days", r.NoticeDays)),
	}
	// A list over its limit is not converted (Validate names the list;
	// its entries would only add noise).
	if len(r.Tiers) > loyalty.MaxTiers {
		rules.Tiers = make([]loyalty.Tier, len(r.Tiers))
		r.Tiers = nil
	}
	if len(r.Campaigns) > loyalty.MaxCampaigns {
		rules.Campaigns = make([]loyalty.Campaign, len(r.Campaigns))
		r.Campaigns = nil
	}
	for i, t := range r.Tiers {
		tp := fmt.Sprintf("tiers[%d].", i)
		required(tp+"threshold", t.Threshold, `average monthly spend in yuan, e.g. "1000.00" ("0.00" for the first tier)`)
		required(tp+"multiplier_bp", t.MultiplierBP, "basis points, 10000 = ×1.0")
		rules.Tiers = append(rules.Tiers, loyalty.Tier{
			Name:         t.Name,
			ThresholdFen: c.amount(p+tp+"threshold", t.Threshold),
			MultiplierBP: money.BP(n(tp+"multiplier_bp", t.MultiplierBP)),
			DiscountBP:   money.BP(n(tp+"discount_bp", t.DiscountBP)),
		})
	}
	for i, cp := range r.Campaigns {
		cpp := fmt.Sprintf("campaigns[%d].", i)
		rules.Campaigns = append(rules.Campaigns, loyalty.Campaign{
			ID:           cp.ID,
			Kind:         loyalty.CampaignKind(cp.Kind),
			MultiplierBP: money.BP(n(cpp+"multiplier_bp", cp.MultiplierBP)),
			BonusPoints:  money.Points(n(cpp+"bonus_points", cp.BonusPoints)),
			From:         cp.From,
			To:           cp.To,
			Merchants:    cp.Merchants,
			Priority:     int(n(cpp+"priority", cp.Priority)),
			VisitFrom:    int(n(cpp+"visit_from", cp.VisitFrom)),
			WindowDays:   int(n(cpp+"window_days", cp.WindowDays)),
		})
	}
	return rules
}

// wholeNumber reads an integer of any size ("" is 0); the range it must
// be in is for Validate to say, with the unit.
func (c *conv) wholeNumber(path, v string) int64 {
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		c.fail(path, "%q: want a whole number", v)
		return 0
	}
	return n
}

// checkRules adds the rules' own problems to e, under prefix.
func checkRules(e *errs, prefix string, r *loyalty.Rules) {
	err := r.Validate()
	if err == nil {
		return
	}
	var l loyalty.FieldErrors
	if !errors.As(err, &l) {
		e.add(strings.TrimSuffix(prefix, "."), 0, "%v", err)
		return
	}
	for _, fe := range l {
		e.add(prefix+fe.Path, 0, "%s", fe.Msg)
	}
}

// campaignMerchants calls fn for every merchant a campaign of a program
// names, with its key path in the file.
func (f *File) campaignMerchants(fn func(path string, p *ledger.Program, mid string)) {
	for i := range f.Programs {
		p := &f.Programs[i]
		if p.Loyalty == nil {
			continue
		}
		for j, cp := range p.Loyalty.Campaigns {
			for k, mid := range cp.Merchants {
				fn(fmt.Sprintf("programs[%d].loyalty.campaigns[%d].merchants[%d]", i, j, k), p, mid)
			}
		}
	}
}

// checkCampaignMerchants: a campaign's merchants that are in the file must
// be merchants of the campaign's program (those that are not in the file
// are checked against the store by Apply).
func (f *File) checkCampaignMerchants(e *errs, merchants map[string]int) {
	f.campaignMerchants(func(path string, p *ledger.Program, mid string) {
		j, ok := merchants[mid]
		if !ok {
			return
		}
		if m := &f.Merchants[j]; m.ProgramID != p.ID {
			e.add(path, f.line(path), "merchant %s is in program %q (merchants[%d]), not in %q", mid, m.ProgramID, j, p.ID)
		}
	})
}

// preflightCampaignMerchants checks the campaign merchants that are not
// in the file against the store.
func preflightCampaignMerchants(store *ledger.Store, f *File, inFile map[string]*ledger.Merchant, e *errs) error {
	var readErr error
	f.campaignMerchants(func(path string, p *ledger.Program, mid string) {
		if readErr != nil || inFile[mid] != nil || e.full() {
			return
		}
		m, err := store.Merchant(mid)
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			e.add(path, f.line(path), "merchant %q is neither in this file nor in the store", mid)
		case err != nil:
			readErr = fmt.Errorf("provision: read merchant %s: %w", mid, err)
		case m.ProgramID != p.ID:
			e.add(path, f.line(path), "merchant %s is in program %q in the store, not in %q", mid, m.ProgramID, p.ID)
		}
	})
	return readErr
}
