package provision

import (
	"fmt"
	"strconv"

	"github.com/cardcenter/cardcenter/ledger"
)

// convert.go: the YAML as written (raw types whose leaves are strings)
// and its conversion into typed records, with errors naming key and line.

// The raw types mirror the YAML. Every leaf is a string holding the
// scalar's text as written, so that this package, not yaml.v3, decides what
// a number, an amount or a bool is, and says so with the key and the line.
type rawFile struct {
	Version   string        `yaml:"version"`
	Programs  []rawProgram  `yaml:"programs"`
	Merchants []rawMerchant `yaml:"merchants"`
	Terminals []rawTerminal `yaml:"terminals"`
	Cards     []rawCard     `yaml:"cards"`
}

type rawProgram struct {
	ID                 string       `yaml:"id"`
	Name               string       `yaml:"name"`
	Currency           string       `yaml:"currency"`
	PointCostFen       string       `yaml:"point_cost_fen"`
	RedemptionValueFen string       `yaml:"redemption_value_fen"`
	InterchangeBP      string       `yaml:"interchange_bp"`
	HoldDays           string       `yaml:"hold_days"`
	IssuerMasterKey    string       `yaml:"issuer_master_key"`
	Products           []rawProduct `yaml:"products"`
	Loyalty            *rawLoyalty  `yaml:"loyalty"`
	Billing            *rawBilling  `yaml:"billing"`
}

// rawBilling is a program's monthly fees to its merchants.
type rawBilling struct {
	MerchantMonthlyFeeFen string `yaml:"merchant_monthly_fee_fen"`
	TerminalMonthlyFeeFen string `yaml:"terminal_monthly_fee_fen"`
}

type rawProduct struct {
	Name        string            `yaml:"name"`
	Kind        string            `yaml:"kind"`
	PINRequired map[string]string `yaml:"pin_required"`
}

type rawMerchant struct {
	MID              string `yaml:"mid"`
	ProgramID        string `yaml:"program_id"`
	Name             string `yaml:"name"`
	Home             string `yaml:"home"`
	MDRBP            string `yaml:"mdr_bp"`
	LoadCommissionBP string `yaml:"load_commission_bp"`
}

type rawTerminal struct {
	TID     string `yaml:"tid"`
	MID     string `yaml:"mid"`
	Enabled string `yaml:"enabled"`
	TMK     string `yaml:"tmk"`
	// LoyaltyInfo opts the terminal in to field 63 (default false).
	LoyaltyInfo string `yaml:"loyalty_info"`
}

type rawCard struct {
	Name           string    `yaml:"name"`
	PAN            string    `yaml:"pan"`
	ProgramID      string    `yaml:"program_id"`
	HomeMID        string    `yaml:"home_mid"`
	Product        string    `yaml:"product"`
	State          string    `yaml:"state"`
	Expiry         string    `yaml:"expiry"`
	ServiceCode    string    `yaml:"service_code"`
	PSN            string    `yaml:"psn"`
	UID            string    `yaml:"uid"`
	Blacklisted    string    `yaml:"blacklisted"`
	Member         rawMember `yaml:"member"`
	Limits         rawLimits `yaml:"limits"`
	OpeningBalance string    `yaml:"opening_balance"`
	OpeningPoints  string    `yaml:"opening_points"`
	PIN            string    `yaml:"pin"`
}

type rawMember struct {
	Name       string `yaml:"name"`
	Phone      string `yaml:"phone"`
	Birthday   string `yaml:"birthday"`
	Registered string `yaml:"registered"`
}

type rawLimits struct {
	MaxBalance string `yaml:"max_balance"`
	PerTxn     string `yaml:"per_txn"`
	Daily      string `yaml:"daily"`
	DailyCount string `yaml:"daily_count"`
}

// conv converts the raw file into typed records, reporting values that do
// not parse.
type conv struct {
	f *File
	e errs
}

func (c *conv) fail(path, format string, args ...any) {
	c.e.add(path, c.f.line(path), format, args...)
}

func (c *conv) int64(path, v string, min, max int64) int64 {
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min || n > max {
		c.fail(path, "%q: want a whole number %d..%d", v, min, max)
		return 0
	}
	return n
}

func (c *conv) boolean(path, v string, def bool) bool {
	switch v {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	}
	c.fail(path, "%q: want true or false", v)
	return def
}

func (c *conv) amount(path, v string) ledger.Amount {
	if v == "" {
		return 0
	}
	a, err := ledger.ParseAmount(v)
	if err != nil {
		c.fail(path, "%q: want yuan as a decimal string, e.g. \"200.00\"", v)
		return 0
	}
	return a
}

// billing converts a program's monthly fees: whole fen, 0..maxMonthlyFeeFen.
func (c *conv) billing(path string, r *rawBilling) *ledger.Billing {
	if r == nil {
		return nil
	}
	return &ledger.Billing{
		MerchantMonthlyFee: ledger.Amount(c.int64(path+".merchant_monthly_fee_fen", r.MerchantMonthlyFeeFen, 0, maxMonthlyFeeFen)),
		TerminalMonthlyFee: ledger.Amount(c.int64(path+".terminal_monthly_fee_fen", r.TerminalMonthlyFeeFen, 0, maxMonthlyFeeFen)),
	}
}

