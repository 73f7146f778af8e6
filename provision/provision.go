package provision

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// Limits on what one provisioning file may hold.
const (
	// MaxFileBytes bounds a provisioning file (and the admin API's import
	// body).
	MaxFileBytes = 8 << 20
	maxPrograms  = 100
	maxMerchants = 10_000
	maxTerminals = 50_000
	maxCards     = 50_000
	// maxOpeningPoints bounds a card's opening points.
	maxOpeningPoints = 1_000_000_000
	maxAliasLen      = 32
	// FormatVersion is the only version of the format there is.
	FormatVersion = 1
)

// File is a parsed and validated provisioning file.
type File struct {
	// Version is the format version (FormatVersion).
	Version   int
	Programs  []ledger.Program
	Merchants []ledger.Merchant
	Terminals []ledger.Terminal
	Cards     []Card
	// Keys are the clear keys the file gives (test programs only): Apply
	// seals them under the host master key and the store never sees them
	// in clear.
	Keys Keys
	// Aliases maps each card's name: to what a test or demo needs to
	// present that card (PAN, expiry, service code, …). Aliases live only
	// in the file; the ledger never sees them.
	Aliases map[string]Alias

	// pos maps a key path ("cards[3].expiry") to its line in the source;
	// nil for a File built in code.
	pos map[string]int
}

// Card is a card to provision: the ledger record plus what only the file
// knows.
type Card struct {
	ledger.Card
	// Name is the card's alias in the file (optional, unique).
	Name string
	// OpeningBalance and OpeningPoints are credited once, when the card has
	// no journal history yet (see Apply).
	OpeningBalance ledger.Amount
	OpeningPoints  ledger.Points
	// PIN is the card's PIN in clear (test programs only); Apply stores
	// only its verification data.
	PIN string
}

// Keys are a file's clear keys, by program id and by TID.
type Keys struct {
	IMK map[string][]byte // issuer master keys by program id
	TMK map[string][]byte // terminal master keys by TID
}

// String shows the card with its PAN masked, so that a stray %v never
// prints card data.
func (c Card) String() string {
	return fmt.Sprintf("card %s (%s, %s, expiry %s)", cardnum.Mask(c.PAN), c.Name, c.State, c.Expiry)
}

// Alias is what a caller needs to present a named card to the host.
type Alias struct {
	PAN            string
	Expiry         string // YYMM
	ServiceCode    string
	PSN            string
	Product        string
	State          ledger.CardState
	Blacklisted    bool
	ProgramID      string
	HomeMID        string
	OpeningBalance ledger.Amount
	OpeningPoints  ledger.Points
	// PIN and IMK (the program's, hex) let a simulator present the card
	// with a PIN and as a chip card; test programs only.
	PIN string
	IMK string
}

// String shows the alias with its PAN masked.
func (a Alias) String() string {
	return fmt.Sprintf("%s expiry %s %s", cardnum.Mask(a.PAN), a.Expiry, a.State)
}

// Alias looks a card up by its name.
func (f *File) Alias(name string) (Alias, bool) {
	a, ok := f.Aliases[name]
	return a, ok
}

// line returns the source line of a key path, or of its nearest ancestor
// that has one; 0 when unknown.
func (f *File) line(path string) int {
	for path != "" {
		if l, ok := f.pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

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

// Load reads and parses a provisioning file.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("provision: read %s: %w", path, err)
	}
	return Parse(data)
}

// Parse decodes and validates a provisioning file as a whole. On any
// problem it returns an ErrorList naming every bad key with its line (up to
// a limit), and no File.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxFileBytes {
		return nil, ErrorList{{Msg: fmt.Sprintf("file larger than %d bytes", MaxFileBytes)}}
	}
	var raw rawFile
	pos, empty, el := decodeStrict(data, &raw)
	if el != nil {
		return nil, el
	}
	if empty {
		return nil, ErrorList{{Msg: "empty file: want a mapping with programs, merchants, terminals and cards"}}
	}

	c := &conv{f: &File{pos: pos}}
	c.file(&raw)
	if c.e.full() {
		return nil, c.e.list
	}
	// Validate the typed records, skipping keys that already failed to
	// convert (their zero values would only repeat the complaint).
	bad := map[string]bool{}
	for _, e := range c.e.list {
		bad[e.Path] = true
	}
	if err := c.f.Validate(); err != nil {
		var l ErrorList
		errors.As(err, &l)
		for _, e := range l {
			if !bad[e.Path] {
				c.e.add(e.Path, e.Line, "%s", e.Msg)
			}
		}
	}
	if len(c.e.list) > 0 {
		sortErrors(c.e.list)
		return nil, c.e.list
	}
	c.f.Aliases = map[string]Alias{}
	for _, cd := range c.f.Cards {
		if cd.Name != "" {
			c.f.Aliases[cd.Name] = Alias{
				PAN: cd.PAN, Expiry: cd.Expiry, ServiceCode: cd.ServiceCode, PSN: cd.PSN,
				Product: cd.Product, State: cd.State, Blacklisted: cd.Blacklisted,
				ProgramID: cd.ProgramID, HomeMID: cd.HomeMID,
				OpeningBalance: cd.OpeningBalance, OpeningPoints: cd.OpeningPoints,
				PIN: cd.PIN, IMK: hexKey(c.f.Keys.IMK[cd.ProgramID]),
			}
		}
	}
	return c.f, nil
}

