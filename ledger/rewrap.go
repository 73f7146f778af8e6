package ledger

// rewrap.go: the store's side of rotating the host master key. Every
// sealed value the store keeps is visited on a snapshot (visitSealed:
// the checker, rotation progress) and re-sealed under the ring's current
// key (RewrapSecrets).
//
// What is sealed: the PIN verification key (meta/pvk), each program's
// IMK, each terminal's TMK, and each terminal state's working keys (TPK,
// TAK). Card PIN data is not sealed: it is a salted HMAC under the PVK,
// and a rotation re-wraps the PVK without changing it, so every card's
// PIN data stays valid and is not touched.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// secretKind is the field a sealed value is kept in.
type secretKind uint8

const (
	secretPVK secretKind = iota
	secretIMK
	secretTMK
	secretTPK
	secretTAK
)

// sealedValue is one sealed value of the store. sealed is valid only
// during the visit that passes it.
type sealedValue struct {
	kind   secretKind
	id     string // program id or tid; "" for the PVK
	sealed []byte
}

func (v sealedValue) aad() []byte {
	switch v.kind {
	case secretIMK:
		return aadIMK(v.id)
	case secretTMK:
		return aadTMK(v.id)
	case secretTPK:
		return aadTPK(v.id)
	case secretTAK:
		return aadTAK(v.id)
	default:
		return aadPVK()
	}
}

// name says which value it is, for errors and the checker's problems:
// program ids and TIDs, never key material.
func (v sealedValue) name() string {
	switch v.kind {
	case secretIMK:
		return "IMK of program " + v.id
	case secretTMK:
		return "TMK of tid " + v.id
	case secretTPK:
		return "TPK of tid " + v.id
	case secretTAK:
		return "TAK of tid " + v.id
	default:
		return "PIN verification key"
	}
}

// visitSealed calls fn for every sealed value on r in key order, until
// ctx ends. It streams: memory does not grow with the number of
// terminals.
func visitSealed(ctx context.Context, r reader, visit func(sealedValue) error) error {
	fn := func(v sealedValue) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return visit(v)
	}
	err := scan(r, keyMetaPVK, func(k, v []byte) error {
		if string(k) != keyMetaPVK {
			return nil
		}
		return fn(sealedValue{kind: secretPVK, sealed: v})
	})
	if err != nil {
		return err
	}
	// Only the sealed field of a registry record is decoded.
	var prog struct {
		IMK []byte `json:"imk_sealed"`
	}
	err = scan(r, prefixProgram, func(k, v []byte) error {
		id := string(k[len(prefixProgram):])
		prog.IMK = nil
		if err := json.Unmarshal(v, &prog); err != nil {
			return fmt.Errorf("ledger: decode program %s: %w", id, err)
		}
		if prog.IMK == nil {
			return nil
		}
		return fn(sealedValue{kind: secretIMK, id: id, sealed: prog.IMK})
	})
	if err != nil {
		return err
	}
	var term struct {
		TMK []byte `json:"tmk_sealed"`
	}
	err = scan(r, prefixTerminal, func(k, v []byte) error {
		tid := string(k[len(prefixTerminal):])
		term.TMK = nil
		if err := json.Unmarshal(v, &term); err != nil {
			return fmt.Errorf("ledger: decode terminal %s: %w", tid, err)
		}
		if term.TMK == nil {
			return nil
		}
		return fn(sealedValue{kind: secretTMK, id: tid, sealed: term.TMK})
	})
	if err != nil {
		return err
	}
	return scan(r, prefixTermState, func(k, v []byte) error {
		tid := string(k[len(prefixTermState):])
		var st TerminalState
		if err := st.decode(v); err != nil {
			return fmt.Errorf("ledger: decode state of tid %s: %w", tid, err)
		}
		if st.TPK != nil {
			if err := fn(sealedValue{kind: secretTPK, id: tid, sealed: st.TPK}); err != nil {
				return err
			}
		}
		if st.TAK != nil {
			if err := fn(sealedValue{kind: secretTAK, id: tid, sealed: st.TAK}); err != nil {
				return err
			}
		}
		return nil
	})
}

// SecretsSealedBy visits every sealed value in the store, on a snapshot,
// with its name ("TMK of tid T0000101"); sealed is valid only during the
// call.
func (s *Store) SecretsSealedBy(ctx context.Context, visit func(name string, sealed, aad []byte) error) error {
	snap, done, err := s.snapshot()
	if err != nil {
		return err
	}
	defer done()
	return visitSealed(ctx, snap, func(v sealedValue) error { return visit(v.name(), v.sealed, v.aad()) })
}

