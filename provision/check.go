package provision

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// Limits on single registry fields. The ledger stores registry records as
// small JSON values and builds Pebble keys from ids, so ids are short and
// drawn from a safe alphabet.
const (
	maxProgramIDLen = 32
	maxNameLen      = 100
	maxPhoneLen     = 20
	maxBP           = 10000
	maxHoldDays     = 60
	// maxPerUnitFen bounds a program's point cost and redemption value
	// (10,000.00 yuan per point is absurd already).
	maxPerUnitFen = 1_000_000
	// maxMonthlyFeeFen bounds a program's monthly fee per merchant and
	// per terminal (1,000,000.00 yuan): far above any real fee, and a
	// month's invoice of a merchant's terminals still fits an Amount.
	maxMonthlyFeeFen = 100_000_000
	// maxDailyCount bounds a card's daily transaction count limit.
	maxDailyCount = 100_000
)

// The Check functions validate one registry record on its own, the way both
// the provisioning file and the admin API need it. Field paths are the keys
// shared by the YAML format and the admin API's JSON ("interchange_bp",
// "member.birthday"); the caller prefixes them. They also run the ledger's
// own Validate, so that a record that passes here is never refused by the
// store for its content.

// CheckProgram validates a program record.
func CheckProgram(p *ledger.Program) ErrorList {
	var e errs
	switch {
	case p.ID == "":
		e.add("id", 0, "missing")
	case len(p.ID) > maxProgramIDLen || !isIDString(p.ID):
		e.add("id", 0, "%q: want 1 to %d letters, digits, '-', '_' or '.'", p.ID, maxProgramIDLen)
	}
	if len(p.Name) > maxNameLen {
		e.add("name", 0, "longer than %d characters", maxNameLen)
	}
	if p.Currency != "156" {
		e.add("currency", 0, "%q: only 156 (CNY) is supported", p.Currency)
	}
	if p.PointCost < 0 || p.PointCost > maxPerUnitFen {
		e.add("point_cost_fen", 0, "%d: want 0..%d", p.PointCost, maxPerUnitFen)
	}
	if p.RedemptionValue < 0 || p.RedemptionValue > maxPerUnitFen {
		e.add("redemption_value_fen", 0, "%d: want 0..%d", p.RedemptionValue, maxPerUnitFen)
	}
	if p.InterchangeBP < 0 || p.InterchangeBP > maxBP {
		e.add("interchange_bp", 0, "%d: want 0..%d basis points", p.InterchangeBP, maxBP)
	}
	if p.HoldDays < 0 || p.HoldDays > maxHoldDays {
		e.add("hold_days", 0, "%d: want 0..%d (0 means the default, 7)", p.HoldDays, maxHoldDays)
	}
	if b := p.Billing; b != nil {
		if b.MerchantMonthlyFee < 0 || b.MerchantMonthlyFee > maxMonthlyFeeFen {
			e.add("billing.merchant_monthly_fee_fen", 0, "%d: want 0..%d fen", b.MerchantMonthlyFee, maxMonthlyFeeFen)
		}
		if b.TerminalMonthlyFee < 0 || b.TerminalMonthlyFee > maxMonthlyFeeFen {
			e.add("billing.terminal_monthly_fee_fen", 0, "%d: want 0..%d fen", b.TerminalMonthlyFee, maxMonthlyFeeFen)
		}
	}
	checkProducts(&e, p.Products)
	if p.Loyalty != nil {
		checkRules(&e, "loyalty.", p.Loyalty)
	}
	if len(e.list) == 0 {
		if err := p.Validate(); err != nil {
			e.add("", 0, "%v", err)
		}
	}
	return e.list
}

// CheckMerchant validates a merchant record.
func CheckMerchant(m *ledger.Merchant) ErrorList {
	var e errs
	checkFixedID(&e, "mid", m.MID, 15)
	if m.ProgramID == "" {
		e.add("program_id", 0, "missing")
	}
	if len(m.Name) > maxNameLen {
		e.add("name", 0, "longer than %d characters", maxNameLen)
	}
	if m.MDRBP < 0 || m.MDRBP > maxBP {
		e.add("mdr_bp", 0, "%d: want 0..%d basis points", m.MDRBP, maxBP)
	}
	if m.LoadCommissionBP < 0 || m.LoadCommissionBP > maxBP {
		e.add("load_commission_bp", 0, "%d: want 0..%d basis points", m.LoadCommissionBP, maxBP)
	}
	if len(e.list) == 0 {
		if err := m.Validate(); err != nil {
			e.add("", 0, "%v", err)
		}
	}
	return e.list
}

// CheckTerminal validates a terminal record.
func CheckTerminal(t *ledger.Terminal) ErrorList {
	var e errs
	checkFixedID(&e, "tid", t.TID, 8)
	checkFixedID(&e, "mid", t.MID, 15)
	if len(e.list) == 0 {
		if err := t.Validate(); err != nil {
			e.add("", 0, "%v", err)
		}
	}
	return e.list
}

