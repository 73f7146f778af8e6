package metrics

import (
	"slices"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// Label values outside the contract's sets.
const (
	// LabelOther stands for any value the contract does not define.
	LabelOther = "other"
	// LabelNone stands for an absent field 3 (0800 carries none).
	LabelNone = "none"
)

// closedSet maps a peer-chosen value onto a fixed, small set of label
// values: the contract's values in ascending order, then the extras
// (LabelOther, and LabelNone where an empty value has a meaning).
type closedSet struct {
	known  []string // ascending
	values []string // known, then the extras: the label values by index
	none   int      // index of LabelNone, or -1
	other  int      // index of LabelOther
}

func newClosedSet(known []string, withNone bool) closedSet {
	k := slices.Clone(known)
	slices.Sort(k)
	s := closedSet{known: k, values: slices.Clone(k), none: -1}
	if withNone {
		s.none = len(s.values)
		s.values = append(s.values, LabelNone)
	}
	s.other = len(s.values)
	s.values = append(s.values, LabelOther)
	return s
}

// index is v's label index. It neither allocates nor keeps v. A linear
// scan of equality tests: for sets of a dozen short strings it is several
// times faster than a binary search's three-way compares, and this runs
// three times per request.
func (s *closedSet) index(v string) int {
	if v == "" && s.none >= 0 {
		return s.none
	}
	for i, k := range s.known {
		if k == v {
			return i
		}
	}
	return s.other
}

// The label sets of the contract (terminal-protocol.md sections 3 and 5).
var (
	mtiSet  = newClosedSet(wire.RequestMTIs(), false)
	procSet = newClosedSet(wire.ProcessingCodes(), true)
	rcSet   = newClosedSet(wire.ResponseCodes(), false)
)

// MTILabel is the label value of a request's MTI: one of the contract's
// request MTIs, else "other".
func MTILabel(mti string) string { return mtiSet.values[mtiSet.index(mti)] }

// ProcLabel is the label value of a request's field 3: one of the
// contract's processing codes, "none" when absent, else "other".
func ProcLabel(proc string) string { return procSet.values[procSet.index(proc)] }

// RCLabel is the label value of a response's field 39: one of the
// contract's response codes, else "other" (the host never sends one; the
// set is closed all the same).
func RCLabel(rc string) string { return rcSet.values[rcSet.index(rc)] }
