package terminal

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
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
	InFlight    int            // K requests in flight per connection, default 8
	EchoOnly    bool           // the baseline: only 0800/301
	Mix         Mix
	Cards       []Card // the card population, picked uniformly

	Duration time.Duration // at most an hour
	Requests int64         // at most 10^9

	MinAmount, MaxAmount Fen // purchase and load amounts, default 1.00..50.00
	Seed                 uint64
	ResponseTimeout      time.Duration // per try, default 5 s
	MaxTries             int           // default 1: a load run measures, it does not insist
	Now                  func() time.Time
	Logger               zerolog.Logger
}

// LoadReport is the outcome of a load run.
type LoadReport struct {
	Mode        string // "echo" or "mixed (...)"
	Connections int
	Terminals   int
	InFlight    int
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
	Retransmits uint64
	Latency     *Histogram
}

// loadTerm is a terminal's state during a load run. Several workers may use
// one terminal at once: STANs come from an atomic counter, the purchases
// kept for refunds are under mu.
type loadTerm struct {
	tid, mid string
	batch    string // field 60
	client   *Client
	stan     atomic.Uint32
	// tpk is the working TPK with its key schedule made once (nil: no
	// keys, no PIN blocks).
	tpk cipher.Block

	mu         sync.Mutex
	refundable []refundable // bounded by maxRefundablePerTerminal
}

type refundable struct {
	rrn       string
	card      int
	remaining Fen
}

