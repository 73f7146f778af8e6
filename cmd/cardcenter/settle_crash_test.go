package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/settlegen"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
)

// TestSettleKilled: `settle` on a store with a date of transactions
// across 300 merchants (two posting chunks, 600 merchant files),
// killed with SIGKILL at random progress lines and rerun, ends with the
// same files, byte for byte, and the same settlement postings as one
// uninterrupted run on a copy of the same store; a rerun of the settled
// date posts nothing and writes the same bytes again; both stores check.
func TestSettleKilled(t *testing.T) { settleKilled(t, "2026-03-10", false) }

// TestSettleKilledMonthEnd: the same on the month's last business date
// of a program that bills its merchants: every merchant also gets a
// billing entry (300 more postings) and invoice rows in its files, and
// killed and rerun gives the same files and postings.
func TestSettleKilledMonthEnd(t *testing.T) { settleKilled(t, "2026-03-31", true) }

func settleKilled(t *testing.T, date string, billing bool) {
	kills := 3
	if os.Getenv("CARDCENTER_LONG") != "" {
		kills = 8
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	killed, whole := filepath.Join(dir, "killed"), filepath.Join(dir, "whole")
	provisionSettlement(t, killed, date, billing)
	if err := os.CopyFS(whole, os.DirFS(killed)); err != nil {
		t.Fatal(err)
	}
	wantPosted := 300
	if billing {
		wantPosted = 600 // a settlement and a billing entry each
	}
	out, err := exec.Command(bin, "settle", "--date", date, "--data", whole).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("300 merchants, %d postings", wantPosted)) {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	lines := strings.Count(string(out), "\n")

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	for i := range kills {
		target := rng.IntN(lines)
		seen := killSettle(t, bin, killed, date, target)
		t.Logf("kill %d (aimed at progress line %d): killed after %q", i+1, target, seen)
	}
	out, err = exec.Command(bin, "settle", "--date", date, "--data", killed).CombinedOutput()
	if err != nil {
		t.Fatalf("the resumed run: %v\n%s", err, out)
	}
	wantFiles, gotFiles := settlementFiles(t, whole, date), settlementFiles(t, killed, date)
	compareFiles(t, wantFiles, gotFiles)
	wantPost, gotPost := settlementPostings(t, whole), settlementPostings(t, killed)
	if len(wantPost) != wantPosted || !slices.Equal(wantPost, gotPost) {
		t.Fatalf("postings: killed and rerun %d, uninterrupted %d (want %d)", len(gotPost), len(wantPost), wantPosted)
	}
	if billing && !bytes.Contains(wantFiles[settlegen.MID(0)+".csv"], []byte("\ninvoice,"+date+",sp,"+settlegen.MID(0)+",")) {
		t.Fatalf("%s.csv has no invoice row:\n%s", settlegen.MID(0), wantFiles[settlegen.MID(0)+".csv"])
	}

	out, err = exec.Command(bin, "settle", "--date", date, "--data", killed).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 postings") || !strings.Contains(string(out), "already settled") {
		t.Fatalf("a rerun of the settled date: %v\n%s", err, out)
	}
	compareFiles(t, wantFiles, settlementFiles(t, killed, date))
	if again := settlementPostings(t, killed); !slices.Equal(wantPost, again) {
		t.Fatalf("the rerun posted: %d entries", len(again))
	}
}

// provisionSettlement fills dataDir's store with date's journal: 300
// merchants, 500 cards, 3,000 transactions (with billing, program sp
// charges a monthly fee per merchant and per terminal), and closes the
// date at 01:00 the day after on the provisioning clock. The close time is in
// the files; closed here, before the store is copied, both copies carry
// the same one (the CLI's clock is the wall clock), and every run's own
// close finds the date closed and keeps it.
func provisionSettlement(t *testing.T, dataDir, date string, billing bool) {
	t.Helper()
	mustDo(t, os.MkdirAll(dataDir, 0o700))
	d, err := ledger.ParseBusinessDate(date)
	mustDo(t, err)
	cst := time.FixedZone("CST", 8*3600)
	var clock atomic.Int64
	clock.Store(time.Date(int(d/10000), time.Month(d/100%100), int(d%100), 12, 0, 0, 0, cst).UnixNano())
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }, PruneInterval: -1})
	mustDo(t, err)
	defer st.Close()
	ctx := context.Background()
	mustDo(t, settlegen.Generate(ctx, st, settlegen.Config{Merchants: 300, Cards: 500, Txns: 3000}))
	if billing {
		p, err := st.Program("sp")
		mustDo(t, err)
		p.Billing = &ledger.Billing{MerchantMonthlyFee: 5000, TerminalMonthlyFee: 1200}
		mustDo(t, st.PutProgram(ctx, *p))
	}
	clock.Store(time.Date(int(d/10000), time.Month(d/100%100), int(d%100)+1, 1, 0, 0, 0, cst).UnixNano())
	_, err = st.CloseBusinessDate(ctx, d, false)
	mustDo(t, err)
}

// killSettle runs the job and SIGKILLs it once it has printed target
// progress lines; it returns the last line seen.
func killSettle(t *testing.T, bin, dataDir, date string, target int) string {
	t.Helper()
	cmd := exec.Command(bin, "settle", "--date", date, "--data", dataDir)
	stdout, err := cmd.StdoutPipe()
	mustDo(t, err)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	mustDo(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	last := "(nothing)"
	n := 0
	for n < target && sc.Scan() {
		last = sc.Text()
		n++
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for sc.Scan() {
	}
	if err := cmd.Wait(); err == nil {
		// It finished before the signal: a kill at the very end.
		return last + " (finished first)"
	}
	return last
}

// settlementFiles reads every file of the date's directory; no temp
// file may be left.
func settlementFiles(t *testing.T, dataDir, date string) map[string][]byte {
	t.Helper()
	d, err := ledger.ParseBusinessDate(date)
	mustDo(t, err)
	dir := settlement.Dir(settlementDir(dataDir), d)
	ents, err := os.ReadDir(dir)
	mustDo(t, err)
	out := map[string][]byte{}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temp file %s left in %s", e.Name(), dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		mustDo(t, err)
		out[e.Name()] = b
	}
	return out
}

func compareFiles(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	if len(want) != 602 || len(got) != len(want) {
		t.Fatalf("files: got %d, want %d (and 602)", len(got), len(want))
	}
	for name, w := range want {
		if g := got[name]; !bytes.Equal(w, g) {
			i := 0
			for i < len(w) && i < len(g) && w[i] == g[i] {
				i++
			}
			t.Fatalf("file %s differs from the uninterrupted run's at byte %d: %.80q, want %.80q", name, i, g[max(i-20, 0):], w[max(i-20, 0):])
		}
	}
}

// settlementPostings are the store's settlement entries as sorted
// "seq mid amount debit→credit" lines; the store must check.
func settlementPostings(t *testing.T, dataDir string) []string {
	return checkedJournalLines(t, dataDir, func(x *ledger.Txn) []string {
		if x.Kind != ledger.KindSettlement {
			return nil
		}
		tr := x.Transfers[0]
		return []string{fmt.Sprintf("%d %s %d %s→%s %d", x.Seq, x.MID, x.Amount, tr.Debit, tr.Credit, tr.Posted)}
	})
}
