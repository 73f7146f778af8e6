package terminal

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// Limits of a load run.
const (
	maxLoadConnections        = 256
	maxLoadTerminals          = 100_000
	maxLoadCards              = 1_000_000
	maxLoadDuration           = time.Hour
	maxLoadRequests           = 1_000_000_000
	maxLoadRate               = 1_000_000 // open loop: requests a second
	defaultLoadLateAfter      = time.Millisecond
	maxRefundablePerTerminal  = 256 // approved purchases a load terminal remembers for refunds
	maxLoadErrorSamples       = 10
	defaultLoadInFlight       = 8
	defaultLoadResponseTimout = 5 * time.Second
	defaultLoadMinAmount      = Fen(100)
	defaultLoadMaxAmount      = Fen(5000)
)

// LoadTerminal is one terminal of a load run.
type LoadTerminal struct {
	TID, MID string
	TMK      []byte // optional: with it the terminal takes its sign-on keys and MACs
	Batch    int    // field 60, default 1
}

// Mix weighs the operations of a load run; all zero means
// purchase 60, balance 20, load 10, refund 10.
type Mix struct {
	Purchase, Balance, Load, Refund int
}

func (m Mix) String() string {
	return fmt.Sprintf("purchase %d, balance %d, load %d, refund %d", m.Purchase, m.Balance, m.Load, m.Refund)
}

// LoadConfig configures RunLoad. Dial, Packager, Terminals, and in mixed
// mode Cards, are required, and Duration or Requests (or both; the first
// reached ends the run).
type LoadConfig struct {
	Dial     DialFunc
	Framing  wire.Framing
	Packager wire.Packager
	TPDU     []byte

	Terminals   []LoadTerminal // spread round-robin over the connections
	Connections int            // M, default 1
	InFlight    int            // K requests in flight per connection, default 8 (open loop: at most K outstanding)
	// Rate, when set, makes the run open-loop (load_open.go): Rate
	// requests a second over all connections on a fixed timetable,
	// latency counted from each request's slot. Zero: closed loop.
	Rate int64
	// LateAfter is how far past its slot an open-loop request may go
	// out before it counts as late (default 1 ms).
	LateAfter time.Duration
	EchoOnly  bool // the baseline: only 0800/301
	Mix       Mix
	Cards     []Card // the card population, picked uniformly
	// Sweep takes the cards in turn instead of at random: the run's
	// n-th request (over all connections) has card n mod len(Cards),
	// so a run of len(Cards) purchases touches every card once (the
	// bench's warm-up).
	Sweep bool

	Duration time.Duration // at most an hour
	Requests int64         // at most 10^9

	MinAmount, MaxAmount Fen // purchase and load amounts, default 1.00..50.00
	Seed                 uint64
	// ResponseTimeout bounds the wait for each answer (default 5 s); a
	// request without one is an error. A load run measures, it does
	// not insist: nothing is sent twice.
	ResponseTimeout time.Duration
	Now             func() time.Time
	Logger          zerolog.Logger
}

// LoadReport is the outcome of a load run.
type LoadReport struct {
	Mode        string // "echo" or "mixed (...)"
	Connections int
	Terminals   int
	InFlight    int
	Rate        int64         // open loop: the offered rate a second (0: closed loop)
	LateAfter   time.Duration // open loop: the lateness counted in Late
	Late        int64         // open loop: requests sent more than LateAfter after their slot
	Missed      int64         // open loop: slots never sent, their connection's backlog full
	Elapsed     time.Duration
	Requests    int64            // requests sent (measured phase)
	Approved    int64            // answered 00
	Declined    map[string]int64 // answered otherwise, by response code
	Errors      int64            // no valid response
	ErrorSample []string         // the first few errors
	ByOp        map[Op]int64
	Throughput  float64 // responses per second
	P50         time.Duration
	P99         time.Duration
	P999        time.Duration
	Max         time.Duration
	Mean        time.Duration
	Latency     *Histogram
}

