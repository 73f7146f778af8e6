package ledger

// membership.go: the membership record of a card (mbr/<pan>) and the
// lot uses of a journal entry (LotUse), in the binary style of
// codec.go. The wallet (wal/<pan>) is wallet.go's.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

// Limits on a card's loyalty records: every list in them is fed by
// transactions, so each has a bound.
const (
	// maxTierHistory: tier changes kept, oldest dropped first.
	maxTierHistory = 32
	// maxMerchantsSeen: merchants remembered for first-visit bonuses.
	// Past it the card counts as having seen every merchant (MerchantsFull):
	// no more first-visit bonuses, since points are never given on a fact
	// the ledger no longer holds.
	maxMerchantsSeen = 256
	// maxSpendMonths: monthly spend buckets kept, the longest tier window
	// loyalty.Rules.Validate allows (24 months).
	maxSpendMonths = 24
	// maxVisitDays: the visit dates of one calendar month.
	maxVisitDays = 31
)

// TierChange is one move of a member's tier.
type TierChange struct {
	At       int64  // unix nanoseconds
	From, To int    // tier indexes
	Seq      uint64 // the journal entry that moved it (0: a review)
}

// MonthSpend is the eligible spend of one local calendar month (yyyymm),
// net of refunds and undos: it may be negative.
type MonthSpend struct {
	Month  uint32
	Amount Amount
}

// Membership is a card's loyalty facts (mbr/<pan>): the tier and its
// history, this month's visits, the merchants seen, the birthday bonus
// year and the spend the tier follows. Months and dates are local to
// the store's business zone (Options.Location), the program's time zone.
type Membership struct {
	Tier        int
	TierHistory []TierChange
	// VisitMonth (yyyymm) and VisitDays: the distinct local days of the
	// month with a visit.
	VisitMonth        uint32
	VisitDays         []uint8
	BirthdayBonusYear int
	Spend             []MonthSpend // ascending months, at most maxSpendMonths
	LifetimeSpend     Amount
	LifetimeVisits    int64
	// ReviewedMonth (yyyymm) is the last month the monthly tier review
	// (ReviewTiers) applied to this card: a rerun of that month, or of
	// an earlier one, changes nothing. 0: never reviewed. Record
	// version 2 carries it.
	ReviewedMonth uint32

	// legacyVisited are the merchants seen that a version 1 or 2 record
	// held (since version 3 they are mbv/<pan>, visited.go); writing the
	// membership moves them there (moveLegacyVisited).
	legacyVisited *visitedMerchants
}

func yyyymm(t time.Time) uint32 { return uint32(t.Year()*100 + int(t.Month())) }

// monthsBefore is the month n months before m (both yyyymm).
func monthsBefore(m uint32, n int) uint32 {
	total := int(m/100)*12 + int(m%100) - 1 - n
	return uint32((total/12)*100 + total%12 + 1)
}

// visitDatesInto renders month's visits as the loyalty engine's dates
// (none for another month), written into out, with the dates' text
// from md (rebuilt when month is not md's): every purchase of a program
// with rules asks for these, and the writer's earnings of a month then
// share one string of its dates.
func (m *Membership) visitDatesInto(md *monthDates, out *[maxVisitDays]string, month uint32) []string {
	if m.VisitMonth != month || len(m.VisitDays) == 0 {
		return nil
	}
	n := min(len(m.VisitDays), len(out)) // decode allows no more
	for i, d := range m.VisitDays[:n] {
		out[i] = md.of(month, d)
	}
	return out[:n]
}

// monthDates is the text (YYYY-MM-DD) of every day 1..31 of one month,
// in one string: a day that month lacks (Feb 30) is spelled anyway, as
// recorded; the rules compare dates as text and refuse what is not a
// date.
type monthDates struct {
	month uint32
	all   string
}

const dateLen = len("2006-01-02")

