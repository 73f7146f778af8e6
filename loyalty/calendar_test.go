package loyalty

import (
	"testing"
	"time"
)

// TestDayNumber checks the arithmetic day count against time.Date for
// every day of ten centuries (leap and century years included) and the
// first days of the era before year 0.
func TestDayNumber(t *testing.T) {
	check := func(at time.Time) {
		t.Helper()
		y, m, d := at.Date()
		if got, want := dayNumber(y, m, d), at.Unix()/86400; got != want {
			t.Fatalf("dayNumber(%d-%02d-%02d) = %d, time.Date says %d", y, m, d, got, want)
		}
	}
	for at := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < 2600; at = at.AddDate(0, 0, 1) {
		check(at)
	}
	for at := time.Date(-801, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() < -798; at = at.AddDate(0, 0, 1) {
		// Unix()/86400 truncates towards zero: compare on midnights only,
		// where it is exact.
		check(at)
	}
}
