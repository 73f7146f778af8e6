package ledger

// writer.go: the single writer, the committer and the releaser: deciding ops into a
// group, committing each group in one synced batch, releasing results.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
	"github.com/cockroachdb/pebble/v2"
)

// op is one unit of work for the writer: an authorization request or an
// operator change.
type op struct {
	req   *Request
	admin func(t *tx) error
	// done receives the result once it may be released.
	done   func(Result)
	result Result
	// answer holds what result points to (decision.spareBalances,
	// spareTier): made with the op, not apart.
	answer answerParts
	// early ops are answered as soon as they are decided: they changed
	// nothing that a retransmission or a crash could contradict.
	early bool
}

// group is one group commit: the ops decided into one Pebble batch.
type group struct {
	gen   uint64
	batch *pebble.Batch
	ops   []*op
	// transient holds the group's writes of keys not worth caching
	// (worthCaching: identities, journal entries) until it retires, so
	// that the writer reads them before they are committed; then Pebble
	// serves them and the whole map is dropped at once.
	transient map[string][]byte
	// nextSeq is the journal sequence after the group's last op; the
	// committer records it once per group.
	nextSeq uint64
	// cardsChanged: the group writes a card record; once it is committed
	// the committer moves CardsGeneration.
	cardsChanged bool
	// aggregates are the group's writes of the records many decisions of
	// one group change (isAggregateKey), last value of each: logged in
	// the batch once, when the group is committed, instead of written
	// once per decision (aggregateLog.write). Decisions read them
	// through the writer's cache.
	aggregates map[string][]byte
	// poison fails the group as a failed commit would: the writer could
	// not stage one of its writes (tx.stageCardRecord).
	poison error
	// epoch is the Pebble instance the group was decided on (fault.go).
	epoch uint64
	// err is set by the committer when the group was not committed;
	// undo (or undoErr) when its commit failed (fault.go).
	err     error
	undo    []kv
	undoErr error
}

// isAggregateKey: an account that is not a card's — a merchant's or a
// program's — which every purchase at the merchant, or every earning
// of the program, changes; and a terminal batch, whose totals every
// purchase at the terminal changes. None is ever deleted.
func isAggregateKey(key string) bool {
	if strings.HasPrefix(key, prefixAccount) {
		return !isCardAccount(key[len(prefixAccount):])
	}
	return strings.HasPrefix(key, prefixBatch)
}

func (g *group) aggregate(key string, val []byte) {
	if g.aggregates == nil {
		g.aggregates = make(map[string][]byte)
	}
	g.aggregates[key] = val
}

// spares recycles what a group fills as its ops are decided: its maps
// (transient, aggregates) and its list of ops. A group of a few hundred
// purchases grows a fresh map or slice through every size on the way
// (rehashing a map each time), where a cleared one of the group before
// it already has the room. Writer only.
type spares[T any] struct {
	free []T
}

const (
	// maxSpares: the writer has at most a few groups live (one deciding,
	// one committing, one retiring), each with two maps and a list.
	maxSpares = 8
	// maxSpareGroupMapLen: a map an unusually large group grew (an
	// operator's bulk change) is left to the collector rather than
	// kept at that size.
	maxSpareGroupMapLen = 2 * maxOpsPerBatch
)

// get is a spare to fill (cleared by put), or the zero T (nil) when
// none is.
func (p *spares[T]) get() T {
	var v T
	if n := len(p.free); n > 0 {
		v = p.free[n-1]
		p.free[n-1] = *new(T)
		p.free = p.free[:n-1]
	}
	return v
}

// put keeps v, which nothing reads any more and the caller has
// cleared, unless enough are kept.
func (p *spares[T]) put(v T) {
	if len(p.free) < maxSpares {
		p.free = append(p.free, v)
	}
}

// putMap keeps a group's map, cleared, unless it is nil or grew
// unusually large.
func putMap(p *spares[map[string][]byte], m map[string][]byte) {
	if m == nil || len(m) > maxSpareGroupMapLen {
		return
	}
	clear(m)
	p.put(m)
}