// of is the text of day of month. A day outside 1..31 (a corrupt
// record) is spelled as it is, for the rules to refuse with its value.
func (md *monthDates) of(month uint32, day uint8) string {
	if day < 1 || day > 31 {
		return string(appendDate(nil, month, day))
	}
	if md.month != month || md.all == "" {
		buf := make([]byte, 0, 31*dateLen)
		for d := byte(1); d <= 31; d++ {
			buf = appendDate(buf, month, d)
		}
		md.month, md.all = month, string(buf)
	}
	i := int(day-1) * dateLen
	return md.all[i : i+dateLen]
}

// appendDate spells day of month (yyyymm) as YYYY-MM-DD.
func appendDate(b []byte, month uint32, day uint8) []byte {
	y, mo := month/100, month%100
	return append(b, byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10%10), byte('0'+mo%10), '-', '0'+day/10, '0'+day%10)
}

// recordVisit adds a visit on local day day of month; a new date counts
// in the lifetime visits.
func (m *Membership) recordVisit(month uint32, day int) {
	if m.VisitMonth != month {
		m.VisitMonth, m.VisitDays = month, nil
	}
	if slices.Contains(m.VisitDays, uint8(day)) || len(m.VisitDays) >= maxVisitDays {
		return
	}
	m.VisitDays = append(m.VisitDays, uint8(day))
	m.LifetimeVisits++
}

// addSpend adds delta to month's bucket; a month older than the kept
// window (a refund of an old purchase) changes no bucket. Buckets older
// than maxSpendMonths before now are dropped.
func (m *Membership) addSpend(now, month uint32, delta Amount) error {
	oldest := monthsBefore(now, maxSpendMonths-1)
	m.Spend = slices.DeleteFunc(m.Spend, func(s MonthSpend) bool { return s.Month < oldest })
	if month < oldest || month > now {
		return nil
	}
	i, found := slices.BinarySearchFunc(m.Spend, month, func(s MonthSpend, t uint32) int { return int(s.Month) - int(t) })
	if !found {
		m.Spend = slices.Insert(m.Spend, i, MonthSpend{Month: month})
	}
	v, err := m.Spend[i].Amount.Add(delta)
	if err != nil {
		return fmt.Errorf("spend of month %d: %w", month, err)
	}
	m.Spend[i].Amount = v
	return nil
}

// buckets are the window's months ending with now, oldest first, a
// month without spend counting 0.
func (m *Membership) buckets(now uint32, window int) []Amount {
	return m.bucketsInto(&spendWindow{}, now, window)
}

// spendWindow holds the buckets of the longest tier window the rules
// allow, so that a decision's tier check needs no allocation.
type spendWindow [loyalty.MaxTierWindowMonths]Amount

// bucketsInto is buckets written into w (a window longer than w's
// months is cut to them: Validate refuses such rules).
func (m *Membership) bucketsInto(w *spendWindow, now uint32, window int) []Amount {
	if window <= 0 {
		return nil
	}
	out := w[:min(window, len(w))]
	for i := range out {
		month := monthsBefore(now, window-1-i)
		for _, s := range m.Spend {
			if s.Month == month {
				out[i] = s.Amount
			}
		}
	}
	return out
}

func (m *Membership) setTier(to int, at int64, seq uint64) {
	if to == m.Tier {
		return
	}
	m.TierHistory = append(m.TierHistory, TierChange{At: at, From: m.Tier, To: to, Seq: seq})
	if len(m.TierHistory) > maxTierHistory {
		m.TierHistory = m.TierHistory[len(m.TierHistory)-maxTierHistory:]
	}
	m.Tier = to
}

// encode writes version 3: version 2's fields without the merchants
// seen (visited.go).
func (m *Membership) encode(e *encoder) {
	e.u8(3)
	e.uv(uint64(m.Tier))
	e.uv(uint64(len(m.TierHistory)))
	for _, h := range m.TierHistory {
		e.iv(h.At)
		e.uv(uint64(h.From))
		e.uv(uint64(h.To))
		e.uv(h.Seq)
	}
	e.uv(uint64(m.VisitMonth))
	e.bytes(m.VisitDays)
	e.iv(int64(m.BirthdayBonusYear))
	e.uv(uint64(len(m.Spend)))
	for _, s := range m.Spend {
		e.uv(uint64(s.Month))
		e.iv(int64(s.Amount))
	}
	e.iv(int64(m.LifetimeSpend))
	e.iv(m.LifetimeVisits)
	e.uv(uint64(m.ReviewedMonth))
}

