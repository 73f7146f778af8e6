package loyalty

import (
	"fmt"
	"time"
)

// The calendar the rules count in. Visits, birthdays and campaign
// windows are local dates in the program's time zone, written
// YYYY-MM-DD; day arithmetic is on civil day numbers (days since
// 1970-01-01 in the proleptic Gregorian calendar), so daylight saving
// and the instant's offset never shift a date.

// dateLayout is the one spelling of a local date in rules and facts.
const dateLayout = "2006-01-02"

// dayNumber is the civil day number of y-m-d; time.Date normalises an
// out-of-range day, callers pass real dates.
//
// It is the proleptic Gregorian day count of y-m-d (1970-01-01 is 0) by
// integer arithmetic alone, as time.Date(y, m, d, 0, 0, 0, 0,
// time.UTC).Unix()/86400 gives for a valid date (TestDayNumber), without
// time.Date's normalisation: every earning near a birthday asks for four.
// March-based years put the leap day last; an era is 400 years (146,097
// days).
func dayNumber(y int, m time.Month, d int) int64 {
	yy, mm, dd := int64(y), int64(m), int64(d)
	if mm <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era-- // floor division for years before 0
	}
	yoe := yy - era*400                    // [0, 399]
	mp := (mm + 9) % 12                    // March = 0
	doy := (153*mp+2)/5 + dd - 1           // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn is the length of month m in a leap year (Feb 29 is a birthday).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// parseMonthDay reads a birthday, MM-DD or YYYY-MM-DD; the year is not
// used. The value is personal data and stays out of the error.
func parseMonthDay(s string) (time.Month, int, error) {
	if len(s) == 10 && s[4] == '-' && digits(s[:4]) {
		s = s[5:]
	}
	if len(s) != 5 || s[2] != '-' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, 0, fmt.Errorf("member birthday: want MM-DD or YYYY-MM-DD: %w", ErrInvalid)
	}
	m, d := atoi2(s[:2]), atoi2(s[3:])
	if m < 1 || m > 12 || d < 1 || d > daysIn[m] {
		return 0, 0, fmt.Errorf("member birthday: no such date: %w", ErrInvalid)
	}
	return time.Month(m), d, nil
}

// birthdayYear says whether the local date (y, m, d) lies within window
// days of the birthday bm-bd, and the year of the birthday it is near: a
// birthday on 01-02 with a window of 5 covers 2025-12-28, near the
// birthday of 2026. A Feb 29 birthday falls on Feb 28 in other years.
// The closest birthday wins when windows overlap (window >= 183).
func birthdayYear(y int, m time.Month, d int, bm time.Month, bd, window int) (int, bool) {
	today := dayNumber(y, m, d)
	best, bestDiff := 0, int64(-1)
	for by := y - 1; by <= y+1; by++ {
		dd := bd
		if bm == time.February && bd == 29 && !isLeap(by) {
			dd = 28
		}
		diff := today - dayNumber(by, bm, dd)
		if diff < 0 {
			diff = -diff
		}
		if diff <= int64(window) && (bestDiff < 0 || diff < bestDiff) {
			best, bestDiff = by, diff
		}
	}
	return best, bestDiff >= 0
}

// visitNumber is the visit number of a purchase on the local date today
// (YYYY-MM-DD): the count of distinct dates in today's calendar month,
// up to and including today, among dates and today itself. Dates of
// other months are ignored (the month rolls over), a date repeated or
// equal to today counts once. A date that is not YYYY-MM-DD is an error
// naming it.
func visitNumber(today string, dates []string) (int, error) {
	var seen [32]bool
	for _, v := range dates {
		if len(v) != 10 || v[4] != '-' || v[7] != '-' || !digits(v[:4]) || !digits(v[5:7]) || !digits(v[8:]) {
			return 0, fmt.Errorf("member visit date %q: want YYYY-MM-DD: %w", v, ErrInvalid)
		}
		if v[:8] != today[:8] || v > today {
			continue
		}
		day := atoi2(v[8:])
		if day < 1 || day > 31 {
			return 0, fmt.Errorf("member visit date %q: no such day: %w", v, ErrInvalid)
		}
		seen[day] = true
	}
	seen[atoi2(today[8:])] = true
	n := 0
	for _, s := range seen {
		if s {
			n++
		}
	}
	return n, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi2 reads two decimal digits already checked by digits.
func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
