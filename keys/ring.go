package keys

import (
	"errors"
	"fmt"
	"strings"
)

// maxRingKEKs bounds a ring: the current KEK and the older ones of a
// rotation in progress. One rotation at a time needs two.
const maxRingKEKs = 4

// Ring is the current KEK plus the older ones a rotation has not yet
// retired. Seal always uses the current KEK; Open asks the KEK the blob
// names. A Ring is safe for concurrent use when its KEKs are (all of this
// package's are).
type Ring struct {
	current KEK
	all     []KEK // current first
	byID    map[string]KEK
}

// NewRing makes a ring of current and the older KEKs still needed to open
// blobs sealed before a rotation. It refuses a nil KEK, two KEKs with one
// id (a blob could not say which opens it) and more than maxRingKEKs.
func NewRing(current KEK, older ...KEK) (*Ring, error) {
	all := append([]KEK{current}, older...)
	if len(all) > maxRingKEKs {
		return nil, fmt.Errorf("keys: ring of %d KEKs (limit %d): finish one rotation before starting another", len(all), maxRingKEKs)
	}
	r := &Ring{current: current, all: all, byID: make(map[string]KEK, len(all))}
	for i, k := range all {
		if k == nil {
			return nil, fmt.Errorf("keys: ring: KEK %d is nil", i)
		}
		id := k.ID()
		if err := checkID(id); err != nil {
			return nil, fmt.Errorf("keys: ring: %v", err)
		}
		if _, dup := r.byID[id]; dup {
			return nil, fmt.Errorf("keys: ring: two KEKs with id %s", id)
		}
		r.byID[id] = k
	}
	return r, nil
}

// CurrentID is the id of the KEK new blobs are sealed by.
func (r *Ring) CurrentID() string { return r.current.ID() }

// IDs lists the ids of the ring's KEKs, current first.
func (r *Ring) IDs() []string {
	ids := make([]string, len(r.all))
	for i, k := range r.all {
		ids[i] = k.ID()
	}
	return ids
}

// SealedBy names the KEK that sealed a blob (the package function
// SealedBy, as a method so that a consumer holding only its Sealer can
// count a rotation's progress without importing this package).
func (r *Ring) SealedBy(sealed []byte) (string, error) { return SealedBy(sealed) }

// Seal seals under the current KEK.
func (r *Ring) Seal(plaintext, aad []byte) ([]byte, error) {
	return r.current.Seal(plaintext, aad)
}

// Open opens a blob with whichever of the ring's KEKs sealed it.
func (r *Ring) Open(sealed, aad []byte) ([]byte, error) {
	id, err := SealedBy(sealed)
	if err != nil {
		return nil, err
	}
	k, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("keys: cannot open sealed %d bytes: %w: %s (ring holds %s)", len(sealed), ErrUnknownKEK, id, strings.Join(r.IDs(), ", "))
	}
	return k.Open(sealed, aad)
}

// Rewrap re-seals a blob under the current KEK when an older KEK sealed
// it, and says whether it did. A blob already under the current KEK comes
// back unchanged (rewrapped false) without being opened, so a rotation
// interrupted by a crash resumes by calling Rewrap on every record again.
// The plaintext exists only inside Rewrap and is wiped before it returns.
func (r *Ring) Rewrap(sealed, aad []byte) (out []byte, rewrapped bool, err error) {
	id, err := SealedBy(sealed)
	if err != nil {
		return nil, false, err
	}
	if id == r.current.ID() {
		return sealed, false, nil
	}
	pt, err := r.Open(sealed, aad)
	if err != nil {
		return nil, false, err
	}
	defer wipe(pt)
	out, err = r.current.Seal(pt, aad)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// Close closes every KEK of the ring and reports every failure.
func (r *Ring) Close() error {
	var errs []error
	for _, k := range r.all {
		if err := k.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
