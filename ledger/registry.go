package ledger

import (
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

// Program is a coalition: its merchants, cards and money rules.
type Program struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Currency string `json:"currency"` // ISO 4217 numeric, "156"
	// PointCost is what the merchant where points are earned pays per point.
	PointCost Amount `json:"point_cost_fen"`
	// RedemptionValue is the purchase value one point pays for.
	RedemptionValue Amount `json:"redemption_value_fen"`
	// InterchangeBP is paid by the acquiring merchant to a card's home
	// merchant when the two differ (basis points of the amount).
	InterchangeBP int64 `json:"interchange_bp"`
	// HoldDays is how long a pre-authorization hold lasts (default 7).
	HoldDays int `json:"hold_days"`
	// IMK is the issuer master key of the program's chip cards, sealed
	// under the host master key (nil: the program issues no chip cards);
	// IMKKCV is its check value, for operators.
	IMK    []byte `json:"imk_sealed,omitempty"`
	IMKKCV string `json:"imk_kcv,omitempty"`
	// Products are the program's card products; the built-in products
	// magstripe, chip and both need no PIN.
	Products []Product `json:"products,omitempty"`
	// Loyalty are the program's current loyalty rules (nil: none yet).
	// PutProgram assigns Loyalty.Version and keeps every version it
	// assigned (Store.LoyaltyRules), so that an earning's recorded
	// version can always be looked up.
	Loyalty *loyalty.Rules `json:"loyalty,omitempty"`
	// Billing are the program's monthly fees to its merchants, invoiced
	// with the settlement of each month's last business date (nil: it
	// bills nothing; docs/settlement.md, "Merchant billing").
	Billing *Billing `json:"billing,omitempty"`
}

// Billing are a program's monthly fees to each of its merchants: a fee
// per merchant and a fee per terminal registered and enabled at the
// merchant when the month is billed. Whole months: no proration.
type Billing struct {
	MerchantMonthlyFee Amount `json:"merchant_monthly_fee_fen"`
	TerminalMonthlyFee Amount `json:"terminal_monthly_fee_fen"`
}

// Product is a card product of a program: the card kind and when a PIN
// is needed.
type Product struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // magstripe, chip or both
	// PINRequired maps a processing code to the amount from which a 0100
	// or 0200 with that code needs a PIN; a code not listed never does.
	PINRequired map[string]Amount `json:"pin_required_fen,omitempty"`
}

// BuiltinProducts are the product names every program knows: they need
// no PIN.
var BuiltinProducts = []string{"magstripe", "chip", "both"}

// Product returns the program's product of that name, or a built-in one.
func (p *Program) Product(name string) (Product, bool) {
	for _, pr := range p.Products {
		if pr.Name == name {
			return pr, true
		}
	}
	for _, b := range BuiltinProducts {
		if b == name {
			return Product{Name: name, Kind: name}, true
		}
	}
	return Product{}, false
}

// ProductNames lists what a card of the program may name as its
// product: the built-in ones, then the program's own.
func (p *Program) ProductNames() []string {
	names := append([]string(nil), BuiltinProducts...)
	for _, pr := range p.Products {
		names = append(names, pr.Name)
	}
	return names
}

// NeedsPIN reports whether a 0100/0200 with processing code proc and
// amount needs a PIN under this product.
func (pr Product) NeedsPIN(proc string, amount Amount) bool {
	from, ok := pr.PINRequired[proc]
	return ok && amount >= from
}

// Merchant belongs to one program; Home merchants issue cards.
type Merchant struct {
	MID              string `json:"mid"`
	ProgramID        string `json:"program_id"`
	Name             string `json:"name"`
	Home             bool   `json:"home"`
	MDRBP            int64  `json:"mdr_bp"`
	LoadCommissionBP int64  `json:"load_commission_bp"`
}

// Terminal is registered to one merchant. Its runtime state (signed on, open
// batch, working keys) lives apart, in TerminalState, so that editing the
// registration never clobbers it.
type Terminal struct {
	TID     string `json:"tid"`
	MID     string `json:"mid"`
	Enabled bool   `json:"enabled"`
	// TMK is the terminal master key loaded at deployment, sealed under
	// the host master key (nil: the terminal gets no working keys and its
	// messages carry no MAC, for test programs only); TMKKCV is its check
	// value.
	TMK    []byte `json:"tmk_sealed,omitempty"`
	TMKKCV string `json:"tmk_kcv,omitempty"`
	// LoyaltyInfo opts the terminal in to field 63 (the member's tier and
	// discount) on approvals. Off by default: the shared contract lists
	// no field 63, and a terminal built to it may refuse a message
	// carrying one (docs/protocol.md, "Field 63").
	LoyaltyInfo bool `json:"loyalty_info,omitempty"`
}

