// Package fuzzseed loads the seed corpora of the repository's fuzz
// targets. House rule 10 keeps every corpus in the shared testdata/fuzz
// directory at the module root, in Go's corpus file format; Go reads
// testdata/fuzz only inside the package directory, so each target adds
// the shared seeds with Add.
package fuzzseed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Dir is the corpus directory of a fuzz target.
func Dir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "fuzz", name)
}

// Add adds every seed of the named target's corpus, each a single []byte
// or string value. An empty corpus, or a file it cannot read, fails the
// target.
func Add(f *testing.F, name string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(name), "*"))
	if err != nil || len(files) == 0 {
		f.Fatalf("seed corpus %s: %v (%d files): every fuzz target keeps seeds", Dir(name), err, len(files))
	}
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		v, err := Parse(string(raw))
		if err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		f.Add(v)
	}
}

// Parse reads a one-value corpus file holding []byte("…") or "…".
func Parse(content string) (any, error) {
	lines := strings.Split(strings.TrimRight(content, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, errors.New("not a one-value go test fuzz v1 file")
	}
	lit := lines[1]
	if inner, ok := strings.CutPrefix(lit, "[]byte("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return nil, errors.New("unterminated []byte(…)")
		}
		s, err := strconv.Unquote(inner)
		return []byte(s), err
	}
	if inner, ok := strings.CutPrefix(lit, "string("); ok {
		lit, _ = strings.CutSuffix(inner, ")")
	}
	s, err := strconv.Unquote(lit)
	return s, err
}

// Format renders one []byte value as a corpus file.
func Format(data []byte) string {
	return fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
}
