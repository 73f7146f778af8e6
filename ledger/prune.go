package ledger

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Stored responses are kept as long as the contract needs them and then
// pruned, so that the store does not grow without bound:
//
//   - at least IdentityRetention (48 hours) after the decision, because a
//     terminal may retransmit that long;
//   - while the request's batch (field 60) is not closed, because voids
//     and uploads name originals of the open batch by their identity;
//   - for a pre-authorization, until its hold period has passed (plus the
//     retention), because its completion names it by its identity.
//
// A pruned request that is sent again is decided afresh, as the contract
// allows after that time. Journal entries are never pruned.

// IdentityRetention is how long a stored response is kept at least.
const IdentityRetention = 48 * time.Hour

const (
	// pruneScanLimit bounds the identities one pass reads, and
	// pruneDeleteLimit those one writer op deletes.
	pruneScanLimit   = 100_000
	pruneDeleteLimit = 1_000
	// DefaultPruneInterval is how often the store prunes by itself.
	DefaultPruneInterval = time.Hour
)

// PruneStats says what one pruning pass did.
type PruneStats struct {
	Scanned int
	Pruned  int
	// Next is where the next pass resumes ("" when this one reached the
	// end of the identities).
	Next string
}

// PruneIdentities makes one bounded pass over the stored responses,
// starting after from (a key returned as Next, or "" for the start), and
// deletes those past their retention. Candidates are found on a snapshot
// and deleted by the writer, which checks each again, so a pass can run
// while the host serves.
func (s *Store) PruneIdentities(ctx context.Context, from string) (PruneStats, error) {
	var st PruneStats
	now := s.opts.Now()
	db, release, err := s.acquire()
	if err != nil {
		return st, err
	}
	defer release()
	snap := db.NewSnapshot()
	lower := []byte(prefixIdem)
	if from != "" {
		lower = append([]byte(from), 0)
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefixIdem)})
	if err != nil {
		snap.Close()
		return st, err
	}
	var candidates []string
	for it.First(); it.Valid(); it.Next() {
		if st.Scanned >= pruneScanLimit {
			st.Next = string(it.Key())
			break
		}
		st.Scanned++
		var rec IdemRecord
		if err := rec.decode(it.Value()); err != nil {
			it.Close()
			snap.Close()
			return st, err
		}
		if !s.expiredAt(&rec, now) {
			continue
		}
		candidates = append(candidates, string(it.Key()))
	}
	err = it.Close()
	snap.Close()
	if err != nil {
		return st, err
	}
	for len(candidates) > 0 && ctx.Err() == nil {
		n := min(len(candidates), pruneDeleteLimit)
		chunk := candidates[:n]
		candidates = candidates[n:]
		var pruned int
		err := s.update(ctx, func(t *tx) error {
			pruned = 0
			for _, key := range chunk {
				rec, err := getRecord[IdemRecord](t, key)
				if err != nil {
					return err
				}
				if rec == nil || !s.expiredAt(rec, now) {
					continue // written again since the snapshot
				}
				_, tid, _, ok := identityParts(key)
				if !ok {
					continue
				}
				if rec.Batch != 0 {
					b, err := getRecord[Batch](t, keyBatch(tid, rec.Batch))
					if err != nil {
						return err
					}
					if b != nil && b.State != BatchClosed {
						continue
					}
				}
				t.del(key)
				pruned++
			}
			return nil
		})
		if err != nil {
			return st, fmt.Errorf("ledger: prune identities: %w", err)
		}
		st.Pruned += pruned
	}
	return st, ctx.Err()
}

// expiredAt says whether rec is past its time-based retention; whether
// its batch is closed is checked by the writer.
func (s *Store) expiredAt(rec *IdemRecord, now time.Time) bool {
	keep := IdentityRetention
	if rec.Kind == KindPreAuth {
		keep += maxHoldDays * 24 * time.Hour
	}
	return now.Sub(time.Unix(0, rec.At)) > keep
}

// maxHoldDays is the longest hold period a program may set (Program.Validate).
const maxHoldDays = 60

// identityParts splits an identity key (keyIdem) into its field 7,
// terminal and STAN. Field 7 and the STAN are digits, so they are the
// first and last parts whatever the terminal ID holds.
func identityParts(key string) (f7, tid, stan string, ok bool) {
	k, ok := strings.CutPrefix(key, prefixIdem)
	first, last := strings.IndexByte(k, '/'), strings.LastIndexByte(k, '/')
	if !ok || first < 0 || last <= first {
		return "", "", "", false
	}
	return k[:first], k[first+1 : last], k[last+1:], true
}

// identityPartsV5 splits a format 1–5 identity key
// (idem/<tid>/<stan>/<field 7>), as identityParts.
func identityPartsV5(key string) (f7, tid, stan string, ok bool) {
	k, ok := strings.CutPrefix(key, prefixIdemV5)
	last := strings.LastIndexByte(k, '/')
	if !ok || last < 0 {
		return "", "", "", false
	}
	mid := strings.LastIndexByte(k[:last], '/')
	if mid < 0 {
		return "", "", "", false
	}
	return k[last+1:], k[:mid], k[mid+1 : last], true
}

// runPruner prunes stored responses every interval until the store closes,
// one bounded pass at a time.
func (s *Store) runPruner(interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	next := ""
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		st, err := s.PruneIdentities(ctx, next)
		cancel()
		if err != nil {
			if ctx.Err() == nil && s.fault.Load() == nil {
				s.log.Warn().Err(err).Msg("pruning stored responses")
			}
			continue
		}
		next = st.Next
		if st.Pruned > 0 {
			s.log.Info().Int("scanned", st.Scanned).Int("pruned", st.Pruned).Msg("stored responses pruned")
		}
	}
}
