package metrics_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/metrics"
)

// The dashboard and the operations manual name only metrics the host
// exposes, and the manual names every one of them: the docs cannot
// drift from the code unnoticed.
func TestDocsNameTheMetrics(t *testing.T) {
	m := metrics.New()
	m.RequestDone("0200", "000000", "00", time.Millisecond)
	m.CommitDone(1, time.Millisecond)
	m.AddListener("127.0.0.1:8583", "tcp")
	m.WatchStore(fakeStore{})
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exposed []string
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "cardcenter_") {
			exposed = append(exposed, f.GetName())
		}
	}
	named := regexp.MustCompile(`cardcenter_[a-z_]+[a-z]`)
	strip := regexp.MustCompile(`_(bucket|sum|count)$`)
	for _, doc := range []string{"../../docs/grafana-dashboard.json", "../../docs/operations.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, n := range named.FindAllString(string(b), -1) {
			if !slices.Contains(exposed, n) {
				n = strip.ReplaceAllString(n, "")
			}
			if !slices.Contains(exposed, n) {
				t.Errorf("%s names %s, which the host does not expose", doc, n)
			}
			seen[n] = true
		}
		if strings.HasSuffix(doc, ".md") {
			for _, n := range exposed {
				if !seen[n] {
					t.Errorf("%s does not describe %s", doc, n)
				}
			}
		}
	}
}