// CheckPAN validates a PAN: 12 to 19 digits with a good Luhn check digit.
// The message shows the PAN masked.
func CheckPAN(pan string) error {
	switch {
	case pan == "":
		return fmt.Errorf("missing")
	case len(pan) < 12 || len(pan) > 19 || !cardnum.Digits(pan):
		return fmt.Errorf("%s: want 12 to 19 digits", cardnum.Mask(pan))
	case !cardnum.LuhnValid(pan):
		return fmt.Errorf("%s: bad Luhn check digit", cardnum.Mask(pan))
	}
	return nil
}

// CheckExpiry validates a YYMM expiry.
func CheckExpiry(exp string) error {
	switch {
	case exp == "":
		return fmt.Errorf("missing")
	case len(exp) != 4 || !cardnum.Digits(exp):
		return fmt.Errorf("%q: want YYMM, 4 digits", exp)
	}
	if m, _ := strconv.Atoi(exp[2:]); m < 1 || m > 12 {
		return fmt.Errorf("%q: month %d not valid", exp, m)
	}
	return nil
}

// CheckCard validates a card record (not its references to other records).
func CheckCard(c *ledger.Card) ErrorList {
	var e errs
	if err := CheckPAN(c.PAN); err != nil {
		e.add("pan", 0, "%v", err)
	}
	if c.ProgramID == "" {
		e.add("program_id", 0, "missing")
	}
	checkFixedID(&e, "home_mid", c.HomeMID, 15)
	// Whether the product is one of the card's program is checked where
	// the program is known (the file's Validate, the store's PutCard).
	switch {
	case c.Product == "":
		e.add("product", 0, "missing: want a product of the card's program, or magstripe, chip or both")
	case len(c.Product) > maxProductNameLen || !isIDString(c.Product):
		e.add("product", 0, "%q: want 1 to %d letters, digits, '-', '_' or '.'", c.Product, maxProductNameLen)
	}
	if c.State == 0 {
		e.add("state", 0, "missing: want one of issued, active, frozen, lost, stolen, closed")
	} else if c.State > ledger.CardClosed {
		e.add("state", 0, "%s: unknown", c.State)
	}
	if err := CheckExpiry(c.Expiry); err != nil {
		e.add("expiry", 0, "%v", err)
	}
	if c.ServiceCode != "" && (len(c.ServiceCode) != 3 || !cardnum.Digits(c.ServiceCode)) {
		e.add("service_code", 0, "%q: want 3 digits, e.g. 101 (magstripe) or 201 (chip)", c.ServiceCode)
	}
	if c.PSN != "" && (len(c.PSN) != 2 || !cardnum.Digits(c.PSN)) {
		e.add("psn", 0, "%q: want 2 digits", c.PSN)
	}
	if c.Product == "magstripe" && c.PSN != "" {
		e.add("psn", 0, "a magstripe-only card has no chip sequence number")
	}
	checkMember(&e, &c.Member)
	for _, l := range []struct {
		name string
		v    ledger.Amount
	}{{"max_balance_fen", c.MaxBalance}, {"per_txn_limit_fen", c.PerTxnLimit}, {"daily_limit_fen", c.DailyLimit}} {
		if l.v < 0 {
			e.add(l.name, 0, "%d: must not be negative", l.v)
		}
	}
	if c.DailyCountLimit < 0 || c.DailyCountLimit > maxDailyCount {
		e.add("daily_count_limit", 0, "%d: want 0..%d", c.DailyCountLimit, maxDailyCount)
	}
	if len(e.list) == 0 {
		if err := c.Validate(); err != nil {
			e.add("", 0, "%v", err)
		}
	}
	return e.list
}

func checkMember(e *errs, m *ledger.Member) {
	if len(m.Name) > maxNameLen {
		e.add("member.name", 0, "longer than %d characters", maxNameLen)
	}
	if m.Phone != "" {
		ok := len(m.Phone) <= maxPhoneLen
		for i := 0; i < len(m.Phone) && ok; i++ {
			c := m.Phone[i]
			ok = c >= '0' && c <= '9' || c == '+' || c == '-' || c == ' '
		}
		if !ok {
			e.add("member.phone", 0, "%q: want up to %d digits, '+', '-' or spaces", m.Phone, maxPhoneLen)
		}
	}
	if m.Birthday != "" {
		if err := checkBirthday(m.Birthday); err != nil {
			e.add("member.birthday", 0, "%v", err)
		}
	}
}

func checkBirthday(s string) error {
	full := s
	switch len(s) {
	case 5:
		full = "2000-" + s // a leap year, so 02-29 is valid
	case 10:
	default:
		return fmt.Errorf("%q: want MM-DD or YYYY-MM-DD", s)
	}
	if _, err := time.Parse("2006-01-02", full); err != nil {
		return fmt.Errorf("%q: not a valid date (want MM-DD or YYYY-MM-DD)", s)
	}
	return nil
}

// checkFixedID checks an id of exactly n printable ASCII characters without
// spaces (the ans fields 41 and 42 of the terminal protocol, restricted so
// that ids are safe in keys, URLs and file names).
func checkFixedID(e *errs, path, v string, n int) {
	switch {
	case v == "":
		e.add(path, 0, "missing")
	case len(v) != n:
		e.add(path, 0, "%q: want exactly %d characters, got %d", v, n, len(v))
	case !isIDString(v):
		e.add(path, 0, "%q: want letters, digits, '-', '_' or '.'", v)
	}
}

func isIDString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}
