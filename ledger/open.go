package ledger

// open.go: opening a store — Pebble with the store's options, the
// format check and migration, what the writer reads from disk before it
// starts — and the logger Pebble reports through.

import (
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/rs/zerolog"
)

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
	if opts.AggregateCheckpointEvery <= 0 {
		opts.AggregateCheckpointEvery = DefaultAggregateCheckpointEvery
	}
	if opts.HotCards <= 0 {
		opts.HotCards = DefaultHotCards
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	db, err := openPebble(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	if err := checkFormat(db, opts.ReadOnly); err != nil {
		db.Close()
		return nil, err
	}
	if !opts.ReadOnly {
		if err := migrate(db, opts.Logger, migrationBatchKeys, 0); err != nil {
			db.Close()
			return nil, err
		}
		if err := replayAggregateLog(db); err != nil {
			db.Close()
			return nil, err
		}
	}
	s := &Store{
		db:         db,
		dir:        dir,
		opts:       opts,
		log:        opts.Logger,
		queue:      make(chan *op, opts.QueueLimit),
		commitCh:   make(chan *group),
		committed:  make(chan *group, 2),
		release:    make(chan *group, 1),
		writerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		values:     make(map[string]cachedValue),
		cards:      newCardIndex(),
		regCache:   make(map[string]any),
		epoch:      1,
		alog:       aggregateLog{every: opts.AggregateCheckpointEvery},
	}
	st, err := loadDiskState(db, opts.ReadOnly)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.install(st)
	if opts.ReadOnly {
		return s, nil
	}
	if err := s.loadPVK(); err != nil {
		db.Close()
		return nil, err
	}
	s.wg.Add(3)
	go s.runWriter()
	go s.runCommitter()
	go s.runReleaser()
	if opts.PruneInterval == 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.PruneInterval > 0 {
		s.wg.Add(1)
		go s.runPruner(opts.PruneInterval)
	}
	return s, nil
}

// Pebble's options that are ours (openPebble says why).
const (
	memTableBytes      = 64 << 20
	uncompressedLevels = 3
)

// openPebble opens Pebble in dir with the store's options; Open and
// every reopen after a disk fault (recover.go) use the same.
func openPebble(dir string, opts Options) (*pebble.DB, error) {
	cache := pebble.NewCache(opts.CacheBytes)
	defer cache.Unref() // the DB holds its own reference
	po := &pebble.Options{
		ReadOnly: opts.ReadOnly, Logger: pebbleLogger{opts.Logger}, Cache: cache,
		// A large memtable lets the hot keys (merchant accounts, batch
		// totals, day counters) collapse before they reach disk.
		MemTableSize: memTableBytes,
		FS:           opts.FS, // nil: vfs.Default
		EventListener: &pebble.EventListener{
			BackgroundError: (&backgroundErrors{log: opts.Logger}).report,
		},
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
	return pebble.Open(dir, po)
}

// diskState is the writer's state that is read from disk, at Open and
// after a reopen (recover.go): everything else the writer keeps is a
// cache that starts empty.
type diskState struct {
	nextSeq       uint64
	runDate       uint32
	closedThrough uint32
	idents        *identityFilter // nil for a read-only store
}

func loadDiskState(db *pebble.DB, readOnly bool) (diskState, error) {
	st := diskState{nextSeq: 1}
	v, err := readKey(db, keyMetaSeq)
	if err != nil {
		return st, err
	}
	if v != nil {
		st.nextSeq = u64(v)
	}
	if st.closedThrough, err = loadClosed(db); err != nil {
		return st, err
	}
	if st.runDate, err = latestRunDate(db); err != nil {
		return st, err
	}
	if !readOnly {
		if st.idents, err = loadIdentities(db); err != nil {
			return st, err
		}
	}
	return st, nil
}

// install makes st the writer's state (at Open, or in the writer).
func (s *Store) install(st diskState) {
	s.nextSeq = st.nextSeq
	s.runDate = st.runDate
	s.closedThrough.Store(st.closedThrough)
	s.idents = st.idents
}

// loadIdentities builds the identity filter from every stored identity
// key (keys only: one pass over the idem/ range).
func loadIdentities(db *pebble.DB) (*identityFilter, error) {
	var keys []string
	err := scan(db, prefixIdem, func(k, _ []byte) error {
		keys = append(keys, string(k))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger: load identities: %w", err)
	}
	f := newIdentityFilter(len(keys))
	for _, k := range keys {
		f.Add(k)
	}
	return f, nil
}

// pebbleLogger keeps Pebble's informational chatter out of our logs and
// passes its errors on. Pebble's messages may quote keys, and keys hold
// PANs: every digit run long enough to be one is masked.
type pebbleLogger struct{ log zerolog.Logger }

func (pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error().Str("component", "pebble").Msg(cardnum.Scrub(fmt.Sprintf(format, args...)))
}

// Fatalf must not return: Pebble goes on as if nothing failed when it
// does. It panics with a pebbleFatal, which the committer recovers when
// it comes from a commit (fault.go); from anywhere else (a MANIFEST
// that cannot be written, in a background flush or compaction) it ends
// the process, as Pebble intends.
func (pebbleLogger) Fatalf(format string, args ...any) {
	f := pebbleFatal{msg: cardnum.Scrub(fmt.Sprintf(format, args...))}
	for _, a := range args {
		if err, ok := a.(error); ok {
			f.cause = err
			break
		}
	}
	panic(f)
}
