package loyalty

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cardcenter/cardcenter/money"
)

// ErrInvalid: a fact handed to the rules (a purchase, a member's
// history, a wallet operation) is malformed; the error names the field.
// Nothing is computed or changed.
var ErrInvalid = errors.New("loyalty: invalid input")

// earnDen is the denominator of one earning: 100 fen a yuan and three
// basis-point rates (earn rate, tier, campaign).
const earnDen = 100 * money.BPScale * money.BPScale * money.BPScale

// Earn computes what purchase p earns for member m under rules r.
//
//	points = floor(amount × earn_rate × tier × campaign / (100 × 10000³)) + bonuses
//
// rounded down once, after every multiplier, exactly (money.Scale keeps
// the product in 128 bits); Base = floor(amount × earn_rate / 10000 /
// 100) is reported for statements and is not an intermediate.
//
// Campaigns apply when p's local date (p.At in p.Location) lies in
// their From..To window (inclusive), p.MID is in their Merchants (or
// they have none), and their kind's condition holds:
//
//   - period: the window alone;
//   - visit: p is visit VisitFrom or later of its calendar month, visits
//     being distinct local dates (m.VisitDates of the same month, plus
//     p's date);
//   - birthday: p's date is within WindowDays of m's birthday (Feb 29
//     falls on Feb 28 in other years; the window wraps the year). A
//     multiplier applies every time; a bonus once per birthday: only
//     when the year of the birthday p is near is after
//     m.BirthdayBonusYear, and the Earning says which year to record;
//   - first_visit: m.MerchantsSeen(p.MID) is false (a nil MerchantsSeen
//     is no history and gives no bonus: points are never given on a
//     missing fact).
//
// Of the multiplier campaigns that apply, one is used: the highest
// multiplier, then the highest priority, then the smallest id. Every
// bonus campaign that applies adds its points after rounding. The
// Earning lists the campaigns used, the multiplier first, then bonuses
// in the rules' order, and r.Version.
//
// Earn assumes r passed Rules.Validate (windows are YYYY-MM-DD, tier
// thresholds rise from 0, a campaign has a multiplier or a bonus); it
// checks the facts: a negative amount, a nil location, a tier index
// outside r.Tiers, a malformed birthday or visit date wrap ErrInvalid;
// a product or total beyond money.MaxAmount wraps money.ErrOutOfRange.
// Earn does not change m: the ledger records the visit, the merchant
// and the birthday bonus year after the transaction commits.
func Earn(r *Rules, m Member, p Purchase) (Earning, error) { return EarnAppend(nil, r, m, p) }