// loadTerm is a terminal's state during a load run. Several slots may use
// one terminal at once: STANs come from an atomic counter, the purchases
// kept for refunds are under mu.
type loadTerm struct {
	tid, mid string
	batch    string         // field 60
	stan     *atomic.Uint32 // stanCounter(tid): shared by this process's runs
	// tpk and mac are the working keys, prepared once (nil: no keys, no
	// PIN blocks, no MACs).
	tpk cipher.Block
	mac *cardcrypto.MACKey

	mu         sync.Mutex
	refundable []refundable // bounded by maxRefundablePerTerminal
}

type refundable struct {
	rrn       string
	card      int
	remaining Fen
}

// stanCounters are the terminals' STAN counters, one per terminal for
// the whole process: back-to-back runs continue where the last left off
// instead of starting afresh, since a run that reused a STAN the
// previous run sent in the same second (field 7) would be answered 94,
// duplicate transmission. Each starts at a random place, so that
// separate processes against one host rarely meet.
var stanCounters sync.Map // TID → *atomic.Uint32

func stanCounter(tid string) *atomic.Uint32 {
	if c, ok := stanCounters.Load(tid); ok {
		return c.(*atomic.Uint32)
	}
	c := new(atomic.Uint32)
	c.Store(uint32(rand.IntN(maxSTAN)))
	actual, _ := stanCounters.LoadOrStore(tid, c)
	return actual.(*atomic.Uint32)
}

func (lt *loadTerm) nextSTAN() uint32 {
	return (lt.stan.Add(1)-1)%maxSTAN + 1
}

// zeroPad formats v (>= 0) with width digits.
func zeroPad(v int64, width int) string {
	var b [20]byte
	d := strconv.AppendInt(b[:0], v, 10)
	if len(d) >= width {
		return string(d)
	}
	var out [20]byte
	n := width - len(d)
	for i := 0; i < n; i++ {
		out[i] = '0'
	}
	copy(out[n:], d)
	return string(out[:width])
}

