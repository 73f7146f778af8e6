package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/rs/zerolog"
)

// Limits on what outside traffic can make the writer hold.
const (
	// DefaultQueueLimit bounds requests waiting for the writer.
	DefaultQueueLimit = 8192
	// maxOpsPerBatch bounds one group commit.
	maxOpsPerBatch = 2048
	// maxRegistryCache bounds decoded registry records kept by the writer;
	// past it the cache is dropped and refilled from Pebble.
	maxRegistryCache = 1 << 20
	// maxHotValues bounds the writer's cache of committed values; past it
	// a quarter of them, chosen at random, are dropped. Uncommitted values
	// are bounded by maxOpsPerBatch per group and are never dropped.
	maxHotValues = 1 << 19
	// maxTransfersPerTxn bounds the postings one journal entry may make.
	maxTransfersPerTxn = 64
	// maxHoldsPerCard bounds a card's open pre-authorizations.
	maxHoldsPerCard = 64
)

// ErrClosed is returned for work submitted after Close began.
var ErrClosed = errors.New("ledger: store closed")

// ErrQueueFull is returned when the writer's queue stayed full for
// MaxQueueWait; the gateway answers 96.
var ErrQueueFull = errors.New("ledger: queue full")

// MaxQueueWait bounds how long Submit waits for room in a full queue.
const MaxQueueWait = 5 * time.Second

// Options configure a Store. Zero values take the documented defaults.
type Options struct {
	// Now is the host clock (default time.Now). Business dates, expiry and
	// hold periods are computed from it, never from the wall clock.
	Now func() time.Time
	// Location is the business time zone (default UTC+8, China Standard
	// Time); the business date changes at CutoffHour local time.
	Location   *time.Location
	CutoffHour int
	// QueueLimit bounds the writer's queue (default DefaultQueueLimit).
	QueueLimit int
	Logger     zerolog.Logger
	// ReadOnly opens the store for inspection (the checker) without a writer.
	ReadOnly bool
	// CacheBytes is Pebble's block cache (default DefaultCacheBytes).
	CacheBytes int64
	// PruneInterval is how often stored responses past their retention
	// are pruned (default DefaultPruneInterval; negative: never).
	PruneInterval time.Duration
	// Sealer seals the store's secrets under the host master key (nil:
	// the store refuses to keep keys and PINs).
	Sealer Sealer
	// Observer, when set, is told of every group commit (observe.go).
	Observer Observer
}

// DefaultCacheBytes is the default block cache: the working set of a few
// million cards' accounts and a day's stored responses.
const DefaultCacheBytes = 256 << 20

const (
	memTableBytes      = 64 << 20
	uncompressedLevels = 3
)

// Store is the ledger on Pebble. One writer goroutine decides every
// request against the current state in arrival order, and a committer
// goroutine writes each group of decisions in one synced batch, while the
// writer decides the next group. A decision's Result is released only after
// its batch is durable.
type Store struct {
	db   *pebble.DB
	opts Options
	log  zerolog.Logger

	queue     chan *op
	commitCh  chan *group
	committed chan *group
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	submitMu  sync.RWMutex // Close takes it to stop Submit before closing queue
	closed    bool

	// Writer-owned state: only the writer goroutine touches these.
	// values holds the latest value the writer wrote or read of every
	// key worth caching (cache.go): uncommitted ones (gen above
	// committedGen) and a cache of committed ones. The writer is Pebble's
	// only writer, so a committed value stays current until it writes the
	// key again. Only committed entries are evicted. live are the groups
	// decided but not yet retired, oldest first (their transient writes).
	values       map[string]cachedValue
	committedGen uint64
	live         []*group
	regCache     map[string]any // decoded registry records
	// Scratch space of the writer, reused from op to op: an op's staged
	// writes and registry reads (tx), and the buffer records are
	// encoded in (tx.encode).
	spareWrites []kv
	spareCache  []kvAny
	enc         encoder
	idents      *identityFilter // every identity key that may exist
	nextSeq     uint64
	gen         uint64

	failed atomic.Pointer[error]
	// cardsGen counts committed groups that changed a card record
	// (CardsGeneration).
	cardsGen atomic.Uint64

	// closedThrough is the latest business date closed for settlement
	// (settle.go): the writer books decisions of that date or earlier on
	// the next one. Written only by the writer, read by anyone.
	closedThrough atomic.Uint32

	// pvk is the clear PIN verification key, opened once at Open (nil
	// without a Sealer).
	pvk []byte
}

