package terminal

import (
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// addSeeds adds the shared corpus of a fuzz target (internal/fuzzseed).
func addSeeds(f *testing.F, name string) { fuzzseed.Add(f, name) }
