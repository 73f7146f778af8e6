package ledger

// journal_scan.go: reading one business date's journal, in order, fast
// enough for the nightly settlement of a million entries.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// journalBatch is the entries one step of JournalByDate's reader hands
// to a decoder.
const journalBatch = 1024

// journalDecoders decode JournalByDate's batches side by side; the
// caller still sees the entries in order.
const journalDecoders = 2

// JournalByDate calls fn for every journal entry booked on business date
// d, in sequence order, from one snapshot; n is an upper bound on the
// number of entries of the date (the length of its runs), known before
// the first call (for a progress bar, or to size what fn keeps). The
// date's runs (jr/) give ranges of sequence numbers; the entries are read
// in one forward pass over those ranges of txn/ by one goroutine,
// decoded in batches by journalDecoders others, and handed to fn in
// order on this one, so that reading, decoding and deciding overlap.
// Settlement entries inside the ranges are booked on no date and
// skipped. The Txn is fn's to keep.
func (s *Store) JournalByDate(ctx context.Context, d uint32, fn func(t *Txn, n int) error) error {
	snap, done, err := s.snapshot()
	if err != nil {
		return err
	}
	defer done()
	spans, n, err := dateSpans(snap, d)
	if err != nil || n == 0 {
		return err
	}
	// Every batch goes to the decoders and, as a slot to wait on, to the
	// caller, in the order read.
	type batch struct {
		vals [][]byte
		txns []*Txn
		err  error
		done chan struct{}
	}
	work := make(chan *batch, journalDecoders)
	ordered := make(chan *batch, 2*journalDecoders)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range journalDecoders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			shared := names{} // one a decoder: a map is not shared between goroutines
			for b := range work {
				b.txns = make([]*Txn, len(b.vals))
				for i, v := range b.vals {
					t := new(Txn)
					if err := t.decodeShared(v, &shared); err != nil {
						b.err = fmt.Errorf("journal of %s: %w", FormatBusinessDate(d), err)
						break
					}
					b.txns[i] = t
				}
				b.vals = nil
				close(b.done)
			}
		}()
	}
	wg.Add(1)
	go func() { // the reader
		defer wg.Done()
		defer close(work)
		defer close(ordered)
		send := func(b *batch) bool {
			select {
			case ordered <- b:
			case <-stop:
				return false
			}
			if b.err != nil {
				close(b.done)
				return true
			}
			select {
			case work <- b:
				return true
			case <-stop:
				return false
			}
		}
		fail := func(err error) { send(&batch{err: err, done: make(chan struct{})}) }
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte(keyTxn(spans[0].from)), UpperBound: prefixEnd(prefixTxn)})
		if err != nil {
			fail(err)
			return
		}
		defer it.Close()
		cur := &batch{vals: make([][]byte, 0, journalBatch), done: make(chan struct{})}
		for _, sp := range spans {
			end := []byte(keyTxn(sp.to))
			for valid := it.SeekGE([]byte(keyTxn(sp.from))); valid && bytes.Compare(it.Key(), end) < 0; valid = it.Next() {
				cur.vals = append(cur.vals, bytes.Clone(it.Value()))
				if len(cur.vals) == journalBatch {
					if !send(cur) {
						return
					}
					cur = &batch{vals: make([][]byte, 0, journalBatch), done: make(chan struct{})}
				}
			}
			if err := it.Error(); err != nil {
				fail(err)
				return
			}
		}
		send(cur)
	}()
	defer wg.Wait()
	defer close(stop)
	for b := range ordered {
		<-b.done
		if b.err != nil {
			return b.err
		}
		for _, t := range b.txns {
			if t.Kind == KindSettlement {
				continue // booked on no date
			}
			if t.BizDate != d {
				return fmt.Errorf("ledger: journal entry %d booked on %d inside a run of %s: %w", t.Seq, t.BizDate, FormatBusinessDate(d), errCorrupt)
			}
			if err := fn(t, n); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// JournalDates lists the business dates from..through (yyyymmdd,
// inclusive) that have journal entries, in order, from the journal's
// runs.
func (s *Store) JournalDates(from, through uint32) ([]uint32, error) {
	snap, done, err := s.snapshot()
	if err != nil {
		return nil, err
	}
	defer done()
	runs, err := journalRuns(snap)
	if err != nil {
		return nil, err
	}
	var out []uint32
	for _, r := range runs {
		if r.date >= from && r.date <= through {
			out = append(out, r.date)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// run is a stretch of the journal booked on one business date: the
// entries from first up to the next run's first (jr/, keys.go).
type run struct {
	first uint64
	date  uint32
}

// journalRuns reads every run, in sequence order: one key a business
// date (and one more for each time the clock was set back across a
// cut-off), so a few thousand after years of business.
func journalRuns(r reader) ([]run, error) {
	var runs []run
	err := scan(r, prefixRun, func(k, v []byte) error {
		rn, err := decodeRun(k, v)
		runs = append(runs, rn)
		return err
	})
	return runs, err
}

func decodeRun(k, v []byte) (run, error) {
	seq, ok := parseHex16(string(k[len(prefixRun):]))
	if !ok || len(v) != 8 || u64(v) > 99991231 || !validDate(uint32(u64(v))) {
		return run{}, fmt.Errorf("ledger: bad journal run %q: %w", k, errCorrupt)
	}
	return run{first: seq, date: uint32(u64(v))}, nil
}

// latestRunDate is the date of the journal's latest run (0: none), for
// the writer at Open and after a reopen.
func latestRunDate(db *pebble.DB) (uint32, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte(prefixRun), UpperBound: prefixEnd(prefixRun)})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, it.Error()
	}
	rn, err := decodeRun(it.Key(), it.Value())
	return rn.date, err
}

// span is the sequence numbers from..to-1.
type span struct{ from, to uint64 }

// dateSpans are the ranges of sequence numbers of date d's runs, in
// order, and the length of them all. The last run ends at the journal's
// end (meta/seq, written with every group).
func dateSpans(snap pebble.Reader, d uint32) ([]span, int, error) {
	runs, err := journalRuns(snap)
	if err != nil || len(runs) == 0 {
		return nil, 0, err
	}
	var spans []span
	n := 0
	for i, r := range runs {
		if r.date != d {
			continue
		}
		sp := span{from: r.first}
		if i+1 < len(runs) {
			sp.to = runs[i+1].first
		} else {
			next, err := readKey(snap, keyMetaSeq)
			if err != nil {
				return nil, 0, err
			}
			if len(next) != 8 || u64(next) <= r.first {
				return nil, 0, fmt.Errorf("ledger: journal run at %d past the next seq: %w", r.first, errCorrupt)
			}
			sp.to = u64(next)
		}
		spans = append(spans, sp)
		n += int(sp.to - sp.from)
	}
	return spans, n, nil
}
