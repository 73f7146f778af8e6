package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
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

// Store is the ledger on Pebble. One writer goroutine decides every
// request against the current state in arrival order, and a committer
// goroutine writes each group of decisions in one synced batch, while the
// writer decides the next group. A decision's Result is released only after
// its batch is durable.
type Store struct {
	// writerBusy is the writer goroutine's time spent deciding ops (in
	// apply), for the benchmarks' writer-alone figure.
	writerBusy atomic.Int64

	// db is the open Pebble instance. The writer and the committer use it
	// directly; every other goroutine goes through acquire (fault.go),
	// because recovery from a disk fault closes it and opens another.
	db   *pebble.DB
	dbMu sync.RWMutex // readers hold it shared; recovery swaps db under it
	// dbClosed: Close closed db (under dbMu), so that a reader that
	// comes after (an admin view, a metrics scrape during shutdown) is
	// refused with ErrClosed instead of using a closed Pebble.
	dbClosed bool
	dir      string
	opts     Options
	log      zerolog.Logger

	queue    chan *op
	commitCh chan *group
	// release carries each committed (or failed) group from the
	// committer to the releaser, which answers its ops and hands it on
	// to the writer on committed to retire. writerDone is closed when
	// the writer exits: nobody retires a group after it.
	release    chan *group
	committed  chan *group
	writerDone chan struct{}
	closing    chan struct{}
	closeOnce  sync.Once
	closeErr   error
	wg         sync.WaitGroup
	submitMu   sync.RWMutex // Close takes it to stop Submit before closing queue
	closed     bool

	// Writer-owned state: only the writer goroutine touches these.
	// values holds the latest value the writer wrote or read of every
	// key worth caching (cache.go): uncommitted ones (gen above
	// committedGen) and a cache of committed ones. The writer is Pebble's
	// only writer, so a committed value stays current until it writes the
	// key again. Only committed entries are evicted. live are the groups
	// decided but not yet retired, oldest first (their transient writes).
	values       map[string]cachedValue
	cards        *cardIndex // a card's own keys (cache.go, cardindex.go)
	committedGen uint64
	live         []*group
	// checkpointedGen: the groups up to it have their aggregates at
	// their own keys, not only in the aggregate log (set by the
	// committer, read by the writer's evict).
	checkpointedGen atomic.Uint64
	// sortScratch is the committer's list of a group's records, sorted
	// (inKeyOrder).
	sortScratch []batchRecord
	// alog is the committer's: the aggregate log since its last
	// checkpoint (aggregatelog.go).
	alog     aggregateLog
	regCache map[string]any // decoded registry records
	// regGen counts the changes to regCache: a terminal's entry keeps
	// the records it read there while it has not moved (terminals.go).
	regGen    uint64
	terminals map[string]*terminalEntry // by TID (terminals.go)
	// Scratch space of the writer, reused from op to op: an op's staged
	// writes and registry reads (tx), and the buffer records are
	// encoded in (tx.encode).
	spareWrites []kv
	spareCache  []kvAny
	// spareMaps and spareOps are retired groups' transient and
	// aggregate maps and lists of ops, cleared, for the next groups
	// (spares).
	spareMaps spares[map[string][]byte]
	spareOps  spares[[]*op]
	enc       encoder
	// recordEnc renders a record composed of parts rendered in enc (a
	// card's loyalty record: storeLoyalty).
	recordEnc  encoder
	keys       hotKeys // the keys decisions name (hotkeys.go)
	cardFields hotKeys // the values many cached card records share (compactCard)
	arena      arena   // the records the writer encodes (arena.go)
	// op is the writer's scratch for the op it decides (opScratch).
	op opScratch
	// monthDates: the dates of the month the writer's last earning
	// was in (writer only; see Membership.visitDates).
	monthDates monthDates
	// visitDates backs the dates an earning hands loyalty.Earn, which
	// does not keep them.
	visitDates [maxVisitDays]string
	idents     *identityFilter // every identity key that may exist
	nextSeq    uint64
	gen        uint64
	// runDate is the business date of the journal's latest run (jr/; 0:
	// none): an entry booked on another date starts a run (tx.book).
	runDate uint32
	// epoch counts the Pebble instances the writer has used (1 at
	// Open); each group records its own, so that the committer never
	// commits a group decided on top of one that failed (fault.go).
	epoch uint64
	// rec is the recovery under way after a failed commit (recover.go);
	// nil while healthy.
	rec *recovery

	// fault is the disk fault the store is recovering from (nil:
	// healthy). While set, every request is answered ErrHost at once and
	// readers get ErrHost (Health).
	fault atomic.Pointer[error]
	// healthy is closed when the current fault clears (WaitHealthy);
	// nil while healthy.
	healthMu sync.Mutex
	healthy  chan struct{}
	// cardsGen counts committed groups that changed a card record
	// (CardsGeneration).
	cardsGen atomic.Uint64

	// closedThrough is the latest business date closed for settlement
	// (settle.go): the writer books decisions of that date or earlier on
	// the next one. Written only by the writer, read by anyone.
	closedThrough atomic.Uint32

	// pvk is the clear PIN verification key, opened once at Open (nil
	// without a Sealer); pinHashers holds HMAC states keyed with it
	// (secrets.go, pinHasher). Both are set by setPVK and never change.
	pvk        []byte
	pinHashers sync.Pool
}

