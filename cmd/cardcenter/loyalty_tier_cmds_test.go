package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// loyaltyRun runs a verb of the admin commands or of `loyalty`.
func loyaltyRun(t *testing.T, g *globalFlags, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "cardcenter", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(adminCommands(g)...)
	addLoyaltyVerbs(root, newReviewTiersCmd(g))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestLoyaltyVerbsThroughAPI: `card show` has the loyalty section,
// `card loyalty` the full view (no clear PAN in either), and
// `loyalty review-tiers` goes through the running host, once a month.
func TestLoyaltyVerbsThroughAPI(t *testing.T) {
	// The host's cleanup runs first (cleanups run last-in, first-out),
	// then the leak check.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	g, st, f, _ := demoAdminHost(t)
	alice, _ := f.Alias("alice")
	var all strings.Builder
	run := func(wants []string, args ...string) {
		t.Helper()
		out, err := loyaltyRun(t, g, args...)
		all.WriteString(out)
		if err != nil {
			t.Fatalf("%s: %v\n%s", args, err, out)
		}
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", args, want, out)
			}
		}
	}
	// The demo gives alice 500 points in one lot, at Pearl.
	run([]string{"tier", "Pearl", "points", "500", "lot 0000", "expires 2027-", "visits"}, "card", "show", alice.PAN)
	run([]string{"tier history:", "earnings (newest first, at most 50):", "adjust"}, "card", "loyalty", "alice", "--cards", adminTestDemo)
	run([]string{`"pan": "` + cardnum.Mask(alice.PAN) + `"`, `"lots": [`, `"earnings": [`}, "card", "loyalty", alice.PAN, "--json")
	month := st.LastEndedMonth()
	run([]string{"tier review " + month + " through the running host"}, "loyalty", "review-tiers", "--month", month)
	run([]string{"already done"}, "loyalty", "review-tiers", "--month", month)
	adminNoClearPAN(t, f, all.String())
	for _, bad := range []string{"2026-13", "9999-01"} {
		if out, err := loyaltyRun(t, g, "loyalty", "review-tiers", "--month", bad); err == nil || !strings.Contains(err.Error(), "month") {
			t.Errorf("--month %s: %v\n%s", bad, err, out)
		}
	}
}

// TestReviewTiersWithoutHost: with no host, the review opens the store
// itself, once per month.
func TestReviewTiersWithoutHost(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	g := &globalFlags{DataDir: dir, AdminAddr: adminClosedAddr(t)}
	if out, err := loyaltyRun(t, g, "import", adminTestDemo); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err := loyaltyRun(t, g, "loyalty", "review-tiers")
	if err != nil || !strings.Contains(out, "no host runs") {
		t.Fatalf("review: %v\n%s", err, out)
	}
	out, err = loyaltyRun(t, g, "loyalty", "review-tiers", "--json")
	if err != nil || !strings.Contains(out, `"already_done": true`) {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
}