func (lt *loadTerm) nextSTAN() string {
	n := (lt.stan.Add(1)-1)%maxSTAN + 1
	return zeroPad(int64(n), 6)
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

// RunLoad signs every terminal on, then sends requests from InFlight workers
// per connection until Duration passes or Requests have been sent, and
// reports. It returns an error, and no report, when the configuration is
// invalid or a sign-on fails.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadReport, error) {
	if err := cfg.check(); err != nil {
		return LoadReport{}, err
	}
	clients := make([]*Client, cfg.Connections)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range clients {
		c, err := NewClient(ClientConfig{
			Dial: cfg.Dial, Framing: cfg.Framing, Packager: cfg.Packager, TPDU: cfg.TPDU,
			MaxInFlight: cfg.InFlight, MaxTries: cfg.MaxTries, ResponseTimeout: cfg.ResponseTimeout,
			Logger: cfg.Logger,
		})
		if err != nil {
			return LoadReport{}, err
		}
		clients[i] = c
	}
	perConn := make([][]*loadTerm, cfg.Connections)
	for i, lt := range cfg.Terminals {
		c := i % cfg.Connections
		t := &loadTerm{tid: lt.TID, mid: lt.MID, batch: zeroPad(int64(max(lt.Batch, 1)), 6), client: clients[c]}
		// Start each terminal's STANs at a different place every run so that
		// runs in the same second do not collide in the host's duplicate check.
		t.stan.Store(uint32(rand.IntN(maxSTAN)))
		perConn[c] = append(perConn[c], t)
	}
	if err := signOnAll(ctx, cfg, perConn); err != nil {
		return LoadReport{}, err
	}
	tracks := make([]string, len(cfg.Cards))
	for i, c := range cfg.Cards {
		svc := c.ServiceCode
		if svc == "" {
			svc = defaultServiceCode
		}
		tracks[i] = c.PAN + "=" + c.Expiry + svc + c.Discretionary
	}

	var budget *atomic.Int64
	if cfg.Requests > 0 {
		budget = new(atomic.Int64)
		budget.Store(cfg.Requests)
	}
	stop := make(chan struct{})
	var workers []*loadWorker
	var wg sync.WaitGroup
	start := time.Now()
	for c, terms := range perConn {
		if len(terms) == 0 {
			continue
		}
		for k := 0; k < cfg.InFlight; k++ {
			w := &loadWorker{
				cfg: &cfg, client: clients[c], terms: terms, next: k, tracks: tracks,
				rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(c)<<32|uint64(k))),
				msg:      wire.NewMessage("0800"),
				declined: map[string]int64{},
				byOp:     map[Op]int64{},
			}
			workers = append(workers, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(ctx, stop, budget)
			}()
		}
	}
	var timer *time.Timer
	if cfg.Duration > 0 {
		timer = time.AfterFunc(cfg.Duration, func() { close(stop) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if timer != nil {
		timer.Stop() // if it has not fired, stop stays open: no one waits on it any more
	}

	rep := LoadReport{
		Mode: "mixed (" + cfg.Mix.String() + ")", Connections: cfg.Connections, Terminals: len(cfg.Terminals),
		InFlight: cfg.InFlight, Elapsed: elapsed, Declined: map[string]int64{}, ByOp: map[Op]int64{},
		Latency: new(Histogram),
	}
	if cfg.EchoOnly {
		rep.Mode = "echo"
	}
	for _, w := range workers {
		rep.Requests += w.requests
		rep.Approved += w.approved
		rep.Errors += w.errors
		for rc, n := range w.declined {
			rep.Declined[rc] += n
		}
		for op, n := range w.byOp {
			rep.ByOp[op] += n
		}
		for _, e := range w.errSample {
			if len(rep.ErrorSample) < maxLoadErrorSamples {
				rep.ErrorSample = append(rep.ErrorSample, e)
			}
		}
		rep.Latency.Merge(&w.hist)
	}
	for _, c := range clients {
		rep.Retransmits += c.Stats().Retransmits
	}
	if s := elapsed.Seconds(); s > 0 {
		rep.Throughput = float64(rep.Latency.Count()) / s
	}
	rep.P50, rep.P99, rep.P999 = rep.Latency.Quantile(0.50), rep.Latency.Quantile(0.99), rep.Latency.Quantile(0.999)
	rep.Max, rep.Mean = rep.Latency.Max(), rep.Latency.Mean()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
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
	if cfg.MaxTries == 0 {
		cfg.MaxTries = 1
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = defaultLoadResponseTimout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinAmount == 0 && cfg.MaxAmount == 0 {
		cfg.MinAmount, cfg.MaxAmount = defaultLoadMinAmount, defaultLoadMaxAmount
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = Mix{Purchase: 60, Balance: 20, Load: 10, Refund: 10}
	}
	switch {
	case cfg.Connections < 1 || cfg.Connections > maxLoadConnections:
		return bad("connections %d outside 1..%d", cfg.Connections, maxLoadConnections)
	case cfg.InFlight < 1 || cfg.InFlight > maxInFlightLimit:
		return bad("in-flight %d outside 1..%d", cfg.InFlight, maxInFlightLimit)
	case len(cfg.Terminals) == 0 || len(cfg.Terminals) > maxLoadTerminals:
		return bad("%d terminals, want 1..%d", len(cfg.Terminals), maxLoadTerminals)
	case len(cfg.Terminals) < cfg.Connections:
		return bad("%d terminals cannot spread over %d connections", len(cfg.Terminals), cfg.Connections)
	case cfg.Duration <= 0 && cfg.Requests <= 0:
		return bad("a duration or a request count is required")
	case cfg.Duration > maxLoadDuration:
		return bad("duration %s above %s", cfg.Duration, maxLoadDuration)
	case cfg.Requests < 0 || cfg.Requests > maxLoadRequests:
		return bad("request count %d outside 0..%d", cfg.Requests, maxLoadRequests)
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

// signOnAll signs every terminal on, one goroutine per connection.
func signOnAll(ctx context.Context, cfg LoadConfig, perConn [][]*loadTerm) error {
	tmk := make(map[string][]byte, len(cfg.Terminals))
	for _, t := range cfg.Terminals {
		tmk[t.TID] = t.TMK
	}
	errs := make([]error, len(perConn))
	var wg sync.WaitGroup
	for i, terms := range perConn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, lt := range terms {
				m := wire.NewMessage("0800").Set(41, lt.tid).Set(42, lt.mid).Set(70, "001").
					Set(11, lt.nextSTAN()).Set(7, field7(cfg.Now()))
				resp, err := lt.client.Do(ctx, m)
				if err != nil {
					errs[i] = fmt.Errorf("load: sign-on of %s: %w", lt.tid, err)
					return
				}
				if rc, _ := resp.Get(39); rc != RCApproved {
					errs[i] = fmt.Errorf("load: sign-on of %s answered %s (%s)", lt.tid, rc, RCMeaning(rc))
					return
				}
				if k := tmk[lt.tid]; k != nil {
					f62, _ := resp.Get(62)
					keys, err := decryptField62(k, []byte(f62))
					if err != nil {
						errs[i] = fmt.Errorf("load: sign-on of %s: %w", lt.tid, err)
						return
					}
					if lt.tpk, err = cardcrypto.TDES(keys.TPK); err != nil {
						errs[i] = fmt.Errorf("load: sign-on of %s: %w", lt.tid, err)
						return
					}
					lt.client.SetTAK(lt.tid, keys.TAK)
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loadWorker keeps one request in flight at a time; a connection has
// InFlight of them. Everything it counts is its own until the run ends.
type loadWorker struct {
	cfg    *LoadConfig
	client *Client
	terms  []*loadTerm
	next   int
	tracks []string
	rng    *rand.Rand
	msg    *wire.Message // reused for every request

	f7Sec                      int64
	f7                         string
	hist                       Histogram
	requests, approved, errors int64
	declined                   map[string]int64
	byOp                       map[Op]int64
	errSample                  []string
}

func (w *loadWorker) field7() string {
	now := w.cfg.Now()
	if s := now.Unix(); s != w.f7Sec || w.f7 == "" {
		w.f7Sec, w.f7 = s, field7(now)
	}
	return w.f7
}

func (w *loadWorker) amount() Fen {
	lo, hi := w.cfg.MinAmount, w.cfg.MaxAmount
	return lo + Fen(w.rng.Int64N(int64(hi-lo)+1))
}

func (w *loadWorker) pickOp() Op {
	if w.cfg.EchoOnly {
		return OpEcho
	}
	m := w.cfg.Mix
	total := m.Purchase + m.Balance + m.Load + m.Refund
	if total == 0 {
		return OpPurchase
	}
	r := w.rng.IntN(total)
	switch {
	case r < m.Purchase:
		return OpPurchase
	case r < m.Purchase+m.Balance:
		return OpBalance
	case r < m.Purchase+m.Balance+m.Load:
		return OpLoad
	}
	return OpRefund
}

func (w *loadWorker) run(ctx context.Context, stop <-chan struct{}, budget *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if budget != nil && budget.Add(-1) < 0 {
			return
		}
		lt := w.terms[w.next%len(w.terms)]
		w.next++
		w.one(ctx, lt)
	}
}

// one builds, sends and accounts one request.
func (w *loadWorker) one(ctx context.Context, lt *loadTerm) {
	op := w.pickOp()
	m := w.msg
	clear(m.Fields)
	m.Set(41, lt.tid).Set(42, lt.mid).Set(11, lt.nextSTAN()).Set(7, w.field7())
	card := -1
	var amount Fen
	var refundOf *refundable
	if op == OpRefund {
		lt.mu.Lock()
		if n := len(lt.refundable); n > 0 {
			i := w.rng.IntN(n)
			r := lt.refundable[i]
			amount = r.remaining
			if amount > 1 {
				amount = 1 + Fen(w.rng.Int64N(int64(amount)))
			}
			r.remaining -= amount
			if r.remaining == 0 {
				lt.refundable[i] = lt.refundable[n-1]
				lt.refundable = lt.refundable[:n-1]
			} else {
				lt.refundable[i] = r
			}
			refundOf = &r
			card = r.card
		}
		lt.mu.Unlock()
		if refundOf == nil {
			op = OpPurchase // nothing to refund yet
		}
	}
	switch op {
	case OpEcho:
		m.MTI = "0800"
		m.Set(70, "301")
	case OpBalance:
		m.MTI = "0100"
		m.Set(3, pcBalance)
	case OpPurchase, OpLoad, OpRefund:
		m.MTI = "0200"
		if amount == 0 {
			amount = w.amount()
		}
		m.Set(4, zeroPad(int64(amount), 12)).Set(49, currencyCNY)
		switch op {
		case OpPurchase:
			m.Set(3, pcGoods)
		case OpLoad:
			m.Set(3, pcLoad)
		case OpRefund:
			m.Set(3, pcRefund).Set(37, refundOf.rrn)
		}
	}
	if op != OpEcho {
		if card < 0 {
			card = w.rng.IntN(len(w.cfg.Cards))
		}
		c := w.cfg.Cards[card]
		if c.Manual {
			m.Set(2, c.PAN).Set(14, c.Expiry).Set(22, "012")
		} else {
			m.Set(35, w.tracks[card]).Set(22, "021")
		}
		m.Set(25, "00").Set(60, lt.batch)
		if c.PIN != "" && lt.tpk != nil {
			if blk, err := cardcrypto.EncryptPINBlockWith(lt.tpk, c.PIN, c.PAN); err == nil {
				m.Set(52, string(blk))
			}
		}
	}
	w.requests++
	w.byOp[op]++
	start := time.Now()
	resp, err := w.client.Do(ctx, m)
	lat := time.Since(start)
	if err != nil {
		w.errors++
		if len(w.errSample) < maxLoadErrorSamples {
			w.errSample = append(w.errSample, err.Error())
		}
		return
	}
	w.hist.Record(lat)
	rc, _ := resp.Get(39)
	if rc != RCApproved {
		w.declined[rc]++
		if refundOf != nil {
			w.giveBack(lt, *refundOf, amount)
		}
		return
	}
	w.approved++
	if op == OpPurchase {
		if rrn, ok := resp.Get(37); ok {
			lt.mu.Lock()
			r := refundable{rrn: rrn, card: card, remaining: amount}
			if len(lt.refundable) < maxRefundablePerTerminal {
				lt.refundable = append(lt.refundable, r)
			} else {
				lt.refundable[w.rng.IntN(len(lt.refundable))] = r
			}
			lt.mu.Unlock()
		}
	}
}

// giveBack returns the amount of a declined refund to its purchase, if the
// purchase is still remembered.
func (w *loadWorker) giveBack(lt *loadTerm, r refundable, amount Fen) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for i := range lt.refundable {
		if lt.refundable[i].rrn == r.rrn {
			lt.refundable[i].remaining += amount
			return
		}
	}
	if len(lt.refundable) < maxRefundablePerTerminal {
		r.remaining = amount
		lt.refundable = append(lt.refundable, r)
	}
}

// FormatReport formats a load report for people.
func FormatReport(r LoadReport) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "mode         %s\n", r.Mode)
	fmt.Fprintf(&sb, "terminals    %d over %d connection(s), %d in flight each\n", r.Terminals, r.Connections, r.InFlight)
	fmt.Fprintf(&sb, "elapsed      %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&sb, "requests     %d (approved %d, declined %d, errors %d, retransmits %d)\n",
		r.Requests, r.Approved, sumDeclined(r.Declined), r.Errors, r.Retransmits)
	if len(r.ByOp) > 0 {
		ops := make([]string, 0, len(r.ByOp))
		for op := range r.ByOp {
			ops = append(ops, string(op))
		}
		sort.Strings(ops)
		parts := make([]string, len(ops))
		for i, op := range ops {
			parts[i] = fmt.Sprintf("%s %d", op, r.ByOp[Op(op)])
		}
		fmt.Fprintf(&sb, "by op        %s\n", strings.Join(parts, ", "))
	}
	if len(r.Declined) > 0 {
		rcs := make([]string, 0, len(r.Declined))
		for rc := range r.Declined {
			rcs = append(rcs, rc)
		}
		sort.Strings(rcs)
		parts := make([]string, len(rcs))
		for i, rc := range rcs {
			parts[i] = fmt.Sprintf("%s %s: %d", rc, RCMeaning(rc), r.Declined[rc])
		}
		fmt.Fprintf(&sb, "declined     %s\n", strings.Join(parts, "; "))
	}
	fmt.Fprintf(&sb, "throughput   %.1f/s\n", r.Throughput)
	fmt.Fprintf(&sb, "latency      p50 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		roundLat(r.P50), roundLat(r.P99), roundLat(r.P999), roundLat(r.Max), roundLat(r.Mean))
	for _, e := range r.ErrorSample {
		fmt.Fprintf(&sb, "error        %s\n", e)
	}
	return sb.String()
}

func roundLat(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func sumDeclined(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// ThroughputRatio is r's throughput as a fraction of baseline's (an echo-only
// run, typically); 0 when the baseline has none.
func ThroughputRatio(r, baseline LoadReport) float64 {
	if baseline.Throughput <= 0 {
		return 0
	}
	return r.Throughput / baseline.Throughput
}

// LatencyRatio is r's latency at quantile q over baseline's; 0 when the
// baseline has none.
func LatencyRatio(r, baseline LoadReport, q float64) float64 {
	if baseline.Latency == nil || r.Latency == nil {
		return 0
	}
	b := baseline.Latency.Quantile(q)
	if b <= 0 {
		return 0
	}
	return float64(r.Latency.Quantile(q)) / float64(b)
}
