package terminal

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// addSeeds adds the corpus files of ../testdata/fuzz/<name>/ (Go's corpus
// format, one string argument) to f. Go only loads package-local testdata
// by itself.
func addSeeds(f *testing.F, name string) {
	f.Helper()
	dir := filepath.Join("..", "testdata", "fuzz", name)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("seeds: %v", err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		if !sc.Scan() || sc.Text() != "go test fuzz v1" {
			f.Fatalf("seed %s: not a Go fuzz corpus file", e.Name())
		}
		if !sc.Scan() {
			f.Fatalf("seed %s: no value", e.Name())
		}
		line := sc.Text()
		inner, ok := strings.CutPrefix(line, "string(")
		inner, ok2 := strings.CutSuffix(inner, ")")
		if !ok || !ok2 {
			f.Fatalf("seed %s: want one string(...) value, got %q", e.Name(), line)
		}
		v, err := strconv.Unquote(inner)
		if err != nil {
			f.Fatalf("seed %s: %v", e.Name(), err)
		}
		f.Add(v)
		n++
	}
	if n == 0 {
		f.Fatalf("seeds: none in %s", dir)
	}
}
