package loyalty

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // hermetic: the zones in the files do not depend on the host

	"github.com/cardcenter/cardcenter/money"
	"github.com/cockroachdb/datadriven"
)

// TestRules runs the rule stories in testdata/*.txt, one file per rule
// family. Every file starts from empty rules and member and describes
// its own; the commands:
//
//	rules version= earn= tz= lots= months= days=   (input: tier and campaign lines)
//	member birthday= tier= bonus_year= visits= seen= spend=
//	earn [defaults]   (input: one purchase a line: amount= mid= at=)
//	takeback earned= refunded= original=
//	refunds earned= original=   (input: one refund amount a line)
//	average           (input: monthly spend buckets, oldest first)
//	tier-for avg= | upgrade current= avg= | review current= avg=
//	expiry at=
//	lot seq= points= at= | redeem points= at= | take seq= points= at=
//	expire at= | expiring at= days= | available at= | wallet
//
// Amounts are yuan ("123.45"), instants local wall-clock times in the
// rules' zone ("2025-03-06T10:00") or RFC 3339 with an offset. An earn
// records what an approved purchase leaves behind (the visit date, the
// merchant, the birthday bonus year and, with spend buckets, the spend
// and the immediate upgrade) and is checked against math/big.
func TestRules(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			return
		}
		h := &harness{t: t}
		h.reset()
		datadriven.RunTest(t, path, h.run)
	})
}

type harness struct {
	t     *testing.T
	rules Rules
	loc   *time.Location
	// member facts, as the ledger would keep them
	birthday  string
	tier      int
	bonusYear int
	visits    []string
	seen      map[string]bool
	spend     []money.Amount
	wallet    Wallet
}

func (h *harness) reset() {
	h.rules = Rules{Version: 1, EarnRateBP: money.BPScale, Lots: LotPolicy{Kind: LotNever}}
	h.loc = time.UTC
	h.resetMember()
	h.wallet = Wallet{}
}

func (h *harness) resetMember() {
	h.birthday, h.tier, h.bonusYear, h.visits, h.seen, h.spend = "", 0, 0, nil, map[string]bool{}, nil
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	h.t = t
	args := kv(t, d.Pos, cmdFields(d))
	if d.Cmd != "earn" { // earn reads the command's arguments per line
		defer args.done(t, d.Pos)
	}
	switch d.Cmd {
	case "rules":
		return h.setRules(d, args)
	case "member":
		h.resetMember()
		h.birthday = args.str("birthday", "")
		h.tier = h.tierIndex(d, args.str("tier", h.tierName(0)))
		h.bonusYear = args.int("bonus_year", 0)
		h.visits = args.list("visits")
		for _, mid := range args.list("seen") {
			h.seen[mid] = true
		}
		for _, s := range args.list("spend") {
			h.spend = append(h.spend, h.amount(d, s))
		}
		return ""
	case "earn":
		var out []string
		for _, line := range inputLines(d) {
			line := kv(t, d.Pos, append(cmdFields(d), strings.Fields(line)...))
			out = append(out, h.earn(d, line))
		}
		return strings.Join(out, "\n") + "\n"
	case "takeback":
		got, err := TakeBack(money.Points(args.int("earned", 0)), h.amount(d, args.str("refunded", "")), h.amount(d, args.str("original", "")))
		return result(fmt.Sprint(got), err)
	case "refunds":
		earned, original := money.Points(args.int("earned", 0)), h.amount(d, args.str("original", ""))
		var out []string
		var total money.Amount
		var taken money.Points
		// done are the refunds made, in order; "undo N" undoes the Nth
		// (a void or reversal: it gives back exactly what it took).
		type refund struct {
			amount money.Amount
			took   money.Points
		}
		var done []refund
		for _, line := range inputLines(d) {
			if n, ok := strings.CutPrefix(line, "undo "); ok {
				i, err := strconv.Atoi(n)
				if err != nil || i < 1 || i > len(done) {
					d.Fatalf(t, "%s: undo names no refund made", d.Pos)
				}
				r := done[i-1]
				total, taken = total-r.amount, taken-r.took
				out = append(out, fmt.Sprintf("undo refund %d (%s): give back %d (refunded %s, taken back %d of %d)", i, r.amount, r.took, total, taken, earned))
				continue
			}
			a := h.amount(d, line)
			got, err := RefundTakeBack(earned, taken, total+a, original)
			if err != nil {
				out = append(out, fmt.Sprintf("refund %s: error: %v", a, err))
				continue
			}
			total, taken = total+a, taken+got
			done = append(done, refund{a, got})
			out = append(out, fmt.Sprintf("refund %s: take back %d (refunded %s, taken back %d of %d)", a, got, total, taken, earned))
		}
		return strings.Join(out, "\n") + "\n"
	case "average":
		var b []money.Amount
		for _, line := range inputLines(d) {
			if v, err := strconv.ParseInt(line, 10, 64); err == nil {
				b = append(b, money.Amount(v)) // raw fen, for the extremes
			} else {
				b = append(b, h.amount(d, line))
			}
		}
		return fmt.Sprintf("%s (%d fen)\n", AverageMonthlySpend(b), AverageMonthlySpend(b))
	case "tier-for":
		return h.tierName(TierFor(&h.rules, h.amount(d, args.str("avg", "")))) + "\n"
	case "upgrade":
		return h.tierName(Upgrade(&h.rules, h.tierIndex(d, args.str("current", "")), h.amount(d, args.str("avg", "")))) + "\n"
	case "review":
		return h.tierName(Review(&h.rules, h.tierIndex(d, args.str("current", "")), h.amount(d, args.str("avg", "")))) + "\n"
	case "expiry":
		exp, ok := h.rules.Lots.Expiry(h.instant(d, args.str("at", "")), h.loc)
		if !ok {
			return "never\n"
		}
		return h.fmtTime(exp) + "\n"
	default:
		return h.walletCmd(d, args)
	}
}