func (c *conv) file(raw *rawFile) {
	f := c.f
	switch raw.Version {
	case "", strconv.Itoa(FormatVersion):
		f.Version = FormatVersion
	default:
		c.fail("version", "%q: only version %d exists", raw.Version, FormatVersion)
	}
	for _, lim := range []struct {
		key  string
		n, m int
	}{{"programs", len(raw.Programs), maxPrograms}, {"merchants", len(raw.Merchants), maxMerchants},
		{"terminals", len(raw.Terminals), maxTerminals}, {"cards", len(raw.Cards), maxCards}} {
		if lim.n > lim.m {
			c.fail(lim.key, "%d entries: at most %d per file", lim.n, lim.m)
			return
		}
	}
	f.Keys = Keys{IMK: map[string][]byte{}, TMK: map[string][]byte{}}
	for i, r := range raw.Programs {
		p := fmt.Sprintf("programs[%d].", i)
		f.Programs = append(f.Programs, ledger.Program{
			ID: r.ID, Name: r.Name, Currency: r.Currency,
			PointCost:       ledger.Amount(c.int64(p+"point_cost_fen", r.PointCostFen, 0, maxPerUnitFen)),
			RedemptionValue: ledger.Amount(c.int64(p+"redemption_value_fen", r.RedemptionValueFen, 0, maxPerUnitFen)),
			InterchangeBP:   c.int64(p+"interchange_bp", r.InterchangeBP, 0, maxBP),
			HoldDays:        int(c.int64(p+"hold_days", r.HoldDays, 0, maxHoldDays)),
			Products:        c.products(p+"products", r.Products),
			Loyalty:         c.loyalty(p+"loyalty", r.Loyalty),
			Billing:         c.billing(p+"billing", r.Billing),
		})
		if k := c.key(p+"issuer_master_key", r.IssuerMasterKey); k != nil {
			f.Keys.IMK[r.ID] = k
		}
	}
	for i, r := range raw.Merchants {
		p := fmt.Sprintf("merchants[%d].", i)
		f.Merchants = append(f.Merchants, ledger.Merchant{
			MID: r.MID, ProgramID: r.ProgramID, Name: r.Name,
			Home:             c.boolean(p+"home", r.Home, false),
			MDRBP:            c.int64(p+"mdr_bp", r.MDRBP, 0, maxBP),
			LoadCommissionBP: c.int64(p+"load_commission_bp", r.LoadCommissionBP, 0, maxBP),
		})
	}
	for i, r := range raw.Terminals {
		p := fmt.Sprintf("terminals[%d].", i)
		f.Terminals = append(f.Terminals, ledger.Terminal{
			TID: r.TID, MID: r.MID, Enabled: c.boolean(p+"enabled", r.Enabled, true),
			LoyaltyInfo: c.boolean(p+"loyalty_info", r.LoyaltyInfo, false),
		})
		if k := c.key(p+"tmk", r.TMK); k != nil {
			f.Keys.TMK[r.TID] = k
		}
	}
	programOf := map[string]string{}
	for _, m := range f.Merchants {
		programOf[m.MID] = m.ProgramID
	}
	for i, r := range raw.Cards {
		p := fmt.Sprintf("cards[%d].", i)
		cd := Card{Name: r.Name}
		cd.PAN = r.PAN
		cd.ProgramID = r.ProgramID
		if cd.ProgramID == "" {
			// The home merchant's program, when it is in this file.
			var ok bool
			if cd.ProgramID, ok = programOf[r.HomeMID]; !ok && r.HomeMID != "" {
				c.fail(p+"program_id", "missing: home merchant %q is not in this file, so its program cannot be inferred", r.HomeMID)
			}
		}
		cd.HomeMID = r.HomeMID
		cd.Product = r.Product
		if r.State != "" {
			st, err := ledger.ParseCardState(r.State)
			if err != nil {
				c.fail(p+"state", "%q: want one of issued, active, frozen, lost, stolen, closed", r.State)
			}
			cd.State = st
		}
		cd.Expiry = r.Expiry
		cd.ServiceCode = r.ServiceCode
		cd.PSN = r.PSN
		if r.UID != "" {
			if uid, err := ParseUID(r.UID); err != nil {
				c.fail(p+"uid", "%v", err)
			} else {
				cd.UID = uid
			}
		}
		cd.Blacklisted = c.boolean(p+"blacklisted", r.Blacklisted, false)
		cd.Member = ledger.Member{
			Name: r.Member.Name, Phone: r.Member.Phone, Birthday: r.Member.Birthday,
			Registered: c.boolean(p+"member.registered", r.Member.Registered, false),
		}
		cd.MaxBalance = c.amount(p+"limits.max_balance", r.Limits.MaxBalance)
		cd.PerTxnLimit = c.amount(p+"limits.per_txn", r.Limits.PerTxn)
		cd.DailyLimit = c.amount(p+"limits.daily", r.Limits.Daily)
		cd.DailyCountLimit = int(c.int64(p+"limits.daily_count", r.Limits.DailyCount, 0, maxDailyCount))
		cd.OpeningBalance = c.amount(p+"opening_balance", r.OpeningBalance)
		cd.OpeningPoints = ledger.Points(c.int64(p+"opening_points", r.OpeningPoints, 0, maxOpeningPoints))
		if r.PIN != "" {
			if err := CheckPIN(r.PIN); err != nil {
				c.fail(p+"pin", "%v", err)
			} else {
				cd.PIN = r.PIN
			}
		}
		f.Cards = append(f.Cards, cd)
	}
}

// cardKeyOf maps the ledger's JSON names of card fields that the YAML
// spells differently.
func cardKeyOf(k string) string {
	if y, ok := map[string]string{
		"max_balance_fen":   "limits.max_balance",
		"per_txn_limit_fen": "limits.per_txn",
		"daily_limit_fen":   "limits.daily",
		"daily_count_limit": "limits.daily_count",
	}[k]; ok {
		return y
	}
	return k
}
