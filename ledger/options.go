package ledger

// options.go: how a Store is configured, and the defaults.

import (
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

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
	// HotCards is how many cards' own records (accounts, holds, security
	// state, loyalty record) the writer keeps decoded-ready in memory
	// (default DefaultHotCards; about 1 KB a card). A decision on a
	// card outside it reads Pebble for each of them: size it to the
	// cards active in a day.
	HotCards int
	// PruneInterval is how often stored responses past their retention
	// are pruned (default DefaultPruneInterval; negative: never).
	PruneInterval time.Duration
	// Sealer seals the store's secrets under the host master key (nil:
	// the store refuses to keep keys and PINs).
	Sealer Sealer
	// FS is the file system Pebble uses (nil: the disk, vfs.Default).
	// Tests wrap the disk with vfs/errorfs to inject faults (fault.go).
	FS vfs.FS
	// AggregateCheckpointEvery is how long an aggregate's own key (a
	// terminal batch, a merchant's or program's account) may lag its
	// latest value, kept meanwhile in the aggregate log
	// (aggregatelog.go); 0: DefaultAggregateCheckpointEvery. A tiny value
	// checkpoints at nearly every group (tests).
	AggregateCheckpointEvery time.Duration
	// UnsafeNoSync commits each group without pebble.Sync: decisions are
	// answered before they are durable, so a crash loses acknowledged
	// money. It exists only so that a benchmark can measure the writer
	// without the disk (BenchmarkPurchase/sync=false); NEVER set it in a
	// host, a tool or a test of durability.
	UnsafeNoSync bool
	// Observer, when set, is told of every group commit (observe.go).
	Observer Observer
}

// DefaultCacheBytes is the default block cache: the working set of a few
// million cards' accounts and a day's stored responses.
const DefaultCacheBytes = 256 << 20

// DefaultHotCards is the default Options.HotCards: about 250 MB of
// live heap once every one is used (about 1 KB a card:
// docs/operations.md, "Memory and GC").
const DefaultHotCards = 1 << 18
