package logguard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// Within a window only Burst lines of a kind get through; the first line
// of the next window reports how many were held back; other kinds have
// their own budget; the counters hold every occurrence.
func TestGuardLimitsAndCounts(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	g := New(Config{Burst: 3, Interval: time.Minute, Now: clk.Now})
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	for i := 0; i < 1000; i++ {
		g.Event(&log, zerolog.WarnLevel, "refused").Int("i", i).Msg("connection refused")
		clk.now = clk.now.Add(time.Millisecond) // all 1000 within 1 s
	}
	g.Event(&log, zerolog.WarnLevel, "malformed").Msg("bad frame") // its own budget
	clk.now = clk.now.Add(time.Minute)
	g.Event(&log, zerolog.WarnLevel, "refused").Msg("connection refused")
	g.Event(&log, zerolog.WarnLevel, "refused").Msg("connection refused")

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, m)
	}
	var got []string
	for _, m := range lines {
		got = append(got, fmt.Sprintf("%v i=%v suppressed=%v", m["event"], m["i"], m["suppressed"]))
	}
	want := []string{
		"refused i=0 suppressed=<nil>",
		"refused i=1 suppressed=<nil>",
		"refused i=2 suppressed=<nil>",
		"malformed i=<nil> suppressed=<nil>",
		"refused i=<nil> suppressed=997", // the first line of the next minute
		"refused i=<nil> suppressed=<nil>",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c := g.Counts()
	if c["refused"] != (Count{Seen: 1002, Suppressed: 997}) || c["malformed"] != (Count{Seen: 1}) {
		t.Fatalf("counts %+v", c)
	}
}

// A disabled level still counts the occurrence; a nil event is safe to
// chain; a clock that steps back opens a new window rather than a
// window that never ends.
func TestGuardDisabledLevelAndClockStepBack(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	g := New(Config{Burst: 1, Now: clk.Now})
	log := zerolog.New(&bytes.Buffer{}).Level(zerolog.ErrorLevel)
	g.Event(&log, zerolog.InfoLevel, "k").Str("a", "b").Msg("x")
	if ok, _ := g.Allow("k"); ok {
		t.Fatal("second occurrence within the window let through with a burst of 1")
	}
	clk.now = clk.now.Add(-time.Hour)
	if ok, n := g.Allow("k"); !ok || n != 1 {
		t.Fatalf("after the clock stepped back: ok=%v suppressed=%d, want true 1", ok, n)
	}
	if c := g.Counts()["k"]; c.Seen != 3 || c.Suppressed != 1 {
		t.Fatalf("counts %+v", c)
	}
}

// Kinds past the bound share one counter, so the map cannot grow without
// limit.
func TestGuardBoundsKinds(t *testing.T) {
	g := New(Config{})
	for i := 0; i < maxKinds+50; i++ {
		g.Allow(fmt.Sprintf("k%d", i))
	}
	c := g.Counts()
	if len(c) != maxKinds || c[OtherKind].Seen != 51 {
		t.Fatalf("%d kinds, other=%+v", len(c), c[OtherKind])
	}
}
