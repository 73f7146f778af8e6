package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// The fuzz seeds were sealed under testKey with fuzzAAD; these are the
// only plaintexts any of them holds.
var (
	fuzzAAD    = []byte("fuzz/aad")
	fuzzPlains = [][]byte{[]byte("tmk-0123456789AB"), {}}
)

// FuzzSoftwareOpen feeds arbitrary bytes to the software KEK's Open (and
// SealedBy): no input panics, and nothing opens but a blob the key really
// sealed, so a mutation of a valid blob never opens, whether the fuzzer
// makes it from a seed or the target XORs the input into a fresh blob.
func FuzzSoftwareOpen(f *testing.F) {
	fuzzseed.Add(f, f.Name())
	k, err := NewSoftware(testKey)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := k.Seal(fuzzPlains[0], fuzzAAD)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, idErr := SealedBy(data)
		pt, err := k.Open(data, fuzzAAD)
		if err == nil {
			if idErr != nil || id != k.ID() {
				t.Fatalf("opened a blob SealedBy says is %q, %v", id, idErr)
			}
			known := false
			for _, p := range fuzzPlains {
				known = known || bytes.Equal(pt, p)
			}
			if !known {
				t.Fatalf("opened %d bytes no seed sealed: a forged blob", len(pt))
			}
		}
		m := bytes.Clone(valid)
		for i, d := range data {
			m[i%len(m)] ^= d
		}
		if !bytes.Equal(m, valid) {
			if _, err := k.Open(m, fuzzAAD); err == nil {
				t.Fatal("a valid blob with bytes changed opened")
			}
		}
		if len(data) > 0 {
			if _, err := k.Open(append(bytes.Clone(valid), data...), fuzzAAD); err == nil {
				t.Fatal("a valid blob with bytes appended opened")
			}
		}
	})
}

// TestFuzzSeedsOpen keeps the corpus honest: its valid seeds open, so the
// fuzzer starts from the success path, not only from rejections.
func TestFuzzSeedsOpen(t *testing.T) {
	k := mustSoftware(t, testKey)
	for _, name := range []string{"valid", "valid-empty"} {
		raw, err := os.ReadFile(filepath.Join(fuzzseed.Dir("FuzzSoftwareOpen"), name))
		if err != nil {
			t.Fatal(err)
		}
		v, err := fuzzseed.Parse(string(raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.Open(v.([]byte), fuzzAAD); err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
	}
}