func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		li, lj := l[i].Line, l[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
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

// Validate checks the file as a whole: every record on its own, no
// duplicate ids, PANs or names, and references between records of the
// file. References to records that are not in the file are left to Apply,
// which looks them up in the store before it writes anything.
func (f *File) Validate() error {
	var e errs
	sub := func(prefix string, l ErrorList, rename func(string) string) {
		for _, fe := range l {
			k := rename(fe.Path)
			path := prefix
			if k != "" {
				path += "." + k
			}
			e.add(path, f.line(path), "%s", fe.Msg)
		}
	}
	at := func(path string) int { return f.line(path) }
	same := func(k string) string { return k }

	// unique remembers id as seen at list[i]; seeing it again is an
	// error at list[i].key that names the first sighting.
	unique := func(seen map[string]int, list, key, id string, i int) {
		pre := fmt.Sprintf("%s[%d]", list, i)
		if j, dup := seen[id]; dup && id != "" {
			e.add(pre+"."+key, at(pre+"."+key), "%q given twice (first at %s[%d], line %d)", id, list, j, at(fmt.Sprintf("%s[%d]", list, j)))
			return
		}
		seen[id] = i
	}
	programs := map[string]int{}
	for i := range f.Programs {
		p := &f.Programs[i]
		sub(fmt.Sprintf("programs[%d]", i), CheckProgram(p), rulesKeyOf)
		unique(programs, "programs", "id", p.ID, i)
	}
	merchants := map[string]int{}
	for i := range f.Merchants {
		m := &f.Merchants[i]
		sub(fmt.Sprintf("merchants[%d]", i), CheckMerchant(m), same)
		unique(merchants, "merchants", "mid", m.MID, i)
	}
	f.checkCampaignMerchants(&e, merchants)
	terminals := map[string]int{}
	for i := range f.Terminals {
		t := &f.Terminals[i]
		sub(fmt.Sprintf("terminals[%d]", i), CheckTerminal(t), same)
		unique(terminals, "terminals", "tid", t.TID, i)
	}
	pans := map[string]int{}
	names := map[string]int{}
	for i := range f.Cards {
		c := &f.Cards[i]
		pre := fmt.Sprintf("cards[%d]", i)
		sub(pre, CheckCard(&c.Card), cardKeyOf)
		if j, dup := pans[c.PAN]; dup && c.PAN != "" {
			e.add(pre+".pan", at(pre+".pan"), "%s given twice (first at cards[%d], line %d)", cardnum.Mask(c.PAN), j, at(fmt.Sprintf("cards[%d]", j)))
		} else {
			pans[c.PAN] = i
		}
		if c.Name != "" {
			if !isAlias(c.Name) {
				e.add(pre+".name", at(pre+".name"), "%q: want a letter then up to %d letters, digits, '-' or '_'", c.Name, maxAliasLen-1)
			} else if j, dup := names[c.Name]; dup {
				e.add(pre+".name", at(pre+".name"), "%q given twice (first at cards[%d], line %d)", c.Name, j, at(fmt.Sprintf("cards[%d]", j)))
			} else {
				names[c.Name] = i
			}
		}
		if c.OpeningBalance < 0 {
			e.add(pre+".opening_balance", at(pre+".opening_balance"), "must not be negative")
		} else if max := c.EffectiveMaxBalance(); c.OpeningBalance > max {
			e.add(pre+".opening_balance", at(pre+".opening_balance"), "%s is above the card's max balance %s", c.OpeningBalance, max)
		}
		if c.OpeningPoints < 0 || c.OpeningPoints > maxOpeningPoints {
			e.add(pre+".opening_points", at(pre+".opening_points"), "%d: want 0..%d", c.OpeningPoints, maxOpeningPoints)
		}
		if j, ok := programs[c.ProgramID]; ok {
			if p := &f.Programs[j]; c.Product != "" {
				if _, ok := p.Product(c.Product); !ok {
					e.add(pre+".product", at(pre+".product"), "%q: not a product of program %s; want one of %s", c.Product, p.ID, strings.Join(p.ProductNames(), ", "))
				}
			}
		}
		if j, ok := merchants[c.HomeMID]; ok {
			m := &f.Merchants[j]
			if !m.Home {
				e.add(pre+".home_mid", at(pre+".home_mid"), "merchant %s is not a home merchant (merchants[%d] has home: false)", m.MID, j)
			}
			if c.ProgramID != "" && m.ProgramID != c.ProgramID {
				e.add(pre+".program_id", at(pre+".program_id"), "%q, but home merchant %s is in program %q", c.ProgramID, m.MID, m.ProgramID)
			}
		}
	}
	if len(e.list) > 0 {
		sortErrors(e.list)
		return e.list
	}
	return nil
}

func isAlias(s string) bool {
	if s == "" || len(s) > maxAliasLen || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