// runWriter is the single writer. It decides ops into the current group
// and hands the group to the committer whenever the committer is idle, so
// the group grows while the previous one syncs (group commit). After a
// failed commit it has no group (cur is nil): it answers every op ErrHost
// at once and recovers (recover.go).
func (s *Store) runWriter() {
	defer s.wg.Done()
	defer close(s.writerDone)
	defer close(s.commitCh)
	cur := s.newGroup()
	queue := s.queue
	for queue != nil || (cur != nil && len(cur.ops) > 0) {
		var commitCh chan *group
		if cur != nil && len(cur.ops) > 0 {
			commitCh = s.commitCh
		}
		in := queue
		if cur != nil && len(cur.ops) >= maxOpsPerBatch {
			in = nil // full: wait for the committer
		}
		retry, reopened := s.rec.wake()
		select {
		case o, ok := <-in:
			if !ok {
				queue = nil
				continue
			}
			t0 := time.Now()
			s.apply(cur, o)
			s.writerBusy.Add(int64(time.Since(t0)))
		case commitCh <- cur:
			cur = s.newGroup()
		case g := <-s.committed:
			s.retire(g)
			if g.err != nil && s.rec == nil {
				s.startRecovery(g, cur)
				cur = nil
			}
			s.stepRecovery()
		case <-retry:
			s.stepRecovery()
		case r := <-reopened:
			s.reopened(r)
		}
		if cur == nil && s.rec == nil {
			cur = s.newGroup() // recovered
		}
	}
	if cur != nil {
		cur.batch.Close()
	}
	s.abandonRecovery()
}

func (s *Store) newGroup() *group {
	s.gen++
	g := &group{gen: s.gen, batch: s.db.NewBatch(), epoch: s.epoch,
		transient: s.spareMaps.get(), aggregates: s.spareMaps.get(), ops: s.spareOps.get()}
	s.live = append(s.live, g)
	return g
}

// retire records that group g is committed: every cached value it or an
// earlier group wrote is now committed (cachedValue.gen <= committedGen)
// and its transient writes are Pebble's to serve. Nothing is done per
// key: groups commit in the order they were made, so a watermark says it.
func (s *Store) retire(g *group) {
	if i := slices.Index(s.live, g); i >= 0 {
		s.live = slices.Delete(s.live, i, i+1)
	}
	// Nobody reads them now: the writer reads live groups' only, and the
	// committer is done with the group.
	putMap(&s.spareMaps, g.transient)
	putMap(&s.spareMaps, g.aggregates)
	if g.ops != nil { // every op has its answer (runReleaser)
		clear(g.ops)
		s.spareOps.put(g.ops[:0])
	}
	g.transient, g.aggregates, g.ops = nil, nil, nil
	if g.err != nil {
		// Not committed: its values stay uncommitted until recovery drops
		// the whole cache.
		return
	}
	s.committedGen = g.gen
	s.evict()
}

func (s *Store) runCommitter() {
	defer s.wg.Done()
	// broken is the epoch whose Pebble instance failed a commit: its
	// later groups were decided on top of the failed one and are never
	// committed (epochs start at 1).
	var broken uint64
	for g := range s.commitCh {
		if g.epoch == broken {
			g.err = fmt.Errorf("ledger: not committed after an earlier commit failed: %w", s.faultErr())
		} else if g.poison != nil {
			g.err = g.poison
			broken = g.epoch
			s.setFault(g.err)
		} else {
			var seq [8]byte
			putU64(seq[:], g.nextSeq)
			g.batch.Set([]byte(keyMetaSeq), seq[:], nil)
			now := time.Now()
			s.alog.write(g, now) // the group's aggregates (aggregatelog.go)
			syncStart := time.Now()
			g.err = s.commitGroup(g)
			s.observeCommit(len(g.ops), time.Since(syncStart)) // observe.go
			s.alog.committed(g.err == nil, now)
			if g.err == nil && s.alog.checkpointing {
				s.checkpointedGen.Store(g.gen)
			}
			if g.err != nil {
				broken = g.epoch
				s.setFault(g.err)
			} else {
				s.assertConsistent()
			}
		}
		g.batch.Close()
		if g.err == nil && g.cardsChanged {
			// After the commit, before anyone is answered: a reader that
			// sees the old generation may hold the old record, and one that
			// sees the new one reads the new record.
			s.cardsGen.Add(1)
		}
		s.release <- g
	}
	close(s.release)
	// A clean close leaves no aggregate log (a crash leaves it to Open).
	if broken == 0 && s.faultErr() == nil {
		if err := s.alog.checkpointAtClose(s.db); err != nil {
			s.log.Error().Err(err).Msg("ledger: final checkpoint of the aggregates failed; the next open applies the aggregate log")
		}
	}
}