func (h *harness) setRules(d *datadriven.TestData, args kvs) string {
	h.reset()
	loc, err := time.LoadLocation(args.str("tz", "UTC"))
	if err != nil {
		h.t.Fatalf("%s: %v", d.Pos, err)
	}
	h.loc = loc
	h.rules.Version = args.int("version", 1)
	h.rules.EarnRateBP = money.BP(args.int("earn", money.BPScale))
	h.rules.Lots = LotPolicy{Kind: LotPolicyKind(args.str("lots", string(LotNever))), Months: args.int("months", 0), Days: args.int("days", 0)}
	for _, line := range inputLines(d) {
		f := strings.Fields(line)
		a := kv(h.t, d.Pos, f[2:])
		switch f[0] {
		case "tier":
			h.rules.Tiers = append(h.rules.Tiers, Tier{Name: f[1], ThresholdFen: h.amount(d, a.str("threshold", "0")),
				MultiplierBP: money.BP(a.int("mult", money.BPScale)), DiscountBP: money.BP(a.int("discount", 0))})
		case "campaign":
			h.rules.Campaigns = append(h.rules.Campaigns, Campaign{ID: f[1], Kind: CampaignKind(a.str("kind", "")),
				MultiplierBP: money.BP(a.int("mult", 0)), BonusPoints: money.Points(a.int("bonus", 0)),
				From: a.str("from", ""), To: a.str("to", ""), Merchants: a.list("merchants"), Priority: a.int("priority", 0),
				VisitFrom: a.int("visit_from", 0), WindowDays: a.int("window", 0)})
		default:
			h.t.Fatalf("%s: want tier or campaign lines, got %q", d.Pos, line)
		}
		a.done(h.t, d.Pos)
	}
	args.done(h.t, d.Pos)
	return ""
}

func (h *harness) earn(d *datadriven.TestData, a kvs) string {
	amount, at, mid := h.amount(d, a.str("amount", "")), h.instant(d, a.str("at", "")), a.str("mid", "M1")
	a.done(h.t, d.Pos)
	var out string
	tier := h.tier
	if len(h.spend) > 0 {
		// The immediate upgrade: this purchase joins the current
		// month's bucket, and earns at the tier the new average reaches.
		spend := slices.Clone(h.spend)
		spend[len(spend)-1] += amount
		avg := AverageMonthlySpend(spend)
		if tier = Upgrade(&h.rules, h.tier, avg); tier != h.tier {
			out = fmt.Sprintf("upgrade %s -> %s (average %s) ", h.tierName(h.tier), h.tierName(tier), avg)
		}
		defer func() { h.spend = spend }()
	}
	m := Member{Birthday: h.birthday, Tier: tier, VisitDates: h.visits, BirthdayBonusYear: h.bonusYear,
		MerchantsSeen: SeenFunc(func(mid string) bool { return h.seen[mid] })}
	e, err := Earn(&h.rules, m, Purchase{Amount: amount, MID: mid, At: at, Location: h.loc})
	if err != nil {
		return "error: " + err.Error()
	}
	h.checkEarning(d, amount, e)
	h.tier = tier
	h.visits = append(h.visits, at.In(h.loc).Format(dateLayout))
	h.seen[mid] = true
	if e.BirthdayBonus {
		h.bonusYear = e.BirthdayBonusYear
	}
	out += fmt.Sprintf("points=%d base=%d tier=%d mult=%d bonus=%d visit=%d", e.Points, e.Base, e.TierBP, e.MultiplierBP, e.Bonus, e.Visit)
	if len(e.Campaigns) > 0 {
		out += " campaigns=" + strings.Join(e.Campaigns, ",")
	}
	if e.BirthdayBonus {
		out += fmt.Sprintf(" birthday_bonus_year=%d", e.BirthdayBonusYear)
	}
	return out + fmt.Sprintf(" v%d", e.RulesVersion)
}