// CardState is the lifecycle state of a card.
type CardState uint8

const (
	CardIssued CardState = iota + 1
	CardActive
	CardFrozen
	CardLost
	CardStolen
	CardClosed
)

var cardStateNames = map[CardState]string{
	CardIssued: "issued", CardActive: "active", CardFrozen: "frozen",
	CardLost: "lost", CardStolen: "stolen", CardClosed: "closed",
}

func (s CardState) String() string {
	if n, ok := cardStateNames[s]; ok {
		return n
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseCardState reads a state name.
func ParseCardState(s string) (CardState, error) {
	for k, v := range cardStateNames {
		if v == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("card state %q: want one of issued, active, frozen, lost, stolen, closed", s)
}

func (s CardState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
func (s *CardState) UnmarshalText(b []byte) error {
	v, err := ParseCardState(string(b))
	*s = v
	return err
}

// Member is the person behind a card; anonymous cards have Registered false.
type Member struct {
	Name       string `json:"name,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Birthday   string `json:"birthday,omitempty"` // MM-DD or YYYY-MM-DD
	Registered bool   `json:"registered"`
}

// Default limits on stored value held by one card.
const (
	DefaultMaxBalanceRegistered Amount = 500_000
	DefaultMaxBalanceAnonymous  Amount = 100_000
)

// Card is a member card. The PAN is stored in clear only inside the ledger;
// everything outside shows cardnum.Mask.
type Card struct {
	PAN         string    `json:"pan"`
	ProgramID   string    `json:"program_id"`
	HomeMID     string    `json:"home_mid"`
	Product     string    `json:"product"` // a product of the program, or magstripe, chip or both
	State       CardState `json:"state"`
	Expiry      string    `json:"expiry"` // YYMM
	ServiceCode string    `json:"service_code"`
	PSN         string    `json:"psn,omitempty"` // chip card sequence number, 2 digits
	Blacklisted bool      `json:"blacklisted,omitempty"`
	Member      Member    `json:"member"`
	// PINData is the PIN verification data (salt and keyed hash, see
	// secrets.go); nil when the card has no PIN.
	PINData []byte `json:"pin_data,omitempty"`
	// Limits; zero means none, except MaxBalance, which defaults by
	// registration.
	MaxBalance      Amount `json:"max_balance_fen,omitempty"`
	PerTxnLimit     Amount `json:"per_txn_limit_fen,omitempty"`
	DailyLimit      Amount `json:"daily_limit_fen,omitempty"`
	DailyCountLimit int    `json:"daily_count_limit,omitempty"`
}

// EffectiveMaxBalance is the most stored value the card may hold.
func (c *Card) EffectiveMaxBalance() Amount {
	if c.MaxBalance > 0 {
		return c.MaxBalance
	}
	if c.Member.Registered {
		return DefaultMaxBalanceRegistered
	}
	return DefaultMaxBalanceAnonymous
}

// Validate checks a program record; errors name the field.
func (p *Program) Validate() error {
	switch {
	case p.ID == "" || len(p.ID) > 32:
		return fmt.Errorf("program id %q: want 1 to 32 characters", p.ID)
	case p.Currency != "156":
		return fmt.Errorf("program %s currency %q: only 156 (CNY) is supported", p.ID, p.Currency)
	case p.PointCost < 0 || p.RedemptionValue < 0:
		return fmt.Errorf("program %s: point_cost_fen and redemption_value_fen must not be negative", p.ID)
	case p.PointCost > MaxAmount || p.RedemptionValue > MaxAmount:
		return fmt.Errorf("program %s: point_cost_fen and redemption_value_fen must not be above %d", p.ID, int64(MaxAmount))
	case p.InterchangeBP < 0 || p.InterchangeBP > 10000:
		return fmt.Errorf("program %s interchange_bp %d: want 0..10000", p.ID, p.InterchangeBP)
	case p.HoldDays < 0 || p.HoldDays > 60:
		return fmt.Errorf("program %s hold_days %d: want 0..60 (0 means 7)", p.ID, p.HoldDays)
	case p.Billing != nil && (p.Billing.MerchantMonthlyFee < 0 || p.Billing.MerchantMonthlyFee > MaxAmount):
		return fmt.Errorf("program %s billing.merchant_monthly_fee_fen %d: want 0..%d", p.ID, p.Billing.MerchantMonthlyFee, int64(MaxAmount))
	case p.Billing != nil && (p.Billing.TerminalMonthlyFee < 0 || p.Billing.TerminalMonthlyFee > MaxAmount):
		return fmt.Errorf("program %s billing.terminal_monthly_fee_fen %d: want 0..%d", p.ID, p.Billing.TerminalMonthlyFee, int64(MaxAmount))
	}
	if p.Loyalty != nil {
		if err := p.Loyalty.Validate(); err != nil {
			return fmt.Errorf("program %s loyalty: %w", p.ID, err)
		}
	}
	return nil
}

// Validate checks a merchant record; errors name the field.
func (m *Merchant) Validate() error {
	switch {
	case len(m.MID) != 15:
		return fmt.Errorf("merchant mid %q: want exactly 15 characters", m.MID)
	case m.ProgramID == "":
		return fmt.Errorf("merchant %s program_id: missing", m.MID)
	case m.MDRBP < 0 || m.MDRBP > 10000:
		return fmt.Errorf("merchant %s mdr_bp %d: want 0..10000", m.MID, m.MDRBP)
	case m.LoadCommissionBP < 0 || m.LoadCommissionBP > 10000:
		return fmt.Errorf("merchant %s load_commission_bp %d: want 0..10000", m.MID, m.LoadCommissionBP)
	}
	return nil
}

// Validate checks a terminal record; errors name the field.
func (t *Terminal) Validate() error {
	switch {
	case len(t.TID) != 8:
		return fmt.Errorf("terminal tid %q: want exactly 8 characters", t.TID)
	case len(t.MID) != 15:
		return fmt.Errorf("terminal %s mid %q: want exactly 15 characters", t.TID, t.MID)
	}
	return nil
}

// Validate checks a card record; errors name the field and mask the PAN.
func (c *Card) Validate() error {
	m := cardnum.Mask(c.PAN)
	switch {
	case len(c.PAN) < 12 || len(c.PAN) > 19 || !cardnum.Digits(c.PAN):
		return fmt.Errorf("card pan %s: want 12 to 19 digits", m)
	case !cardnum.LuhnValid(c.PAN):
		return fmt.Errorf("card pan %s: bad Luhn check digit", m)
	case c.ProgramID == "":
		return fmt.Errorf("card %s program_id: missing", m)
	case len(c.HomeMID) != 15:
		return fmt.Errorf("card %s home_mid %q: want exactly 15 characters", m, c.HomeMID)
	case c.Product == "" || len(c.Product) > 32:
		return fmt.Errorf("card %s product %q: want a product of the program, or magstripe, chip or both", m, c.Product)
	case c.PINData != nil && len(c.PINData) != PINDataLen:
		return fmt.Errorf("card %s pin data: want %d bytes", m, PINDataLen)
	case cardStateNames[c.State] == "":
		return fmt.Errorf("card %s state: missing or unknown", m)
	case len(c.Expiry) != 4 || !cardnum.Digits(c.Expiry) || c.Expiry[2:] < "01" || c.Expiry[2:] > "12":
		return fmt.Errorf("card %s expiry %q: want YYMM", m, c.Expiry)
	case c.ServiceCode != "" && (len(c.ServiceCode) != 3 || !cardnum.Digits(c.ServiceCode)):
		return fmt.Errorf("card %s service_code %q: want 3 digits", m, c.ServiceCode)
	case c.PSN != "" && (len(c.PSN) != 2 || !cardnum.Digits(c.PSN)):
		return fmt.Errorf("card %s psn %q: want 2 digits", m, c.PSN)
	case c.MaxBalance < 0 || c.PerTxnLimit < 0 || c.DailyLimit < 0 || c.DailyCountLimit < 0:
		return fmt.Errorf("card %s limits: must not be negative", m)
	case c.MaxBalance > MaxAmount:
		return fmt.Errorf("card %s max_balance_fen %d: above %d", m, c.MaxBalance, int64(MaxAmount))
	case c.PerTxnLimit > MaxAmount:
		return fmt.Errorf("card %s per_txn_limit_fen %d: above %d", m, c.PerTxnLimit, int64(MaxAmount))
	case c.DailyLimit > MaxAmount:
		return fmt.Errorf("card %s daily_limit_fen %d: above %d", m, c.DailyLimit, int64(MaxAmount))
	}
	return nil
}
