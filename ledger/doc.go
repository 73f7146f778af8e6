// Package ledger is the domain core of cardcenter: money and points,
// accounts and transfers, the journal, the registry of programs,
// merchants, terminals and cards, and the Pebble store that keeps them.
// It knows nothing of ISO 8583: the gateway turns messages into Requests
// and the ledger answers with Results.
//
// # The account model
//
// Every balance is an Account with four running sums, as in TigerBeetle:
// debits and credits, posted and pending. A Transfer moves posted value,
// or opens or releases a pending amount (a hold), between two accounts of
// one Unit (money in fen, or points). Each transfer changes both sides by
// the same amounts, so every posting set balances by construction and the
// sum of all balances of a unit is always zero. Card accounts are
// credit-normal: the ledger balance is credits minus debits posted, the
// available balance that less the pending debits (holds). A purchase posts
// card → merchant; a load merchant → card; a refund merchant → card; a
// pre-authorization opens a pending card → merchant amount that a
// completion posts (the captured part) and releases (the rest).
//
// # One writer, group commit
//
// All changes, authorizations and operator edits alike, go through one
// writer goroutine that decides them in arrival order against the current
// state. Its decisions stage writes into the current Pebble batch and an
// in-memory overlay (so the next decision sees them before they are on
// disk); a committer goroutine commits each batch with pebble.Sync while
// the writer fills the next one, and a releaser goroutine answers each
// committed batch's requests, in commit order, while the committer
// syncs the next. The committer hands Pebble each batch in key order
// (keyorder.go), so that its keys go into the memtable next to each
// other. A Result is released only after the batch holding its
// decision is synced, so nothing is acknowledged that a crash could lose,
// and a batch is all-or-nothing, so nothing is half applied. A commit
// that fails is a disk fault (below).
//
// Monitoring reads the writer without knowing Prometheus (observe.go):
// Options.Observer is told of every group commit (its ops and the
// duration of its synced Commit), QueueDepth and QueueCapacity size the
// writer's queue, and Health says whether the store can decide (nil;
// ErrFailed after a failed sync; ErrClosed).
//
// The writer keeps what it wrote and has not yet seen committed, and a
// bounded cache of committed values that decisions read again (balances,
// terminal and batch state, day counters): it is Pebble's only writer, so
// the cache is coherent by construction. A card's own keys and its
// registry record are cached together, one entry a card (cache.go), in
// slabs behind an index without pointers (cardindex.go), so that a
// million hot cards cost each garbage collection little. A terminal's
// keys, its own and its merchant's registry records and the values of
// its state and current batch are kept in one entry a terminal
// (terminals.go), found with one lookup by TID.
//
// Readers outside the writer that keep card records (the gateway's PIN
// and chip checks) rely on CardsGeneration: the committer moves it after
// committing any change to a card record and before acknowledging it, so
// a record read after taking the generation is current until it moves.
//
// # Disk faults
//
// When a group's commit fails (a WAL write or sync error: a failing or
// full disk), the store enters its fault state: the ops of that group,
// of every group decided after it and every new op are answered ErrHost
// (96) at once, and readers (admin views, Check, jobs) get ErrHost too,
// because the failed Pebble instance still shows the failed group.
// Nothing is committed on that instance again. The writer recovers by
// itself (recover.go): once no group is in flight it closes Pebble,
// probes the disk (a small synced write) with backoff up to a second,
// reopens Pebble, writes back the pre-images of every key the failed
// group wrote (read from a snapshot the committer takes before each
// commit: a batch whose sync failed may still be in the WAL and be
// replayed), and reloads from disk what it keeps in memory: the next
// sequence number (so the failed ops' RRNs are given again), the
// settlement fence, the identity filter; its caches start empty and
// CardsGeneration moves. Then it decides again: a retransmission of a
// request answered 96 is decided afresh. Healthy and WaitHealthy report
// the state; Options.FS lets tests inject faults (vfs/errorfs). A slow
// disk is no fault: answers wait for their sync, however long.
//
// Pebble ends the process in a few cases the store cannot intercept: a
// MANIFEST that cannot be written after a background flush or
// compaction, and a WAL that cannot be closed or created when a full
// memtable rotates (or on an explicit flush: WaitQuiet). That is a
// crash, and a crash loses nothing acknowledged.
//
// # Loyalty
//
// For a card whose program has loyalty rules, purchases, completions and
// 900000 accruals earn (package loyalty computes; loyalty.go keeps the
// card's tier, visits, spend and lots in its loyalty record wal/<pan>,
// older lots in sealed pages wlp/<pan>/<nnn>, and posts ppt/<prog> →
// pt/<pan>); 910000 redemptions spend lots soonest-expiring first
// (pt/<pan> → prd/<prog>); refunds take back pro rata, possibly into debt (the one card balance that may be negative);
// voids and reversals are exact and never create debt. Journal entries
// record the points, rules version and campaigns (Txn record version 2).
// Programs without rules earn nothing. A transaction that crosses a
// tier threshold upgrades at once; ReviewTiers (monthly, tier_review.go)
// moves members down one tier at most, in bounded writer ops, once per
// month (Membership.ReviewedMonth, job/tiers/<month>). Member
// (member.go) is the member view: tier and history, lots, spend, visits
// and the earning history, from one snapshot. The daily expiry job
// (ExpireLots, expiry.go) posts expired lots as breakage (pt/<pan> →
// pbk/<prog>, journal kind expiry) and writes one expiry-notice event per
// lot to the outbox (outbox/<seq>, with its notice/<pan>/<lot> marker in
// the same change); DrainOutbox copies the events to JSON-lines files
// exactly once and deletes them in the change that moves its cursor. The points mall (mall.go) keeps a catalog per program
// (reg/reward/) and orders (order/<seq>): an order spends lots like a
// redemption (pt/<pan> → prd/<prog>, KindMallOrder), a cancellation
// gives them back as an undo does. docs/loyalty.md has the details.
//
// # Settlement
//
// settle.go gives package settlement what it needs: CloseBusinessDate, a
// fence through the writer (meta/closed, monotonic) after which a
// decision whose business date is closed is booked on the next date
// and records the date the clock gave it (Txn.LateFrom); JournalByDate,
// a date's entries in sequence order; PostSettlement, one balanced
// entry of kind settlement per (program, date, merchant) between
// pst/<prog> and mpr/<mid>, with its marker in the same change; and the
// date's job record (job/settle/). Counted entries record the section 8
// rates in force when they were decided (Txn.Rates; Txn record
// version 3), so that a date settles the same whenever it runs.
//
// # The journal and its readers
//
// Every applied request is one journal entry, txn/<seq>, keyed by its
// sequence number (the RRN). Entries are booked in sequence order, so a
// business date's entries are runs of sequence numbers: the writer
// records a run (jr/<first seq> → date) when it books an entry on
// another date than the latest run's — once a date, or again when the
// clock is set back across a cut-off — and JournalByDate reads a date's
// runs of txn/, skipping the settlement entries that lie in them. A
// card's history is a chain: each entry names the card's previous one
// (Txn.CardPrev) and the card's stored-value account names its newest
// (Account.LastEntry), so CardHistory walks it newest first. So a
// purchase writes no index key. A store written before this layout
// (format 1, format.go) is migrated at Open; its card index (jc/) is
// kept and read for the entries older than a card's chain.
//
// # Idempotency
//
// Each request is identified by terminal, STAN and transmission time. The
// writer stores the answer under that identity in the same batch as the
// decision's effects; a retransmission with the same fingerprint gets the
// stored answer back and changes nothing, one with other content is
// ErrDuplicate. The stored answer includes the member's tier after an
// approved card request of a program with tiers (Result.Tier) and the
// terminal's field 63 opt-in as it was (Result.LoyaltyInfo), so the
// replay renders the same bytes. Answers that the contract says are not stored (unknown
// terminal, not signed on, duplicate, host error) write nothing. A
// reversal whose original has not arrived is remembered under the
// original's identity (a tombstone), so the late original is declined.
// An in-memory Bloom filter of every identity key (identities.go) spares
// the common case, a new request, a Pebble lookup. Stored answers are
// pruned after their retention (prune.go). An identity is keyed by its
// transmission time first (store format 6; format6.go moves an older
// store's), so that a group's identities are neighbours in key order.
//
// # Invariants
//
// Check recomputes every account from the journal's transfers on a
// snapshot and verifies conservation of money and points, that every
// figure is in its range (running sums never negative; card balances,
// holds, batch totals and day counters within 0..MaxAmount), that a card's
// holds equal its pending debits, that transfer ids follow their
// entries, and that every entry is in a run of its business date and in
// its card's chain; with a Sealer, that every sealed key opens under it with its
// record's AAD, counting them by the KEK that sealed them (a master key
// rotation's progress: RewrapSecrets, rewrap.go). It runs on a live store.
//
// # Checked arithmetic
//
// No amount or points figure is changed with a bare + or -. Amount.Add,
// Amount.Sub, Points.Add and Points.Sub refuse a result beyond MaxAmount
// (999,999,999,999: the 12 digits that fields 4, 48 and 54 carry), and an
// account's running sums refuse to wrap int64. A refused change is
// ErrOutOfRange, a business decline (13; 400 at the admin API), and the
// decision that needed it changes nothing. Card limits and max balances
// above MaxAmount are refused when a card is saved, so a balance the ledger
// accepts is always one the gateway can render. Built with -tags
// invariants, every posting asserts non-negative holds and balances and
// every group commit runs Check. keys.go documents every key.
//
// # Use
//
//	s, err := ledger.Open(dir, ledger.Options{Now: clock.Now})
//	defer s.Close()
//	s.Submit(ctx, req, func(res ledger.Result) { ... })  // from the gateway
//	s.PutCard(ctx, card)                                  // operator API
package ledger
