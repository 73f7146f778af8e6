package ledger

// writer.go: the single writer and the committer: deciding ops into a
// group, committing each group in one synced batch, releasing results.

import (
	"fmt"
	"slices"
	"time"

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
}

// runWriter is the single writer. It decides ops into the current group
// and hands the group to the committer whenever the committer is idle, so
// the group grows while the previous one syncs (group commit).
func (s *Store) runWriter() {
	defer s.wg.Done()
	defer close(s.commitCh)
	cur := s.newGroup()
	queue := s.queue
	for queue != nil || len(cur.ops) > 0 {
		var commitCh chan *group
		if len(cur.ops) > 0 {
			commitCh = s.commitCh
		}
		in := queue
		if len(cur.ops) >= maxOpsPerBatch {
			in = nil // full: wait for the committer
		}
		select {
		case o, ok := <-in:
			if !ok {
				queue = nil
				continue
			}
			s.apply(cur, o)
		case commitCh <- cur:
			cur = s.newGroup()
		case g := <-s.committed:
			s.retire(g)
		}
	}
	cur.batch.Close()
}

func (s *Store) newGroup() *group {
	s.gen++
	g := &group{gen: s.gen, batch: s.db.NewBatch()}
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
	s.committedGen = g.gen
	s.evict()
}

func (s *Store) runCommitter() {
	defer s.wg.Done()
	for g := range s.commitCh {
		var seq [8]byte
		putU64(seq[:], g.nextSeq)
		g.batch.Set([]byte(keyMetaSeq), seq[:], nil)
		syncStart := time.Now()
		err := g.batch.Commit(pebble.Sync)
		s.observeCommit(len(g.ops), time.Since(syncStart)) // observe.go
		g.batch.Close()
		if err != nil {
			s.fail(fmt.Errorf("ledger: commit: %w", err))
		} else {
			s.assertConsistent()
		}
		if g.cardsChanged {
			// After the commit, before anyone is answered: a reader that
			// sees the old generation may hold the old record, and one that
			// sees the new one reads the new record.
			s.cardsGen.Add(1)
		}
		failed := s.failed.Load()
		for _, o := range g.ops {
			if o.early {
				continue
			}
			if failed != nil {
				o.result = Result{Err: fmt.Errorf("%w: %v", ErrHost, *failed), At: o.result.At}
			}
			o.done(o.result)
		}
		s.committed <- g
	}
	// Drain what the writer retired late (the channel is buffered; the
	// writer has exited, so nobody else reads it).
	for {
		select {
		case <-s.committed:
		default:
			return
		}
	}
}

// fail puts the store in the failed state: a sync that errs leaves the
// disk in an unknown state, so the only safe course is to answer 96 to
// everything from now on and let the operator restart.
func (s *Store) fail(err error) {
	if s.failed.CompareAndSwap(nil, &err) {
		s.log.Error().Err(err).Msg("ledger failed; answering host error until restart")
	}
}

// apply decides one op into group g.
func (s *Store) apply(g *group, o *op) {
	// The op's staged writes reuse the writer's spare slices: flush has
	// copied what it keeps out of them when apply returns.
	t := &tx{s: s, g: g, seqStart: s.nextSeq, writes: s.spareWrites[:0], cache: s.spareCache[:0]}
	defer func() {
		clear(t.writes) // drop the references; keep the capacity
		clear(t.cache)
		s.spareWrites, s.spareCache = t.writes[:0], t.cache[:0]
	}()
	if f := s.failed.Load(); f != nil {
		o.result = Result{Err: fmt.Errorf("%w: %v", ErrHost, *f), At: s.opts.Now()}
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
		o.result = s.decide(t, o.req)
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