// RunLoad signs every terminal on, then sends requests with InFlight in
// flight per connection until Duration passes or Requests have been
// sent, and reports: as fast as answers come (closed loop,
// load_closed.go), or with Rate set on a fixed timetable (open loop,
// load_open.go). The terminals sign on through Clients; the run itself
// goes over connections of its own (load_conn.go). It returns an
// error, and no report, when the configuration is invalid, a sign-on
// fails or a connection cannot be opened.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadReport, error) {
	if err := cfg.check(); err != nil {
		return LoadReport{}, err
	}
	layout, err := layoutOf(cfg.Packager.Name())
	if err != nil {
		return LoadReport{}, fmt.Errorf("load: %w", err)
	}
	perConn := make([][]*loadTerm, cfg.Connections)
	for i, lt := range cfg.Terminals {
		c := i % cfg.Connections
		t := &loadTerm{tid: lt.TID, mid: lt.MID, batch: zeroPad(int64(max(lt.Batch, 1)), 6), stan: stanCounter(lt.TID)}
		perConn[c] = append(perConn[c], t)
	}
	if err := signOnAll(ctx, cfg, perConn); err != nil {
		return LoadReport{}, err
	}
	tracks := make([]string, len(cfg.Cards))
	for i, c := range cfg.Cards {
		tracks[i] = trackOf(c)
	}

	conns, err := dialAll(ctx, cfg.Connections, cfg.Dial)
	defer closeAll(conns)
	if err != nil {
		return LoadReport{}, fmt.Errorf("load: dial: %w", err)
	}
	// The run's end, or its context's, closes the connections: that
	// wakes whatever waits on them.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sweep *atomic.Int64
	if cfg.Sweep {
		sweep = new(atomic.Int64)
	}
	lcs := make([]*loadConn, cfg.Connections)
	for i, c := range conns {
		lcs[i] = newLoadConn(rctx, &cfg, i, c, perConn[i], tracks, layout)
		lcs[i].sweep = sweep
		defer context.AfterFunc(rctx, func() { c.Close() })()
	}

	var elapsed time.Duration
	var missed int64
	if cfg.Rate > 0 {
		missed, elapsed = runOpen(&cfg, lcs)
	} else {
		elapsed = runClosed(&cfg, lcs)
	}
	rep := newLoadReport(&cfg, lcs, elapsed)
	rep.Missed = missed
	if cfg.Rate > 0 {
		rep.LateAfter = cfg.LateAfter
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// checkRunShape checks what every load run (terminals' or raw echo)
// shares: its connections, its depth and its length — a duration, a
// request count, or both.
func checkRunShape(connections, inFlight int, d time.Duration, requests int64) error {
	switch {
	case connections < 1 || connections > maxLoadConnections:
		return fmt.Errorf("connections %d outside 1..%d", connections, maxLoadConnections)
	case inFlight < 1 || inFlight > maxInFlightLimit:
		return fmt.Errorf("in-flight %d outside 1..%d", inFlight, maxInFlightLimit)
	case d <= 0 && requests <= 0:
		return errors.New("a duration or a request count is required")
	case d > maxLoadDuration:
		return fmt.Errorf("duration %s above %s", d, maxLoadDuration)
	case requests < 0 || requests > maxLoadRequests:
		return fmt.Errorf("request count %d outside 0..%d", requests, maxLoadRequests)
	}
	return nil
}

func (cfg *LoadConfig) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("load: "+format, a...)
	}
	if cfg.Dial == nil || cfg.Packager == nil {
		return bad("Dial and Packager are required")
	}
	if cfg.Connections == 0 {
		cfg.Connections = 1
	}
	if cfg.InFlight == 0 {
		cfg.InFlight = defaultLoadInFlight
	}
	if cfg.Framing.Header == "" {
		cfg.Framing.Header = "len2"
	}
	if cfg.Framing.TPDU && cfg.TPDU == nil {
		cfg.TPDU = DefaultTPDU
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = defaultLoadResponseTimout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LateAfter <= 0 {
		cfg.LateAfter = defaultLoadLateAfter
	}
	if cfg.MinAmount == 0 && cfg.MaxAmount == 0 {
		cfg.MinAmount, cfg.MaxAmount = defaultLoadMinAmount, defaultLoadMaxAmount
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = Mix{Purchase: 60, Balance: 20, Load: 10, Refund: 10}
	}
	if err := checkRunShape(cfg.Connections, cfg.InFlight, cfg.Duration, cfg.Requests); err != nil {
		return bad("%v", err)
	}
	switch {
	case len(cfg.Terminals) == 0 || len(cfg.Terminals) > maxLoadTerminals:
		return bad("%d terminals, want 1..%d", len(cfg.Terminals), maxLoadTerminals)
	case len(cfg.Terminals) < cfg.Connections:
		return bad("%d terminals cannot spread over %d connections", len(cfg.Terminals), cfg.Connections)
	case cfg.Framing.Header != "len2" && cfg.Framing.Header != "ascii4":
		return bad("framing %q unknown", cfg.Framing.String())
	case cfg.Framing.TPDU && (len(cfg.TPDU) != 5 || cfg.TPDU[0] != 0x60):
		return bad("TPDU % X is not 60 DDDD SSSS", cfg.TPDU)
	case cfg.Rate < 0 || cfg.Rate > maxLoadRate:
		return bad("rate %d/s outside 0..%d", cfg.Rate, maxLoadRate)
	case cfg.MinAmount < 1 || cfg.MaxAmount < cfg.MinAmount || cfg.MaxAmount > maxAmountFen:
		return bad("amounts %s..%s invalid", cfg.MinAmount, cfg.MaxAmount)
	case cfg.Mix.Purchase < 0 || cfg.Mix.Balance < 0 || cfg.Mix.Load < 0 || cfg.Mix.Refund < 0:
		return bad("negative weight in mix %s", cfg.Mix)
	case !cfg.EchoOnly && (len(cfg.Cards) == 0 || len(cfg.Cards) > maxLoadCards):
		return bad("%d cards, want 1..%d", len(cfg.Cards), maxLoadCards)
	}
	seen := make(map[string]bool, len(cfg.Terminals))
	for _, t := range cfg.Terminals {
		if len(t.TID) != 8 || len(t.MID) != 15 {
			return bad("terminal %q / merchant %q: TID is 8 characters, MID 15", t.TID, t.MID)
		}
		if seen[t.TID] {
			return bad("terminal %s listed twice", t.TID)
		}
		seen[t.TID] = true
		if t.TMK != nil && len(t.TMK) != keyLen {
			return bad("terminal %s: TMK is %d bytes, want %d", t.TID, len(t.TMK), keyLen)
		}
		if t.Batch < 0 || t.Batch > maxBatch {
			return bad("terminal %s: batch %d outside 1..%d", t.TID, t.Batch, maxBatch)
		}
	}
	if !cfg.EchoOnly {
		for _, c := range cfg.Cards {
			if err := c.check(); err != nil {
				return bad("%w", err)
			}
		}
	}
	return nil
}

