package provision

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seedDir holds the fuzz seeds: plain YAML files, read explicitly (they
// live in the repository's shared testdata/fuzz, not in this package).
const seedDir = "../testdata/fuzz/FuzzProvisionParse"

// FuzzProvisionParse: Parse never panics; a failure is a non-empty
// ErrorList that shows no clear PAN; a success is a File that validates,
// whose every record the ledger accepts.
func FuzzProvisionParse(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join(seedDir, "*"))
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in %s: %v", seedDir, err)
	}
	for _, p := range append(seeds, demoPath) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			var l ErrorList
			if !errors.As(err, &l) || len(l) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			if d := longDigits.FindString(err.Error()); d != "" {
				t.Fatalf("error shows a long digit run %q:\n%v", d, err)
			}
			return
		}
		if err := file.Validate(); err != nil {
			t.Fatalf("parsed file does not validate: %v", err)
		}
		named := 0
		for _, c := range file.Cards {
			if err := c.Card.Validate(); err != nil {
				t.Fatalf("ledger refuses a parsed card: %v", err)
			}
			if c.Name != "" {
				named++
			}
		}
		if named != len(file.Aliases) {
			t.Fatalf("%d named cards, %d aliases", named, len(file.Aliases))
		}
		for _, p := range file.Programs {
			if err := p.Validate(); err != nil {
				t.Fatalf("ledger refuses a parsed program: %v", err)
			}
		}
		for _, m := range file.Merchants {
			if err := m.Validate(); err != nil {
				t.Fatalf("ledger refuses a parsed merchant: %v", err)
			}
		}
		for _, tm := range file.Terminals {
			if err := tm.Validate(); err != nil {
				t.Fatalf("ledger refuses a parsed terminal: %v", err)
			}
		}
	})
}