// Open opens (creating if needed) the ledger in dir.
func Open(dir string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("CST", 8*3600)
	}
	if opts.QueueLimit <= 0 {
		opts.QueueLimit = DefaultQueueLimit
	}
	if opts.CutoffHour < 0 || opts.CutoffHour > 23 {
		return nil, fmt.Errorf("ledger: cutoff hour %d: want 0..23", opts.CutoffHour)
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref() // the DB holds its own reference
	po := &pebble.Options{
		ReadOnly: opts.ReadOnly, Logger: pebbleLogger{opts.Logger}, Cache: cache,
		// A large memtable lets the hot keys (merchant accounts, batch
		// totals, day counters) collapse before they reach disk.
		MemTableSize: memTableBytes,
	}
	// Most lookups of an authorization are for keys that do not exist yet
	// (a new request's identity, a reversal tombstone, a day's counters):
	// bloom filters answer those without reading data blocks.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		if i < uncompressedLevels {
			// The upper levels are rewritten soon; compressing them costs
			// CPU that authorizations need.
			po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
		}
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	s := &Store{
		db:        db,
		opts:      opts,
		log:       opts.Logger,
		queue:     make(chan *op, opts.QueueLimit),
		commitCh:  make(chan *group),
		committed: make(chan *group, 2),
		closing:   make(chan struct{}),
		values:    make(map[string]cachedValue),
		regCache:  make(map[string]any),
	}
	if v, err := s.dbGet(keyMetaSeq); err != nil {
		db.Close()
		return nil, err
	} else if v != nil {
		s.nextSeq = u64(v)
	} else {
		s.nextSeq = 1
	}
	if err := s.loadClosed(); err != nil {
		db.Close()
		return nil, err
	}
	if opts.ReadOnly {
		return s, nil
	}
	if err := s.loadIdentities(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.loadPVK(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.runWriter()
	go s.runCommitter()
	if opts.PruneInterval == 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.PruneInterval > 0 {
		s.wg.Add(1)
		go s.runPruner(opts.PruneInterval)
	}
	return s, nil
}

// loadIdentities fills the identity filter with every stored identity
// key (keys only: one pass over the idem/ range at start-up).
func (s *Store) loadIdentities() error {
	n := 0
	var keys []string
	err := scan(s.db, prefixIdem, func(k, _ []byte) error {
		keys = append(keys, string(k))
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: load identities: %w", err)
	}
	s.idents = newIdentityFilter(n)
	for _, k := range keys {
		s.idents.Add(k)
	}
	return nil
}

// DB exposes the Pebble handle for read-only inspection and checkpoints.
func (s *Store) DB() *pebble.DB { return s.db }

// Close stops accepting work, decides and commits everything queued,
// releases every result and closes Pebble.
//
// Close is idempotent: later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing) // stops the pruner
		s.submitMu.Lock()
		s.closed = true
		if !s.opts.ReadOnly {
			close(s.queue)
		}
		s.submitMu.Unlock()
		s.wg.Wait()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Submit queues a request; done is called exactly once with its result,
// from a ledger goroutine, after the decision is durable (or at once for
// answers that change nothing). While the queue is full it waits, until
// ctx ends or MaxQueueWait passes (ErrQueueFull).
func (s *Store) Submit(ctx context.Context, r *Request, done func(Result)) error {
	return s.enqueue(ctx, &op{req: r, done: done})
}

// Do is Submit that waits for the result.
func (s *Store) Do(ctx context.Context, r *Request) (Result, error) {
	ch := make(chan Result, 1)
	if err := s.Submit(ctx, r, func(res Result) { ch <- res }); err != nil {
		return Result{}, err
	}
	select {
	case res := <-ch:
		return res, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// update runs fn in the writer as one atomic, durable change.
func (s *Store) update(ctx context.Context, fn func(t *tx) error) error {
	ch := make(chan Result, 1)
	if err := s.enqueue(ctx, &op{admin: fn, done: func(r Result) { ch <- r }}); err != nil {
		return err
	}
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) enqueue(ctx context.Context, o *op) error {
	s.submitMu.RLock()
	defer s.submitMu.RUnlock()
	if s.closed || s.opts.ReadOnly {
		return ErrClosed
	}
	select {
	case s.queue <- o: // the common case: room in the queue
		return nil
	default:
	}
	// The queue is full: wait for room, at most MaxQueueWait.
	full := time.NewTimer(MaxQueueWait)
	defer full.Stop()
	select {
	case s.queue <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-full.C:
		return fmt.Errorf("%w: queue of %d full for %s", ErrQueueFull, cap(s.queue), MaxQueueWait)
	}
}

// dbGet reads a committed value (nil when absent).
func (s *Store) dbGet(key string) ([]byte, error) { return readKey(s.db, key) }

// getterOf reads the values of r (a snapshot, for the scans that read
// one) as dbGet reads the store's.
func getterOf(r pebble.Reader) func(string) ([]byte, error) {
	return func(key string) ([]byte, error) { return readKey(r, key) }
}

// readKey reads a copy of key's value in r (nil when absent).
func readKey(r pebble.Reader, key string) ([]byte, error) {
	v, closer, err := r.Get([]byte(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: read %s: %w", keyKind(key), err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// keyKind names a key's layout without its (possibly card-bearing) tail.
func keyKind(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i+1] + "…"
		}
	}
	return key
}

func putU64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

// pebbleLogger keeps Pebble's informational chatter out of our logs and
// passes its errors on.
type pebbleLogger struct{ log zerolog.Logger }

func (pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error().Str("component", "pebble").Msgf(format, args...)
}

func (pebbleLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}

// maxQuietWait bounds WaitQuiet.
const maxQuietWait = 5 * time.Minute

// WaitQuiet flushes the memtable and waits until Pebble has no
// compaction running (or maxQuietWait passed, or ctx ends): for a
// benchmark that times a job after loading a store, so that the job is
// not charged with compacting what the loading wrote, and for an
// operator after a bulk import.
func (s *Store) WaitQuiet(ctx context.Context) error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("ledger: flush: %w", err)
	}
	deadline := time.Now().Add(maxQuietWait)
	for s.db.Metrics().Compact.NumInProgress > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