// runReleaser answers the ops of each group the committer is done with
// — their results once the group is durable, ErrHost when it failed —
// in commit order, then hands the group to the writer to retire. It is
// a goroutine of its own so that the committer writes and syncs the
// next group while the answers of this one are rendered and written to
// their terminals (a done callback does that much: gateway's
// writeInline).
func (s *Store) runReleaser() {
	defer s.wg.Done()
	for g := range s.release {
		for _, o := range g.ops {
			if o.early {
				continue
			}
			if g.err != nil {
				o.result = Result{Err: fmt.Errorf("%w: %v", ErrHost, g.err), At: o.result.At}
			}
			o.done(o.result)
		}
		select {
		case s.committed <- g:
		case <-s.writerDone: // nobody retires groups any more
		}
	}
}

// apply decides one op into group g.
func (s *Store) apply(g *group, o *op) {
	// The op's staged writes reuse the writer's spare slices: flush has
	// copied what it keeps out of them when apply returns.
	t := &s.op.tx
	*t = tx{s: s, g: g, seqStart: s.nextSeq, writes: s.spareWrites[:0], cache: s.spareCache[:0]}
	defer func() {
		clear(t.writes) // drop the references; keep the capacity
		clear(t.cache)
		s.spareWrites, s.spareCache = t.writes[:0], t.cache[:0]
	}()
	if g == nil || s.fault.Load() != nil {
		// Recovering from a disk fault (fault.go): nothing is decided.
		o.result = Result{Err: s.refusal(), At: s.opts.Now()}
		o.done(o.result)
		return
	}
	if o.admin != nil {
		mark := t.mark()
		err := o.admin(t)
		if err != nil {
			t.rollbackTo(mark)
		}
		t.flush()
		o.result = Result{Err: err}
	} else {
		o.result = s.decide(t, o.req, &o.answer)
		t.flush()
		o.early = !o.result.Stored && len(t.writes) == 0 && !o.result.Replayed
		if o.req.Kind == KindEcho && !o.result.Replayed {
			o.early = true
		}
	}
	if o.early {
		o.done(o.result)
	}
	g.ops = append(g.ops, o)
	g.nextSeq = s.nextSeq
}

// opScratch is what the writer decides one op with, reused from op to
// op instead of allocated per op: its tx, the request's decision, the
// terminal's state and batch as read, the card's day counter, the
// identity record stored and the new journal entry. Each is used only
// while the writer decides the op (apply): what outlives the op — the
// staged writes, the result — is encoded or copied out of them before
// apply returns, so the next op may overwrite them. A decision that is not a request's (an
// operator's adjustment, expiry, settlement) has a decision of its own.
type opScratch struct {
	tx       tx
	decision decision
	ts       TerminalState
	batch    Batch
	idem     IdemRecord
	day      CardDay
	txn      newTxnBlock // a request's new journal entry (decision.spareTxn)
	accounts accountScratch
	// campaigns is a request's earning's list (decision.spareCampaigns).
	campaigns [loyalty.MaxCampaigns]string
	// membership is a request's card's membership, decoded
	// (decision.spareMembership).
	membership Membership
}

// answerParts are the parts of a request's Result that it points to,
// made in the request's op: the op lives as long as the Result does.
type answerParts struct {
	balances Balances
	tier     TierInfo
}

// accountScratch is the accounts a request's decision reads
// (decision.newAccount), handed out in turn and taken back all at once
// when the next request is decided. A purchase reads three (its card's
// stored value and points, its merchant's stored value); a decision
// that reads more than decisionAccounts allocates the rest.
type accountScratch struct {
	used int
	a    [decisionAccounts]Account
}

const decisionAccounts = 8
