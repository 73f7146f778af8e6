package logguard

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of Config.
const (
	DefaultBurst    = 10
	DefaultInterval = time.Minute
	// maxKinds bounds the counters; kinds are code constants, so this is
	// only a guard against a caller that builds kinds from input.
	maxKinds = 64
	// OtherKind collects the occurrences of kinds past maxKinds.
	OtherKind = "other"
)

// Config configures a Guard; zero fields take the defaults.
type Config struct {
	// Burst is how many lines of one kind are let through per Interval.
	Burst int
	// Interval is the window over which Burst applies.
	Interval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Count is what a Guard has seen of one kind since it was made.
type Count struct {
	// Seen is every occurrence, logged or not.
	Seen int64 `json:"seen"`
	// Suppressed is the occurrences whose line was held back.
	Suppressed int64 `json:"suppressed"`
}

// Guard rate-limits log lines per kind and counts what it holds back. It
// is safe for concurrent use.
type Guard struct {
	cfg   Config
	mu    sync.Mutex
	kinds map[string]*window
}

type window struct {
	start   time.Time
	logged  int   // lines let through in this window
	pending int64 // held back since the last line let through
	total   Count
}

// New makes a Guard.
func New(cfg Config) *Guard {
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Guard{cfg: cfg, kinds: make(map[string]*window)}
}

// Allow records one occurrence of kind and says whether its line may be
// written; when it may, suppressed is how many lines of the kind were held
// back since the last one that was written, for this line to report.
func (g *Guard) Allow(kind string) (ok bool, suppressed int64) {
	now := g.cfg.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	w := g.kinds[kind]
	if w == nil {
		if len(g.kinds) >= maxKinds-1 { // one place is kept for OtherKind
			kind = OtherKind
			w = g.kinds[kind]
		}
		if w == nil {
			w = &window{start: now}
			g.kinds[kind] = w
		}
	}
	w.total.Seen++
	if now.Sub(w.start) >= g.cfg.Interval || now.Before(w.start) {
		w.start, w.logged = now, 0
	}
	if w.logged >= g.cfg.Burst {
		w.pending++
		w.total.Suppressed++
		return false, 0
	}
	w.logged++
	suppressed, w.pending = w.pending, 0
	return true, suppressed
}

// Event records one occurrence of kind and returns l's event at level for
// it, with "event": kind and, when lines were held back before it,
// "suppressed": their number. It returns nil when this line is held back
// (or the level is disabled); zerolog's methods on a nil event do nothing.
func (g *Guard) Event(l *zerolog.Logger, level zerolog.Level, kind string) *zerolog.Event {
	ok, suppressed := g.Allow(kind)
	if !ok {
		return nil
	}
	ev := l.WithLevel(level)
	if ev == nil {
		return nil
	}
	ev = ev.Str("event", kind)
	if suppressed > 0 {
		ev = ev.Int64("suppressed", suppressed)
	}
	return ev
}

// Counts returns a copy of the counters, by kind.
func (g *Guard) Counts() map[string]Count {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]Count, len(g.kinds))
	for k, w := range g.kinds {
		out[k] = w.total
	}
	return out
}