// signOnAll signs every terminal on through a Client per connection,
// one goroutine each, and keeps the working keys of those with a TMK.
// The Clients are closed when it returns: the run has connections of
// its own, and a sign-on is the terminal's, not its connection's.
func signOnAll(ctx context.Context, cfg LoadConfig, perConn [][]*loadTerm) error {
	tmk := make(map[string][]byte, len(cfg.Terminals))
	for _, t := range cfg.Terminals {
		tmk[t.TID] = t.TMK
	}
	errs := make([]error, len(perConn))
	var wg sync.WaitGroup
	for i, terms := range perConn {
		client, err := NewClient(ClientConfig{
			Dial: cfg.Dial, Framing: cfg.Framing, Packager: cfg.Packager, TPDU: cfg.TPDU,
			MaxInFlight: 1, MaxTries: 1, ResponseTimeout: cfg.ResponseTimeout, Logger: cfg.Logger,
		})
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer client.Close()
			for _, lt := range terms {
				if errs[i] = signOn(ctx, client, cfg.Now(), lt, tmk[lt.tid]); errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// signOn signs lt on (0800/001) and, with a TMK, prepares the working
// keys it brings.
func signOn(ctx context.Context, client *Client, now time.Time, lt *loadTerm, tmk []byte) error {
	m := wire.NewMessage("0800").Set(41, lt.tid).Set(42, lt.mid).Set(70, "001").
		Set(11, zeroPad(int64(lt.nextSTAN()), 6)).Set(7, field7(now))
	resp, err := client.Do(ctx, m)
	if err != nil {
		return fmt.Errorf("load: sign-on of %s: %w", lt.tid, err)
	}
	if rc, _ := resp.Get(39); rc != RCApproved {
		return fmt.Errorf("load: sign-on of %s answered %s (%s)", lt.tid, rc, RCMeaning(rc))
	}
	if tmk == nil {
		return nil
	}
	f62, _ := resp.Get(62)
	keys, err := decryptField62(tmk, []byte(f62))
	if err == nil {
		lt.tpk, err = cardcrypto.TDES(keys.TPK)
	}
	if err == nil {
		lt.mac, err = cardcrypto.NewMACKey(keys.TAK)
	}
	if err != nil {
		return fmt.Errorf("load: sign-on of %s: %w", lt.tid, err)
	}
	return nil
}

// dialAll opens a load run's n connections, each dial bounded by
// DefaultDialTimeout; on an error it returns those opened so far, for
// closeAll.
func dialAll(ctx context.Context, n int, dial func(context.Context) (Conn, error)) ([]Conn, error) {
	conns := make([]Conn, 0, n)
	for range n {
		dctx, cancel := context.WithTimeout(ctx, DefaultDialTimeout)
		c, err := dial(dctx)
		cancel()
		if err != nil {
			return conns, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// closeAll closes a load run's connections.
func closeAll(conns []Conn) {
	for _, c := range conns {
		c.Close()
	}
}
