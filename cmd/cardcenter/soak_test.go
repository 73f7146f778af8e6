//go:build soak

package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/cardcenter/cardcenter/terminal"
)

// TestSoak is `make soak`: the real host binary on one on-disk store,
// under the mixed load of soak_load_test.go from the demo's six
// terminals on two connections, SIGKILLed at a random instant and
// restarted, SOAK_KILLS times (default 200). After each kill, before the
// restart, the checker runs on the killed store and its journal is
// compared with what the load saw acknowledged: every approval there
// exactly once with the RRN and amount the terminal was told, no decline
// there, nothing the terminals never sent. After the restart every
// request answered since the last restart (and 50 older ones) is
// retransmitted and must get the byte-equal stored answer; each request
// the kill cut off is retransmitted and its answer is its outcome; then
// every card's ledger balance must equal its opening balance plus what
// the acknowledged approvals did to it.
//
// The schedule (load per cycle, operations, amounts, cards) comes from
// SOAK_SEED, printed at the start; SOAK_CYCLE_MS bounds the load before
// each kill (default 1500). Built only with -tags soak; make soak runs it.
func TestSoak(t *testing.T) {
	kills := soakEnvInt(t, "SOAK_KILLS", 200)
	maxLoadMs := soakEnvInt(t, "SOAK_CYCLE_MS", 1500)
	seed := uint64(soakEnvInt(t, "SOAK_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("soak: %d kills, load up to %d ms a cycle, SOAK_SEED=%d", kills, maxLoadMs, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("soak FAILED; replay the schedule with SOAK_SEED=%d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, 10))
	bin := buildBinary(t)
	demo, err := filepath.Abs("../../testdata/demo.yaml")
	mustDo(t, err)
	file, err := provision.Load(demo)
	mustDo(t, err)
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "config.yaml")
	// SOAK_LOG_LEVEL=info keeps every decision's log event (with the
	// reason of a decline or a 96) in memory for soakReportHostErrors.
	logLevel := cmp.Or(os.Getenv("SOAK_LOG_LEVEL"), "warn")
	writeFile(t, cfg, "data_dir: "+dataDir+"\nlog: {level: "+logLevel+"}\n"+
		"gateway: {listeners: [{addr: \"127.0.0.1:0\"}]}\nadmin: {addr: \"127.0.0.1:0\"}\n")

	var cards []terminal.Card
	opening := map[string]ledger.Amount{}
	for _, a := range file.Aliases {
		if a.State == ledger.CardActive && !a.Blacklisted && a.Expiry >= time.Now().UTC().Format("0601") && a.ProgramID == "mallcoalition" {
			// Swiped (service code 101: no chip to prefer), with the
			// cardholder's PIN when the card has one.
			cards = append(cards, terminal.Card{PAN: a.PAN, Expiry: a.Expiry, ServiceCode: "101", PIN: a.PIN})
			opening[a.PAN] = a.OpeningBalance
		}
	}
	model := newSoakModel()
	conns := []*soakExchanger{{model: model, taks: map[string][]byte{}}, {model: model, taks: map[string][]byte{}}}
	// The terminals keep their state in files (soakTerminal.skipBatch
	// edits them), on a RAM disk when there is one: each request rewrites
	// and syncs its terminal's file, and the soak's disk is the host's.
	stateDir := t.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "soak-pos-"); err == nil {
		stateDir = shm
		t.Cleanup(func() { os.RemoveAll(shm) })
	}
	var terms []*soakTerminal
	for _, term := range file.Terminals {
		if !term.Enabled {
			continue
		}
		tc := terminal.TerminalConfig{TID: term.TID, MID: term.MID, Conn: conns[len(terms)%len(conns)],
			TMK: file.TerminalTMK(term.TID), StatePath: filepath.Join(stateDir, term.TID+".json")}
		tt, err := terminal.NewTerminal(tc)
		mustDo(t, err)
		terms = append(terms, &soakTerminal{t: tt, cfg: tc, rng: rand.New(rand.NewPCG(seed, uint64(len(terms))))})
	}
	if len(terms) < 4 || len(cards) < 4 {
		t.Fatalf("demo.yaml: want at least 4 enabled terminals and 4 active cards, have %d and %d", len(terms), len(cards))
	}

	h := startBinary(t, bin, cfg, demo, dir)
	soakConnect(conns, h.addr)
	for _, st := range terms {
		if res, err := st.t.SignOn(context.Background()); err != nil || !res.Approved() || !st.t.HasKeys() {
			t.Fatalf("sign-on of %s: %v", st.t.TID(), err)
		}
	}

	began := time.Now()
	for kill := 1; kill <= kills; kill++ {
		cycle := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, st := range terms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st.run(ctx, cards)
			}()
		}
		// The random instant of the kill: waiting is the point here, not
		// a synchronisation.
		loadFor := time.Duration(50+rng.IntN(max(maxLoadMs-50, 1))) * time.Millisecond
		time.Sleep(loadFor)
		soakKill(t, h)
		cancel()
		wg.Wait()
		soakReportHostErrors(t, h, model, kill)
		for _, x := range conns {
			x.client().Close()
		}

		journal, cutOff := soakCheckKilled(t, dataDir, model, kill)

		h = startBinary(t, bin, cfg, demo, dir)
		soakConnect(conns, h.addr)
		for _, r := range soakRetransmit(t, h.addr, conns, model, rng) {
			if r.req.MTI != "0500" || r.rc != "00" {
				continue
			}
			for _, st := range terms {
				if st.cfg.TID == r.req.Fields[41] {
					mustDo(t, st.skipBatch())
				}
			}
		}
		soakCheckBalances(t, h, dataDir, model, opening)
		model.mu.Lock()
		acked := model.acked
		model.mu.Unlock()
		t.Logf("kill %d/%d after %v of load: %d acknowledged so far, %d in the journal (%d of them cut off by the kill), cycle %v",
			kill, kills, loadFor, acked, journal, cutOff, time.Since(cycle).Round(time.Millisecond))
	}
	h.stop(t, syscall.SIGTERM)
	for _, x := range conns {
		x.client().Close()
	}
	journal, _ := soakCheckKilled(t, dataDir, model, kills+1)
	model.mu.Lock()
	defer model.mu.Unlock()
	if model.rcs["00"] == 0 {
		t.Fatal("no request was approved: the load never ran")
	}
	t.Logf("answers by response code: %s", soakCounts(model.rcs))
	t.Logf("answers by MTI/processing code: %s", soakCounts(model.ops))
	t.Logf("soak: kills=%d acknowledged=%d approved=%d journal=%d resolved_after_kill=%d total=%v failures=0 SOAK_SEED=%d",
		kills, model.acked, model.rcs["00"], journal, model.resolved, time.Since(began).Round(time.Second), seed)
}

func soakEnvInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, s)
	}
	return n
}

// soakConnect gives every exchanger a Client to the host at addr. One
// try only: a request the kill cuts off is the soak's to resolve.
func soakConnect(conns []*soakExchanger, addr string) {
	for _, x := range conns {
		x.use(soakClient(addr, 8))
	}
}

func soakClient(addr string, inFlight int) *terminal.Client {
	c, err := terminal.NewClient(terminal.ClientConfig{Dial: terminal.TCPDialer(addr), Framing: crashFraming,
		Packager: crashPackager, MaxInFlight: inFlight, MaxTries: 1})
	if err != nil {
		panic(err) // a fixed, valid configuration
	}
	return c
}

// soakKill sends SIGKILL to the host process and waits for it to die.
func soakKill(t *testing.T, h *runningHost) {
	t.Helper()
	if err := syscall.Kill(h.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	select {
	case <-h.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("host did not die of SIGKILL in 30 s")
	}
}

// soakCheckKilled opens the dead host's store, runs the checker and
// compares the journal with the model. It returns the journal's size and
// how many of its entries are requests the kill cut off.
func soakCheckKilled(t *testing.T, dataDir string, model *soakModel, kill int) (journal, cutOff int) {
	t.Helper()
	st, err := ledger.Open(filepath.Join(dataDir, "ledger"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("after kill %d: open the store: %v", kill, err)
	}
	defer st.Close()
	rep, err := st.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("after kill %d: checker: %v %v", kill, err, rep.Problems)
	}
	var entries []ledger.Txn
	mustDo(t, st.ScanJournal(context.Background(), func(tx *ledger.Txn) error {
		entries = append(entries, ledger.Txn{TID: tx.TID, STAN: tx.STAN, Time: tx.Time, Kind: tx.Kind, Seq: tx.Seq, Amount: tx.Amount})
		return nil
	}))
	cutOff, problems := model.compareJournal(entries)
	model.mu.Lock()
	problems = append(problems, model.failed...)
	model.mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("after kill %d: %d problems:\n%s", kill, len(problems), strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	return len(entries), cutOff
}

// soakRetransmit sends again, on a connection of its own, every request
// answered since the last restart and a sample of older ones (each must
// get the byte-equal stored answer), then each request the kill cut off
// (its answer now is its outcome), and returns those.
func soakRetransmit(t *testing.T, addr string, conns []*soakExchanger, model *soakModel, rng *rand.Rand) []*soakReq {
	t.Helper()
	c := soakClient(addr, 1)
	defer c.Close()
	for _, x := range conns {
		x.mu.Lock()
		for tid, tak := range x.taks {
			c.SetTAK(tid, tak)
		}
		x.mu.Unlock()
	}
	check, unknown := model.takeRetransmits(rng.IntN)
	for _, r := range check {
		if notStored[r.rc] {
			continue
		}
		resp, err := c.Do(context.Background(), r.req.Clone())
		if err != nil {
			t.Fatalf("retransmit %s %s after the restart: %v", r.req.MTI, r.key, err)
		}
		if diff := soakDiff(r.resp, resp); diff != "" {
			t.Fatalf("retransmit %s %s/%s after the restart: the answer differs from the stored one (first answered %s): %s",
				r.key, r.req.MTI, r.req.Fields[3], r.rc, diff)
		}
	}
	for _, r := range unknown {
		resp, err := c.Do(context.Background(), r.req.Clone())
		if err != nil {
			t.Fatalf("retransmit %s %s, cut off by the kill: %v", r.req.MTI, r.key, err)
		}
		model.resolve(r, resp)
	}
	return unknown
}

// soakDiff names the fields in which two answers differ ("" if they pack
// to the same bytes). It names fields, never their values: field 55 and
// the MAC are not for a log.
func soakDiff(want, got *wire.Message) string {
	wb, err1 := crashPackager.Pack(want)
	gb, err2 := crashPackager.Pack(got)
	if err1 == nil && err2 == nil && bytes.Equal(wb, gb) {
		return ""
	}
	var fields []string
	if want.MTI != got.MTI {
		fields = append(fields, "MTI "+want.MTI+"→"+got.MTI)
	}
	for f := 1; f <= 128; f++ {
		if want.Fields[f] != got.Fields[f] {
			s := strconv.Itoa(f)
			if f == 37 || f == 38 || f == 39 || f == 54 {
				s += fmt.Sprintf(" %q→%q", want.Fields[f], got.Fields[f])
			}
			fields = append(fields, s)
		}
	}
	return "fields " + strings.Join(fields, ", ")
}

// soakCheckBalances compares every card's ledger balance, through the
// admin API of the restarted host, with the model.
func soakCheckBalances(t *testing.T, h *runningHost, dataDir string, model *soakModel, opening map[string]ledger.Amount) {
	t.Helper()
	token, err := admin.ReadToken(admin.TokenPath(dataDir))
	mustDo(t, err)
	c := &admin.Client{BaseURL: "http://" + h.admin, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	var problems []string
	for pan, open := range opening {
		v, err := c.Card(context.Background(), pan)
		if err != nil || v.Balances == nil {
			t.Fatalf("card balances after the restart: %v", err)
		}
		if want := model.expectedLedger(pan, open); v.Balances.LedgerFen != want {
			problems = append(problems, soakBalanceProblem(pan, v.Balances.LedgerFen, want))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Fatalf("balances after the restart:\n%s", strings.Join(problems, "\n"))
	}
}

// soakCounts formats counts as "k=n" sorted by key.
func soakCounts(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// soakReportHostErrors logs the requests the host answered 96 during the
// last cycle, with the host's error lines (JSON, PANs masked by the
// host's logger). A 96 changes nothing and is not stored, so it is not a
// failure of the soak, but with no fault injected it is worth a look.
func soakReportHostErrors(t *testing.T, h *runningHost, model *soakModel, kill int) {
	errs := model.takeHostErrors()
	if len(errs) == 0 {
		return
	}
	var lines []string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, `"rc":"96"`) || strings.Contains(l, `"level":"error"`) {
			lines = append(lines, l)
		}
	}
	t.Logf("cycle %d: %d answered 96 (host error): %s\nhost log:\n%s", kill, len(errs), strings.Join(errs, "; "), strings.Join(lines[:min(len(lines), 10)], "\n"))
}
