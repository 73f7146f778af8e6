package ledger

import (
	"fmt"
	"strconv"
	"testing"
)

// TestKeyLayouts: the keys built without fmt are byte for byte the
// layouts keys.go documents (stores already hold them).
func TestKeyLayouts(t *testing.T) {
	for _, n := range []uint32{0, 7, 999999, 1000000, 4294967295} {
		if got, want := keyBatch("T0000101", n), fmt.Sprintf("batch/T0000101/%06d", n); got != want {
			t.Errorf("keyBatch: %q, want %q", got, want)
		}
	}
	for _, seq := range []uint64{0, 1, 0xabcdef, 1<<64 - 1} {
		if got, want := keyRun(seq), "jr/"+fmt.Sprintf("%016x", seq); got != want {
			t.Errorf("keyRun: %q, want %q", got, want)
		}
		if got, want := keyTxn(seq), "txn/"+fmt.Sprintf("%016x", seq); got != want {
			t.Errorf("keyTxn: %q, want %q", got, want)
		}
	}
	if got, want := keyCardDayV3("6210000000000011", 20261201), "cday/6210000000000011/"+strconv.Itoa(20261201); got != want {
		t.Errorf("keyCardDayV3: %q, want %q", got, want)
	}
	if got, want := keyCardDay("6210000000000011"), "cday/6210000000000011"; got != want {
		t.Errorf("keyCardDay: %q, want %q", got, want)
	}
}
