package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
)

// TestExpireKilled: `loyalty expire` on a store of a few thousand
// cards with lots, killed with SIGKILL at random points and rerun,
// leaves the same breakage journal entries and the same outbox lines
// (as sets of card, lot, points; none twice) as one uninterrupted run
// on a copy of the same store, and a store the checker passes.
func TestExpireKilled(t *testing.T) {
	kills := 3
	if os.Getenv("CARDCENTER_LONG") != "" {
		kills = 8
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	killed, whole := filepath.Join(dir, "killed"), filepath.Join(dir, "whole")
	const n = 3000
	provisionExpiry(t, killed, n)
	if err := os.CopyFS(whole, os.DirFS(killed)); err != nil {
		t.Fatal(err)
	}
	const date = "2026-03-10"
	out, err := exec.Command(bin, "loyalty", "expire", "--date", date, "--data", whole).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "done") {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	lo := 0.0
	for i := range kills {
		hi := 0.9 * float64(i+1) / float64(kills)
		target := int(float64(n) * (lo + rng.Float64()*(hi-lo)))
		lo = hi
		done := killExpiry(t, bin, killed, date, target)
		t.Logf("kill %d (aimed at %d cards): killed after %d", i+1, target, done)
	}
	out, err = exec.Command(bin, "loyalty", "expire", "--date", date, "--data", killed).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "done") {
		t.Fatalf("the resumed run: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "loyalty", "expire", "--date", date, "--data", killed).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already done") {
		t.Fatalf("a run after the job is done: %v\n%s", err, out)
	}

	wantBreak, gotBreak := breakageOf(t, whole), breakageOf(t, killed)
	if len(wantBreak) == 0 || !slices.Equal(wantBreak, gotBreak) {
		t.Fatalf("breakage: killed and rerun %d entries, uninterrupted %d (or none)", len(gotBreak), len(wantBreak))
	}
	wantOut, gotOut := outboxOf(t, whole, date), outboxOf(t, killed, date)
	if len(wantOut) == 0 || !slices.Equal(wantOut, gotOut) {
		t.Fatalf("outbox: killed and rerun %d lines, uninterrupted %d (or none)", len(gotOut), len(wantOut))
	}
	t.Logf("%d lots expired, %d notices", len(wantBreak), len(wantOut))
}

// provisionExpiry makes a store of n cards in program "exp" (rolling
// 30-day lots, 10-day notice): every card a lot earned 2026-02-01
// (expired by 2026-03-10), half another from 2026-02-12 (expiring
// 03-14: noticed), a third another from 2026-03-01 (not yet noticed).
func provisionExpiry(t *testing.T, dataDir string, n int) {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	cst := time.FixedZone("CST", 8*3600)
	clock.Store(time.Date(2026, 2, 1, 12, 0, 0, 0, cst).UnixNano())
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{Now: now, PruneInterval: -1})
	mustDo(t, err)
	defer st.Close()
	rules := &loyalty.Rules{EarnRateBP: 10000, NoticeDays: 10, Lots: loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: 30}}
	mustDo(t, st.PutProgram(ctx, ledger.Program{ID: "exp", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
	const mid = "EXPM00000000001"
	mustDo(t, st.PutMerchant(ctx, ledger.Merchant{MID: mid, ProgramID: "exp", Home: true}))
	pan := expiryPAN
	parallel(t, n, func(i int) error {
		if err := st.PutCard(ctx, ledger.Card{PAN: pan(i), ProgramID: "exp", HomeMID: mid, Product: "magstripe",
			State: ledger.CardActive, Expiry: "4912", Member: ledger.Member{Registered: true}}); err != nil {
			return err
		}
		_, err := st.AdjustPoints(ctx, pan(i), ledger.Points(100+i%50), "welcome")
		return err
	})
	clock.Store(time.Date(2026, 2, 12, 12, 0, 0, 0, cst).UnixNano())
	parallel(t, n/2, func(i int) error {
		_, err := st.AdjustPoints(ctx, pan(2*i), ledger.Points(10+i%7), "second")
		return err
	})
	clock.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, cst).UnixNano())
	parallel(t, n/3, func(i int) error {
		_, err := st.AdjustPoints(ctx, pan(3*i), 5, "third")
		return err
	})
}

// expiryPAN is card i of provisionExpiry.
func expiryPAN(i int) string {
	p := fmt.Sprintf("62100088%07d", i)
	return p + string(cardnum.LuhnDigit(p))
}

var expiryProgress = regexp.MustCompile(`^expiry [0-9-]+: (\d+) cards$`)

// killExpiry runs the job and SIGKILLs it once it reports target cards
// done; it returns the cards it had reported.
func killExpiry(t *testing.T, bin, dataDir, date string, target int) int {
	t.Helper()
	cmd := exec.Command(bin, "loyalty", "expire", "--date", date, "--data", dataDir)
	stdout, err := cmd.StdoutPipe()
	mustDo(t, err)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	mustDo(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		seen = append(seen, line)
		m := expiryProgress.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if done, _ := strconv.Atoi(m[1]); done >= target {
			cmd.Process.Signal(syscall.SIGKILL)
			for sc.Scan() {
			}
			if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the job was not killed: %v\n%s", err, strings.Join(seen, "\n"))
			}
			return done
		}
	}
	err = cmd.Wait()
	t.Fatalf("the job ended before %d cards: %v\n%s\n%s", target, err, strings.Join(seen, "\n"), &stderr)
	return 0
}

// breakageOf is the store's breakage as sorted "pan lot points" lines,
// one per lot of the expiry journal entries; the store must check.
func breakageOf(t *testing.T, dataDir string) []string {
	return checkedJournalLines(t, dataDir, func(x *ledger.Txn) (lines []string) {
		if x.Kind == ledger.KindExpiry {
			for _, u := range x.PointUses {
				lines = append(lines, fmt.Sprintf("%s %d %d", cardnum.Mask(x.PAN), u.Seq, u.Points))
			}
		}
		return lines
	})
}

// checkedJournalLines opens the stopped store of dataDir, fails unless
// it checks, and renders its journal as sorted lines (lines of an
// entry: none for the entries a test does not compare): what a crash
// test compares between a killed run and an uninterrupted one.
func checkedJournalLines(t *testing.T, dataDir string, lines func(*ledger.Txn) []string) []string {
	t.Helper()
	st, err := ledger.Open(adminStoreDir(dataDir), ledger.Options{ReadOnly: true})
	mustDo(t, err)
	defer st.Close()
	rep, err := st.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("check of %s: %v %v", filepath.Base(dataDir), err, rep.Problems)
	}
	var out []string
	mustDo(t, st.ScanJournal(context.Background(), func(x *ledger.Txn) error {
		out = append(out, lines(x)...)
		return nil
	}))
	slices.Sort(out)
	return out
}

// outboxOf is the outbox file's events as sorted "card lot points"
// lines; a line twice fails.
func outboxOf(t *testing.T, dataDir, date string) []string {
	t.Helper()
	raw, err := os.ReadFile(ledger.OutboxFile(outboxDir(dataDir), date))
	mustDo(t, err)
	var out []string
	seen := map[uint64]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		var e ledger.NoticeEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("outbox line %q: %v", l, err)
		}
		if seen[e.Seq] {
			t.Fatalf("outbox seq %d twice", e.Seq)
		}
		seen[e.Seq] = true
		out = append(out, fmt.Sprintf("%s %d %d", e.Card, e.Lot, e.Points))
	}
	slices.Sort(out)
	if len(slices.Compact(slices.Clone(out))) != len(out) {
		t.Fatalf("a lot noticed twice in %s", date)
	}
	return out
}