// checkEarning recomputes the earning's arithmetic with math/big: the
// figures in the files are checked, not merely recorded.
func (h *harness) checkEarning(d *datadriven.TestData, amount money.Amount, e Earning) {
	p := new(big.Int).SetInt64(int64(amount))
	p.Mul(p, big.NewInt(int64(h.rules.EarnRateBP)))
	base := new(big.Int).Quo(p, big.NewInt(1_000_000))
	p.Mul(p, big.NewInt(int64(e.TierBP)))
	p.Mul(p, big.NewInt(int64(e.MultiplierBP)))
	p.Quo(p, new(big.Int).Exp(big.NewInt(10), big.NewInt(14), nil))
	p.Add(p, big.NewInt(int64(e.Bonus)))
	if !p.IsInt64() || p.Int64() != int64(e.Points) || base.Int64() != int64(e.Base) {
		h.t.Fatalf("%s: earning %+v: math/big says points %s base %s", d.Pos, e, p, base)
	}
}

func (h *harness) tierName(i int) string {
	if i < len(h.rules.Tiers) {
		return h.rules.Tiers[i].Name
	}
	return strconv.Itoa(i)
}

func (h *harness) tierIndex(d *datadriven.TestData, name string) int {
	for i, t := range h.rules.Tiers {
		if t.Name == name {
			return i
		}
	}
	i, err := strconv.Atoi(name)
	if err != nil {
		h.t.Fatalf("%s: no tier %q", d.Pos, name)
	}
	return i
}

func (h *harness) amount(d *datadriven.TestData, s string) money.Amount {
	a, err := money.ParseAmount(s)
	if err != nil {
		h.t.Fatalf("%s: %v", d.Pos, err)
	}
	return a
}

func (h *harness) instant(d *datadriven.TestData, s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, h.loc); err == nil {
			return t
		}
	}
	h.t.Fatalf("%s: instant %q: want 2006-01-02T15:04 or RFC 3339", d.Pos, s)
	return time.Time{}
}

func (h *harness) fmtTime(t time.Time) string { return t.In(h.loc).Format(time.RFC3339Nano) }

func result(s string, err error) string {
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	return s + "\n"
}

// kvs is a line's key=value arguments; done fails on a key nobody read,
// so a typo in a file cannot pass silently.
type kvs struct {
	m    map[string]string
	used map[string]bool
}

func kv(t *testing.T, pos string, fields []string) kvs {
	a := kvs{m: map[string]string{}, used: map[string]bool{}}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("%s: argument %q: want key=value", pos, f)
		}
		a.m[k] = v // later wins: a line overrides the command's defaults
	}
	return a
}

func (a kvs) str(k, def string) string {
	a.used[k] = true
	if v, ok := a.m[k]; ok {
		return v
	}
	return def
}

func (a kvs) int(k string, def int) int {
	s := a.str(k, "")
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("argument %s=%q: not an integer", k, s))
	}
	return v
}

func (a kvs) list(k string) []string {
	if s := a.str(k, ""); s != "" {
		return strings.Split(s, ",")
	}
	return nil
}

func (a kvs) done(t *testing.T, pos string) {
	for k := range a.m {
		if !a.used[k] {
			t.Fatalf("%s: unknown argument %q", pos, k)
		}
	}
}

func cmdFields(d *datadriven.TestData) []string {
	var f []string
	for _, a := range d.CmdArgs {
		if len(a.Vals) == 0 {
			f = append(f, a.Key)
			continue
		}
		f = append(f, a.Key+"="+strings.Join(a.Vals, ","))
	}
	return f
}

func inputLines(d *datadriven.TestData) []string {
	var out []string
	for _, line := range strings.Split(d.Input, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}
