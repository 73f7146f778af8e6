package gateway

import (
	"testing"
	"time"
)

// TestDeadlineKeep: a deadline in force stands for a wanted one only
// when it is earlier by at most a sixteenth of the timeout; a later one
// (an idle deadline where a frame's is wanted), none, or one set to
// "none" is always replaced.
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
		{"a sixteenth earlier", deadline{at: want.Add(-time.Second), set: true}, true},
		{"more than a sixteenth earlier", deadline{at: want.Add(-time.Second - 1), set: true}, false},
		{"later", deadline{at: want.Add(1), set: true}, false},
	} {
		if got := c.d.keep(want, timeout); got != c.keep {
			t.Errorf("%s: keep = %v, want %v", c.name, got, c.keep)
		}
	}
}
