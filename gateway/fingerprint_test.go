package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// fingerprintReference is fingerprint as first written (sorted field
// numbers, a hash.Hash): the ledger stores fingerprints, so the faster
// one must give these bytes for every message (FuzzToRequest checks).
func fingerprintReference(mti string, m *wire.Message) [16]byte {
	nums := make([]int, 0, len(m.Fields))
	for n := range m.Fields {
		if n != 64 && n != 128 {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	h := sha256.New()
	buf := make([]byte, 0, 512)
	buf = append(buf, mti...)
	for _, n := range nums {
		v := m.Fields[n]
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(len(v)), 10)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	h.Write(buf)
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// A purchase's fingerprint, as stored by every release so far; the MAC
// fields are left out, and a repeat folds into its first.
func TestFingerprintStored(t *testing.T) {
	m := purchase("T0000101", "000042", 1250)
	const want = "a4e28998177d4e7c1f2ad9f9983c0360"
	for _, mm := range []*wire.Message{m, m.Clone().Set(64, "MACMACMA"), m.Clone().Set(128, "MACMACMA")} {
		if got := fingerprint(repeatOf(mm.MTI), mm); hex.EncodeToString(got[:]) != want {
			t.Errorf("fingerprint %x, want %s", got, want)
		}
		if got := fingerprintReference(mm.MTI, mm); hex.EncodeToString(got[:]) != want {
			t.Errorf("reference fingerprint %x, want %s", got, want)
		}
	}
	long := m.Clone().Set(48, string(make([]byte, 999))).Set(60, "000001")
	if fingerprint(long.MTI, long) != fingerprintReference(long.MTI, long) {
		t.Error("a request longer than the fingerprint's stack buffer digests differently")
	}
}
