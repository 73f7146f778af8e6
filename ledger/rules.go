package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cardcenter/cardcenter/loyalty"
)

// rules.go: the versions of a program's loyalty rules. A change of rules
// applies to transactions after it, and every earning records the version
// it was computed under, so versions are never rewritten: each one the
// store assigns is kept under reg/rules/<program>/<version> for good.

// versionRules decides the rules a program record is stored with, given
// the stored ones (prev, nil for none) and the new ones (next, nil: keep
// the stored). Rules equal to the stored ones, Version aside, keep their
// version; different ones get the next version and a history record.
// next is not modified.
func versionRules(t *tx, prog string, prev, next *loyalty.Rules) (*loyalty.Rules, error) {
	if next == nil {
		return prev, nil
	}
	r := *next
	if prev != nil {
		same, err := sameRules(prev, &r)
		if err != nil {
			return nil, err
		}
		if same {
			r.Version = prev.Version
			return &r, nil
		}
		r.Version = prev.Version + 1
	} else {
		r.Version = 1
	}
	if err := registryPut(t, keyRules(prog, r.Version), &r); err != nil {
		return nil, fmt.Errorf("program %s loyalty version %d: %w", prog, r.Version, err)
	}
	return &r, nil
}

// sameRules compares two rules by their JSON with Version cleared: the
// encoding is canonical (fields in declaration order, empty lists
// omitted), so a list given as nil or empty is the same rule, while a
// reordered list is a change (tier order is meaningful; campaign order is
// not, but a needless version is harmless).
func sameRules(a, b *loyalty.Rules) (bool, error) {
	ca, cb := *a, *b
	ca.Version, cb.Version = 0, 0
	ja, err := json.Marshal(&ca)
	if err != nil {
		return false, err
	}
	jb, err := json.Marshal(&cb)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ja, jb), nil
}

// LoyaltyRules reads version version of a program's loyalty rules, the
// current one or an earlier one; ErrNotFound when the program never had
// that version.
func (s *Store) LoyaltyRules(program string, version int) (*loyalty.Rules, error) {
	if version < 1 {
		return nil, fmt.Errorf("program %q loyalty version %d: %w", program, version, ErrNotFound)
	}
	r, err := readJSON[loyalty.Rules](s, keyRules(program, version))
	if err != nil {
		return nil, fmt.Errorf("program %q loyalty version %d: %w", program, version, err)
	}
	return r, nil
}