// EarnAppend is Earn, with the Earning's Campaigns in campaigns' array
// when it has room (campaigns[:0] is appended to): a caller that earns
// on every purchase and is done with one Earning's list before the next
// passes the same array each time instead of a new list an earning.
func EarnAppend(campaigns []string, r *Rules, m Member, p Purchase) (Earning, error) {
	if p.Amount < 0 {
		return Earning{}, fmt.Errorf("purchase amount %d fen: negative: %w", p.Amount, ErrInvalid)
	}
	if p.Location == nil {
		return Earning{}, fmt.Errorf("purchase location: missing (the program's time zone): %w", ErrInvalid)
	}
	tierBP := money.BP(money.BPScale)
	switch {
	case m.Tier >= 0 && m.Tier < len(r.Tiers):
		tierBP = r.Tiers[m.Tier].MultiplierBP
	case m.Tier != 0 || len(r.Tiers) != 0:
		return Earning{}, fmt.Errorf("member tier %d: rules have %d tiers: %w", m.Tier, len(r.Tiers), ErrInvalid)
	}
	local := p.At.In(p.Location)
	year, month, day := local.Date()
	var todayBuf [len(dateLayout)]byte
	today := string(local.AppendFormat(todayBuf[:0], dateLayout)) // does not escape: no allocation
	visit, err := visitNumber(today, m.VisitDates)
	if err != nil {
		return Earning{}, err
	}
	e := Earning{TierBP: tierBP, MultiplierBP: money.BPScale, RulesVersion: r.Version, Visit: visit}

	var mult *Campaign
	bonuses := campaigns[:0]
	bday := birthdayFacts{birthday: m.Birthday}
	for i := range r.Campaigns {
		c := &r.Campaigns[i]
		if (c.From != "" && today < c.From) || (c.To != "" && today > c.To) {
			continue
		}
		if len(c.Merchants) > 0 && !slices.Contains(c.Merchants, p.MID) {
			continue
		}
		bonusYear := 0
		switch c.Kind {
		case CampaignPeriod:
		case CampaignVisit:
			if visit < c.VisitFrom {
				continue
			}
		case CampaignBirthday:
			y, ok, err := bday.near(year, month, day, c.WindowDays)
			if err != nil {
				return Earning{}, err
			}
			if !ok || (c.MultiplierBP == 0 && y <= m.BirthdayBonusYear) {
				continue
			}
			bonusYear = y
		case CampaignFirstVisit:
			if m.MerchantsSeen == nil || m.MerchantsSeen.Seen(p.MID) {
				continue
			}
		default:
			continue // Validate refuses unknown kinds; never pay on one.
		}
		if c.MultiplierBP > 0 {
			if mult == nil || betterMultiplier(c, mult) {
				mult = c
			}
			continue
		}
		if e.Bonus, err = e.Bonus.Add(c.BonusPoints); err != nil {
			return Earning{}, fmt.Errorf("campaign %s bonus: %w", c.ID, err)
		}
		bonuses = append(bonuses, c.ID)
		if bonusYear != 0 {
			e.BirthdayBonus, e.BirthdayBonusYear = true, bonusYear
		}
	}
	used := bonuses
	if mult != nil {
		e.MultiplierBP = mult.MultiplierBP
		used = slices.Insert(used, 0, mult.ID) // the multiplier first
	}
	if len(used) > 0 {
		e.Campaigns = used
	}

	base, err := money.Scale(int64(p.Amount), []int64{int64(r.EarnRateBP)}, 100*money.BPScale, money.Floor)
	if err == nil && !money.InRange(base) {
		err = fmt.Errorf("base points %d: beyond ±%d: %w", base, int64(money.MaxAmount), money.ErrOutOfRange)
	}
	if err != nil {
		return Earning{}, fmt.Errorf("earn on %d fen at %d bp: %w", p.Amount, r.EarnRateBP, err)
	}
	pts, err := money.Scale(int64(p.Amount), []int64{int64(r.EarnRateBP), int64(tierBP), int64(e.MultiplierBP)}, earnDen, money.Floor)
	if err == nil && !money.InRange(pts) {
		err = fmt.Errorf("points %d: beyond ±%d: %w", pts, int64(money.MaxAmount), money.ErrOutOfRange)
	}
	if err != nil {
		return Earning{}, fmt.Errorf("earn on %d fen at %d × %d × %d bp: %w", p.Amount, r.EarnRateBP, tierBP, e.MultiplierBP, err)
	}
	e.Base = money.Points(base)
	if e.Points, err = money.Points(pts).Add(e.Bonus); err != nil {
		return Earning{}, fmt.Errorf("earn: %d points and %d bonus: %w", pts, e.Bonus, err)
	}
	return e, nil
}

// betterMultiplier orders multiplier campaigns: the highest multiplier,
// then the highest priority, then the smallest id, so the choice never
// depends on the order campaigns are listed in.
func betterMultiplier(c, than *Campaign) bool {
	if c.MultiplierBP != than.MultiplierBP {
		return c.MultiplierBP > than.MultiplierBP
	}
	if c.Priority != than.Priority {
		return c.Priority > than.Priority
	}
	return c.ID < than.ID
}

// birthdayFacts parses the member's birthday once, and only when a
// birthday campaign asks.
type birthdayFacts struct {
	birthday string
	parsed   bool
	month    int
	day      int
	err      error
}

// near reports the year of the birthday the local date y-m-d is within
// window days of; an anonymous member (no birthday) is near none.
func (b *birthdayFacts) near(y int, m time.Month, d, window int) (int, bool, error) {
	if b.birthday == "" {
		return 0, false, nil
	}
	if !b.parsed {
		bm, bd, err := parseMonthDay(b.birthday)
		b.parsed, b.month, b.day, b.err = true, int(bm), bd, err
	}
	if b.err != nil {
		return 0, false, b.err
	}
	by, ok := birthdayYear(y, m, d, time.Month(b.month), b.day, window)
	return by, ok, nil
}
