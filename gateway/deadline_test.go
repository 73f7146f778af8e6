package gateway

import (
	"testing"
	"time"
)

// TestDeadlineKeep: a deadline in force stands for a wanted one only
// when it is not earlier and later by at most a sixteenth of the
// timeout; an earlier one (a frame's where an idle one is wanted), a much
// later one (an idle one where a frame's is wanted), none, or one set to
// "none" is replaced. A deadline is never shorter than its timeout.
func TestDeadlineKeep(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	const timeout = 16 * time.Second
	want := t0.Add(timeout)
	for _, c := range []struct {
		name string
		d    deadline
		keep bool
	}{
		{"never set", deadline{}, false},
		{"set to none", deadline{set: true}, false},
		{"the same", deadline{at: want, set: true}, true},
		{"a sixteenth later", deadline{at: want.Add(time.Second), set: true}, true},
		{"more than a sixteenth later", deadline{at: want.Add(time.Second + 1), set: true}, false},
		{"earlier", deadline{at: want.Add(-1), set: true}, false},
	} {
		if got := c.d.keep(want, timeout); got != c.keep {
			t.Errorf("%s: keep = %v, want %v", c.name, got, c.keep)
		}
	}
	// What is set stands for the wanted deadlines of the next sixteenth
	// of the timeout, and no longer.
	set := deadline{at: slackDeadline(t0, timeout), set: true}
	for _, c := range []struct {
		after time.Duration
		keep  bool
	}{{0, true}, {time.Second, true}, {time.Second + 1, false}} {
		if got := set.keep(t0.Add(c.after).Add(timeout), timeout); got != c.keep {
			t.Errorf("%v after it was set: keep = %v, want %v", c.after, got, c.keep)
		}
	}
}