// DB exposes the Pebble handle for read-only inspection and checkpoints.
// After a disk fault the store reopens Pebble (recover.go): the handle
// is nil while it recovers, and a handle taken earlier is closed. Use it
// only on a store that is not serving.
func (s *Store) DB() *pebble.DB {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	return s.db
}

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
		if s.db == nil { // closed by a recovery that had not finished
			s.closeErr = fmt.Errorf("ledger: closed while recovering from a disk fault: %w", s.faultErr())
			return
		}
		s.dbMu.Lock() // waits for the readers in flight
		s.dbClosed = true
		s.closeErr = s.db.Close()
		s.dbMu.Unlock()
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

// dbGet reads a committed value (nil when absent), from any goroutine;
// while the store recovers from a disk fault it answers ErrHost.
func (s *Store) dbGet(key string) ([]byte, error) { return s.getWith(readKey, key) }

// getWith reads key from the store's current Pebble instance with read.
func (s *Store) getWith(read func(pebble.Reader, string) ([]byte, error), key string) ([]byte, error) {
	db, release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	return read(db, key)
}

// getterOf reads the values of r (a snapshot, for the scans that read
// one) as dbGet reads the store's.
func getterOf(r pebble.Reader) func(string) ([]byte, error) {
	return func(key string) ([]byte, error) { return readKey(r, key) }
}

// storedGet is dbGet for the writer: an aggregate as its own key holds
// it, without the aggregate log (the writer's cache holds every
// aggregate the log is ahead on: evict).
func (s *Store) storedGet(key string) ([]byte, error) { return s.getWith(readStored, key) }

// readKey reads a copy of key's value in r (nil when absent), as every
// reader but the writer sees it: an aggregate with the aggregate log
// laid over it (aggregatelog.go), a merged logical key (cardrecord.go)
// out of its card values record.
func readKey(r pebble.Reader, key string) ([]byte, error) {
	if isAggregateKey(key) {
		return readAggregate(r, key)
	}
	return readStored(r, key)
}

// readStored is readKey without the aggregate log.
func readStored(r pebble.Reader, key string) ([]byte, error) {
	if part, pan, ok := mergedPart(key); ok {
		p, err := readCardParts(r, pan)
		return p[part], err
	}
	return readRaw(r, key)
}

// readRaw reads a copy of the physical key's value in r (nil when
// absent).
func readRaw(r pebble.Reader, key string) ([]byte, error) {
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

// maxQuietWait bounds WaitQuiet.
const maxQuietWait = 5 * time.Minute

// WaitQuiet flushes the memtable and waits until Pebble has no
// compaction running (or maxQuietWait passed, or ctx ends): for a
// benchmark that times a job after loading a store, so that the job is
// not charged with compacting what the loading wrote, and for an
// operator after a bulk import.
func (s *Store) WaitQuiet(ctx context.Context) error {
	db, release, err := s.acquire()
	if err != nil {
		return err
	}
	defer release()
	if err := db.Flush(); err != nil {
		return fmt.Errorf("ledger: flush: %w", err)
	}
	deadline := time.Now().Add(maxQuietWait)
	for db.Metrics().Compact.NumInProgress > 0 && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