// decode sets m to b's membership. The arrays of m's lists are reused
// where they have room (the writer decodes every purchase's membership
// into the same one: decision.spareMembership); nothing else of m stays.
func (m *Membership) decode(b []byte) error {
	d := decoder{b: b}
	version := d.u8()
	if version < 1 || version > 3 {
		d.fail()
	}
	history, days, spend := m.TierHistory[:0], m.VisitDays[:0], m.Spend[:0]
	*m = Membership{Tier: int(d.uv())}
	n := d.uv()
	if n > maxTierHistory || m.Tier > loyalty.MaxTiers {
		d.fail()
		n = 0
	}
	if n > 0 {
		m.TierHistory = slices.Grow(history, int(n))
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.TierHistory = append(m.TierHistory, TierChange{At: d.iv(), From: int(d.uv()), To: int(d.uv()), Seq: d.uv()})
	}
	m.VisitMonth = uint32(d.uv())
	if v := d.view(); len(v) > 0 {
		m.VisitDays = append(days, v...)
	}
	if len(m.VisitDays) > maxVisitDays {
		d.fail()
	}
	if version < 3 {
		n = d.uv()
		if n > maxMerchantsSeen {
			d.fail()
			n = 0
		}
		v := &visitedMerchants{MIDs: decodeStrings(&d, n), Full: d.boolean()}
		if len(v.MIDs) > 0 || v.Full {
			m.legacyVisited = v
		}
	}
	m.BirthdayBonusYear = int(d.iv())
	n = d.uv()
	if n > maxSpendMonths {
		d.fail()
		n = 0
	}
	if n > 0 {
		m.Spend = slices.Grow(spend, int(n)+1) // +1: this month's bucket, when new
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		m.Spend = append(m.Spend, MonthSpend{Month: uint32(d.uv()), Amount: Amount(d.iv())})
	}
	m.LifetimeSpend = Amount(d.iv())
	m.LifetimeVisits = d.iv()
	if version >= 2 {
		m.ReviewedMonth = uint32(d.uv())
	}
	return d.done("membership")
}

// LotUse is points a journal entry took from one lot (a redemption, a
// refund's take-back, an undo of an earning), with the lot's dates, so
// that undoing the entry gives them back to the same lot, or to a lot
// like it if that one is gone.
type LotUse struct {
	Seq      uint64
	Points   Points
	EarnedAt int64
	Expires  int64 // 0: never
}

func encodeUses(e *encoder, uses []LotUse) {
	e.uv(uint64(len(uses)))
	for _, u := range uses {
		e.uv(u.Seq)
		e.iv(int64(u.Points))
		e.iv(u.EarnedAt)
		e.iv(u.Expires)
	}
}

func decodeUses(d *decoder) []LotUse {
	n := d.uv()
	if n > loyalty.MaxLots {
		d.fail()
		return nil
	}
	var uses []LotUse
	for i := uint64(0); i < n && d.err == nil; i++ {
		uses = append(uses, LotUse{Seq: d.uv(), Points: Points(d.iv()), EarnedAt: d.iv(), Expires: d.iv()})
	}
	return uses
}

// decodeStrings reads n length-prefixed strings into one allocation
// that they share: a membership holds up to maxMerchantsSeen merchant
// IDs and is read on every purchase of a program with rules.
func decodeStrings(d *decoder, n uint64) []string {
	if n == 0 || d.err != nil {
		return nil
	}
	views := make([][]byte, 0, n)
	total := 0
	for i := uint64(0); i < n && d.err == nil; i++ {
		v := d.view()
		views = append(views, v)
		total += len(v)
	}
	if d.err != nil {
		return nil
	}
	var b strings.Builder
	b.Grow(total)
	for _, v := range views {
		b.Write(v)
	}
	joined := b.String()
	out := make([]string, n)
	for i, v := range views {
		out[i], joined = joined[:len(v)], joined[len(v):]
	}
	return out
}
