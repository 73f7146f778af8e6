package ledger

// journal_scan.go: reading one business date's journal, in order, fast
// enough for the nightly settlement of a million entries.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
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
// d (the jd/<d>/ index), in sequence order, from one snapshot; n is the
// number of entries of the date, known before the first call (for a
// progress bar, or to size what fn keeps). The index gives the seqs; the
// entries are read in one forward pass over txn/ (a date's entries are
// nearly contiguous in sequence, so most steps are a Next, not a seek)
// by one goroutine, decoded in batches by journalDecoders others, and
// handed to fn in order on this one, so that reading, decoding and
// deciding overlap. The Txn is fn's to keep.
func (s *Store) JournalByDate(ctx context.Context, d uint32, fn func(t *Txn, n int) error) error {
	snap, done, err := s.snapshot()
	if err != nil {
		return err
	}
	defer done()
	seqs, err := dateSeqs(snap, d)
	if err != nil || len(seqs) == 0 {
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
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte(keyTxn(seqs[0])), UpperBound: prefixEnd(prefixTxn)})
		if err != nil {
			fail(err)
			return
		}
		defer it.Close()
		var want [len(prefixTxn) + 16]byte
		copy(want[:], prefixTxn)
		cur := &batch{vals: make([][]byte, 0, journalBatch), done: make(chan struct{})}
		valid := it.First()
		for _, seq := range seqs {
			for j := 15; j >= 0; j-- {
				want[len(prefixTxn)+j] = hexDigits[(seq>>(4*(15-j)))&0xf]
			}
			if !valid || string(it.Key()) != string(want[:]) {
				valid = it.SeekGE(want[:])
				if !valid || string(it.Key()) != string(want[:]) {
					err := it.Error()
					if err == nil {
						err = fmt.Errorf("ledger: journal entry %d indexed on %s but missing", seq, FormatBusinessDate(d))
					}
					fail(err)
					return
				}
			}
			cur.vals = append(cur.vals, bytes.Clone(it.Value()))
			if len(cur.vals) == journalBatch {
				if !send(cur) {
					return
				}
				cur = &batch{vals: make([][]byte, 0, journalBatch), done: make(chan struct{})}
			}
			valid = it.Next()
		}
		if err := it.Error(); err != nil {
			fail(err)
			return
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
			if err := fn(t, len(seqs)); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// dateSeqs are the sequence numbers of the journal entries booked on
// business date d, ascending, from its index (jd/<d>/).
func dateSeqs(snap reader, d uint32) ([]uint64, error) {
	prefix := prefixByDate + strconv.Itoa(int(d)) + "/"
	var seqs []uint64
	err := scan(snap, prefix, func(k, _ []byte) error {
		key := k[len(prefix):]
		if len(key) < 17 || key[len(key)-17] != '/' {
			return fmt.Errorf("ledger: bad date index key under %s", prefix)
		}
		seq, ok := parseHex16(string(key[len(key)-16:]))
		if !ok {
			return fmt.Errorf("ledger: bad date index key under %s", prefix)
		}
		seqs = append(seqs, seq)
		return nil
	})
	slices.Sort(seqs)
	return seqs, err
}