// sealInspector is what the checker asks of a Sealer beyond Seal and
// Open, when it offers it (keys.Ring does): which KEK sealed a value, and
// which one seals new values.
type sealInspector interface {
	SealedBy(sealed []byte) (string, error)
	CurrentID() string
}

// SecretsReport is the checker's account of the store's sealed values.
type SecretsReport struct {
	// Values is how many sealed values the store holds.
	Values int `json:"values"`
	// ByKEK counts them by the id of the KEK that sealed them: during a
	// rotation, old and new; after it, only CurrentKEK. Empty when the
	// store's Sealer cannot say (or the store has none).
	ByKEK map[string]int `json:"by_kek,omitempty"`
	// CurrentKEK is the id of the KEK new values are sealed by.
	CurrentKEK string `json:"current_kek,omitempty"`
	// Verified: every value was opened with its record's AAD. False when
	// the store was opened without a Sealer (a read-only check without
	// the key): then the values were only counted.
	Verified bool `json:"verified"`
}

// Settled reports whether every sealed value is under the current KEK:
// a rotation may retire the old key.
func (r SecretsReport) Settled() bool {
	return r.CurrentKEK != "" && r.ByKEK[r.CurrentKEK] == r.Values
}

// KEKs lists the ids of ByKEK, the current one first, then by id.
func (r SecretsReport) KEKs() []string {
	ids := make([]string, 0, len(r.ByKEK))
	for id := range r.ByKEK {
		if id != r.CurrentKEK {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if _, ok := r.ByKEK[r.CurrentKEK]; ok {
		ids = append([]string{r.CurrentKEK}, ids...)
	}
	return ids
}

// String is the one-line summary the CLI prints.
func (r SecretsReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d sealed values", r.Values)
	if len(r.ByKEK) > 0 {
		b.WriteString(":")
		for i, id := range r.KEKs() {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, " %d by %s", r.ByKEK[id], id)
			if id == r.CurrentKEK {
				b.WriteString(" (current)")
			}
		}
	}
	if r.Verified {
		b.WriteString("; every one opens")
	} else {
		b.WriteString("; not opened (no host master key given)")
	}
	return b.String()
}

// CheckSecrets is the sealed-value part of Check on its own, for a
// rotation's progress and verification: it counts the values by KEK and,
// when the store has a Sealer, opens every one with its record's AAD. It
// returns the problems found (a value that does not parse, does not open
// — corrupted, or moved from another record — or is sealed by a KEK the
// ring does not hold), each naming the record, never a secret.
func (s *Store) CheckSecrets(ctx context.Context) (SecretsReport, []string, error) {
	snap, done, err := s.snapshot()
	if err != nil {
		return SecretsReport{}, nil, err
	}
	defer done()
	var problems []string
	rep, err := s.checkSecrets(ctx, snap, func(format string, args ...any) {
		if len(problems) < maxCheckProblems {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	})
	return rep, problems, err
}

func (s *Store) checkSecrets(ctx context.Context, r reader, problem func(string, ...any)) (SecretsReport, error) {
	var rep SecretsReport
	sl := s.opts.Sealer
	insp, _ := sl.(sealInspector)
	if insp != nil {
		rep.CurrentKEK = insp.CurrentID()
		rep.ByKEK = map[string]int{}
	}
	rep.Verified = sl != nil
	err := visitSealed(ctx, r, func(v sealedValue) error {
		rep.Values++
		if insp != nil {
			id, err := insp.SealedBy(v.sealed)
			if err != nil {
				problem("sealed %s: %v", v.name(), err)
				return nil
			}
			rep.ByKEK[id]++
		}
		if sl == nil {
			return nil
		}
		pt, err := sl.Open(v.sealed, v.aad())
		if err != nil {
			problem("sealed %s does not open: %v", v.name(), err)
			return nil
		}
		if v.kind == secretPVK && len(pt) != pvkLen {
			problem("sealed %s: %d bytes, want %d", v.name(), len(pt), pvkLen)
		}
		clear(pt)
		return nil
	})
	return rep, err
}

// Rewrapper re-seals a sealed value under the current master key,
// reporting whether it changed (keys.Ring.Rewrap: a value already under
// the current key comes back unchanged, unopened).
type Rewrapper func(sealed, aad []byte) ([]byte, bool, error)

// DefaultRewrapBatch is how many re-sealed values one ledger change
// writes: enough that a rotation of 50,000 terminals is a few hundred
// synced commits, few enough that the writer is not held for long.
const DefaultRewrapBatch = 128

// RewrapOptions tune RewrapSecrets.
type RewrapOptions struct {
	// Batch is how many re-sealed values one ledger change writes
	// (default DefaultRewrapBatch; at most maxOpsPerBatch).
	Batch int
	// Progress, when set, is called after each change is durable.
	Progress func(RewrapProgress)
}

// RewrapProgress counts a RewrapSecrets run.
type RewrapProgress struct {
	// Visited is how many sealed values have been looked at.
	Visited int
	// Rewrapped is how many were re-sealed and are durable.
	Rewrapped int
	// Moved is how many changed between the read and the write (a
	// sign-on installed new working keys, an operator loaded a new TMK):
	// their new value was sealed by whatever key sealed it, and is left
	// as it is. Verify with CheckSecrets afterwards.
	Moved int
}

// rewrapItem is one value to swap: old for new, if it is still old.
type rewrapItem struct {
	kind     secretKind
	id       string
	old, new []byte
}

// RewrapSecrets re-seals every sealed value of the store with rewrap
// (keys.Ring.Rewrap) and returns the counts.
//
// It reads the committed values on a snapshot, streaming, and re-seals
// them outside the writer, so the KEK's work (a round trip each on a
// PKCS#11 token) never holds up authorizations. Each batch of re-sealed
// values is then written as one ledger change, in which every value is
// compared with what was read and replaced only if it is unchanged: a
// sign-on that installed new working keys meanwhile keeps them (they are
// sealed by the store's Sealer, i.e. the current key of the ring), never
// overwritten by an older value. A crash leaves each value sealed by the
// old key or the new one, both of which the ring opens, and running it
// again finishes the work: values already under the current key are
// skipped unopened.
func (s *Store) RewrapSecrets(ctx context.Context, rewrap Rewrapper, opts RewrapOptions) (RewrapProgress, error) {
	if opts.Batch <= 0 {
		opts.Batch = DefaultRewrapBatch
	}
	opts.Batch = min(opts.Batch, maxOpsPerBatch)
	var prog RewrapProgress
	page := make([]rewrapItem, 0, opts.Batch)
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err // not after the change: update may commit it anyway
		}
		swapped := 0
		err := s.update(ctx, func(t *tx) error {
			swapped = 0
			for i := range page {
				ok, err := page[i].swap(t)
				if err != nil {
					return fmt.Errorf("ledger: re-seal %s: %w", sealedValue{kind: page[i].kind, id: page[i].id}.name(), err)
				}
				if ok {
					swapped++
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		prog.Rewrapped += swapped
		prog.Moved += len(page) - swapped
		page = page[:0]
		if opts.Progress != nil {
			opts.Progress(prog)
		}
		return nil
	}
	snap, done, err := s.snapshot()
	if err != nil {
		return prog, err
	}
	defer done()
	err = visitSealed(ctx, snap, func(v sealedValue) error {
		prog.Visited++
		nv, changed, err := rewrap(v.sealed, v.aad())
		if err != nil {
			return fmt.Errorf("ledger: re-seal %s: %w", v.name(), err)
		}
		if !changed {
			return nil
		}
		page = append(page, rewrapItem{kind: v.kind, id: v.id, old: bytes.Clone(v.sealed), new: nv})
		if len(page) < opts.Batch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	return prog, err
}

// swap replaces the value in its record if it still holds old, and says
// whether it did. It runs in the writer.
func (it *rewrapItem) swap(t *tx) (bool, error) {
	switch it.kind {
	case secretPVK:
		v, err := t.get(keyMetaPVK)
		if err != nil || !bytes.Equal(v, it.old) {
			return false, err
		}
		t.set(keyMetaPVK, it.new)
		return true, nil
	case secretIMK:
		p, err := registryGet[Program](t, keyProgram(it.id))
		if err != nil || p == nil || !bytes.Equal(p.IMK, it.old) {
			return false, err
		}
		cp := *p // the cached record is shared: never edit it in place
		cp.IMK = it.new
		return true, registryPut(t, keyProgram(it.id), &cp)
	case secretTMK:
		term, err := registryGet[Terminal](t, keyTerminal(it.id))
		if err != nil || term == nil || !bytes.Equal(term.TMK, it.old) {
			return false, err
		}
		cp := *term
		cp.TMK = it.new
		return true, registryPut(t, keyTerminal(it.id), &cp)
	default: // secretTPK, secretTAK
		st, err := getRecord[TerminalState](t, keyTermState(it.id))
		if err != nil || st == nil {
			return false, err
		}
		f := &st.TPK
		if it.kind == secretTAK {
			f = &st.TAK
		}
		if !bytes.Equal(*f, it.old) {
			return false, nil
		}
		*f = it.new
		t.put(keyTermState(it.id), st)
		return true, nil
	}
}
