package ledger

// pace.go: how often the writer hands a group to the committer.

import "time"

// DefaultCommitInterval is the default Options.CommitInterval.
const DefaultCommitInterval = time.Millisecond

// MaxCommitInterval bounds Options.CommitInterval: every answer may
// wait that long for its group to start committing.
const MaxCommitInterval = 100 * time.Millisecond

// commitPacer spaces group commits at least an interval apart, counted
// from one commit's start to the next.
//
// Every group commit is an fsync, and on a virtual disk an fsync is
// not only a wait: it costs ~200 µs of CPU in the kernel whatever it
// carries (measured on the development machine; docs/performance.md).
// Unpaced, a committer that finds the writer's group non-empty whenever
// it is idle syncs as often as the disk allows, a few ops at a time:
// at a moderate load those syncs took a quarter of the host's CPU and
// made the requests queue for the rest. Paced, the syncs a second are
// at most the interval's inverse and an op waits at most the interval
// for its group to start committing.
//
// Waiting only pays when other ops arrive meanwhile, so groups wait
// only while they carry more than one op on average (like PostgreSQL's
// commit_delay, which applies only with commit_siblings active): a lone
// terminal, or an operator's one-by-one changes, whose every group
// holds one op, are committed at once. The average, not the last
// group's size, decides: at a low concurrent load groups of one and of
// a few alternate, and the syncs of the groups of one are what pacing
// saves. A group due after a quiet spell (the interval already past)
// starts at once too, and a full group or a closing writer never waits.
type commitPacer struct {
	interval time.Duration
	now      func() time.Time // the monotonic clock; a test's own
	last     time.Time        // the last commit's start
	// avgOps is the groups' moving average size (exponential, weight
	// 1/8 to the newest), in 1/256 ops.
	avgOps int64
	timer  *time.Timer
	armed  bool // timer runs for the next due time
}

// pacedAvgOps: groups wait while their average size is at least
// 1.25 ops (in 1/256 ops): above what groups of one alone make.
const pacedAvgOps = 320

func newCommitPacer(interval time.Duration) *commitPacer {
	return &commitPacer{interval: interval, now: time.Now, avgOps: 256}
}

// due says whether a group may start committing now.
func (p *commitPacer) due() bool {
	return p.interval <= 0 || p.avgOps < pacedAvgOps || p.now().Sub(p.last) >= p.interval
}

// wait is a channel that receives when the next group is due; the
// writer selects on it with its other work, and calls fired when it
// receives.
func (p *commitPacer) wait() <-chan time.Time {
	if !p.armed {
		d := p.interval - p.now().Sub(p.last)
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		p.armed = true
	}
	return p.timer.C
}

// fired records that the writer received from wait's channel.
func (p *commitPacer) fired() { p.armed = false }

// started records that a group of ops ops started committing now.
func (p *commitPacer) started(ops int) {
	p.last = p.now()
	p.avgOps += (int64(ops)*256 - p.avgOps) / 8
	if p.armed {
		p.timer.Stop() // since Go 1.23 a stopped timer delivers nothing stale
		p.armed = false
	}
}

func (p *commitPacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
