package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// TestCrashRestart runs the real binary under load and kills it with
// SIGKILL at random moments. After every restart: each request the
// client saw approved is still approved, with the byte-equal stored
// response; a request cut off by the kill is resolved by retransmitting
// it. At the end the journal holds exactly the approved purchases, each
// card's balance is its opening balance less what it was approved to
// spend, and the checker passes. CARDCENTER_LONG=1 runs 20 kills.
func TestCrashRestart(t *testing.T) {
	kills := 3
	if os.Getenv("CARDCENTER_LONG") != "" {
		kills = 20
	}
	bin := buildBinary(t)
	demo, err := filepath.Abs("../../testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file, err := provision.Load(demo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "data_dir: "+filepath.Join(dir, "data")+"\nlog: {level: warn}\n"+
		"gateway: {listeners: [{addr: \"127.0.0.1:0\"}]}\nadmin: {addr: \"127.0.0.1:0\"}\n")

	var terms []crashTerminal
	for _, term := range file.Terminals {
		if term.Enabled {
			terms = append(terms, crashTerminal{tid: term.TID, mid: term.MID, tmk: file.TerminalTMK(term.TID)})
		}
	}
	var cards []provision.Alias
	for _, a := range file.Aliases {
		if a.State == ledger.CardActive && !a.Blacklisted && a.Expiry >= time.Now().UTC().Format("0601") && a.OpeningBalance >= 10000 && a.ProgramID == "mallcoalition" {
			cards = append(cards, a)
		}
	}
	if len(terms) < 2 || len(cards) < 2 {
		t.Fatalf("demo.yaml: want at least 2 enabled terminals and 2 funded active cards, have %d and %d", len(terms), len(cards))
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t.Logf("seed-free randomness: kills at random moments; %d terminals, %d cards", len(terms), len(cards))

	ledgerState := &crashLedger{approved: map[string]*crashReq{}}
	for cycle := 0; cycle <= kills; cycle++ {
		h := startBinary(t, bin, cfg, demo, dir)
		// After a restart the store is consistent, every earlier answer
		// still stands, and every request cut off by the kill is settled
		// by retransmitting it.
		checkRunning(t, h, filepath.Join(dir, "data"))
		ledgerState.verifyAndResolve(t, h.addr)
		if cycle == kills {
			h.stop(t, syscall.SIGTERM)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range terms {
			wg.Add(1)
			seed := rng.Int64() // drawn here: rng is not safe for concurrent use
			go func(term *crashTerminal) {
				defer wg.Done()
				term.load(ctx, h.addr, cards, ledgerState, seed)
			}(&terms[i])
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond) // the random moment of the kill
		h.stop(t, syscall.SIGKILL)
		cancel()
		wg.Wait()
	}

	// The store, opened after a clean stop, must hold exactly what was
	// approved.
	st, err := ledger.Open(filepath.Join(dir, "data", "ledger"), ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
	spent := map[string]ledger.Amount{}
	journal := map[string]bool{}
	err = st.ScanJournal(context.Background(), func(tx *ledger.Txn) error {
		if tx.Kind != ledger.KindPurchase {
			return nil
		}
		key := tx.TID + "/" + tx.STAN + "/" + tx.Time
		r := ledgerState.approved[key]
		if r == nil {
			return fmt.Errorf("journal has purchase rrn %s (%s) that no client saw approved", tx.RRN(), key)
		}
		if tx.RRN() != r.rrn || tx.Amount != r.amount {
			return fmt.Errorf("journal %s: rrn %s amount %d, client saw rrn %s amount %d", key, tx.RRN(), tx.Amount, r.rrn, r.amount)
		}
		journal[key] = true
		spent[tx.PAN] += tx.Amount
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range ledgerState.approved {
		if !journal[key] {
			t.Fatalf("approved %s is not in the journal", key)
		}
	}
	// Every terminal's batch 1 (field 60 of every purchase) counts
	// exactly its approved purchases: the batch totals, logged between
	// checkpoints (ledger/aggregatelog.go), survived every kill.
	batchWant := map[string]ledger.BatchTotals{}
	for _, r := range ledgerState.approved {
		tid := r.key[:strings.IndexByte(r.key, '/')]
		w := batchWant[tid]
		w.DebitCount++
		w.DebitAmount += r.amount
		batchWant[tid] = w
	}
	for _, term := range terms {
		batches, err := st.TerminalBatches(term.tid)
		if err != nil {
			t.Fatal(err)
		}
		var got ledger.BatchTotals
		if len(batches) > 0 {
			got = batches[0].Totals
		}
		if len(batches) > 1 || got != batchWant[term.tid] {
			t.Fatalf("terminal %s: batches %+v, want batch 1 with %+v", term.tid, batches, batchWant[term.tid])
		}
	}
	for _, c := range cards {
		b, err := st.CardBalances(c.PAN)
		if err != nil {
			t.Fatal(err)
		}
		if b.Ledger != c.OpeningBalance-spent[c.PAN] {
			t.Fatalf("card %s: balance %d, want %d - %d", cardnum.Mask(c.PAN), b.Ledger, c.OpeningBalance, spent[c.PAN])
		}
	}
	if len(ledgerState.approved) == 0 {
		t.Fatal("no purchase was approved: the load never ran")
	}
	t.Logf("%d kills, %d approved purchases, %d resolved after a kill, %d journal entries, checker ok",
		kills, len(ledgerState.approved), ledgerState.resolved, rep.Txns)
}

// checkRunning runs the ledger checker on the running host through its
// admin API.
func checkRunning(t *testing.T, h *runningHost, dataDir string) {
	t.Helper()
	token, err := admin.ReadToken(admin.TokenPath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	c := &admin.Client{BaseURL: "http://" + h.admin, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	res, err := c.Check(context.Background())
	if err != nil {
		t.Fatalf("check after restart: %v", err)
	}
	if !res.OK {
		t.Fatalf("check after restart: %v", res.Problems)
	}
}

var buildOnce struct {
	sync.Once
	path string
	err  error
}

// buildBinary compiles cmd/cardcenter once per test run, unless
// CARDCENTER_BIN names a binary already built (make soak passes the one
// `make build` made, so the soak kills the binary that ships).
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv("CARDCENTER_BIN"); bin != "" {
			buildOnce.path, buildOnce.err = filepath.Abs(bin)
			if buildOnce.err == nil {
				_, buildOnce.err = os.Stat(buildOnce.path)
			}
			return
		}
		dir, err := os.MkdirTemp("", "cardcenter-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "cardcenter")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

type runningHost struct {
	cmd    *exec.Cmd
	exited chan error
	addr   string
	admin  string
	logs   *syncbuf.Buffer
}

// startBinary starts `cardcenter serve` and waits for its ready file.
func startBinary(t *testing.T, bin, cfg, demo, dir string) *runningHost {
	t.Helper()
	ready := filepath.Join(dir, "ready.json")
	os.Remove(ready)
	h := &runningHost{exited: make(chan error, 1), logs: &syncbuf.Buffer{}}
	h.cmd = exec.Command(bin, "serve", "--config", cfg, "--demo-file", demo, "--ready-file", ready)
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.exited <- h.cmd.Wait() }()
	t.Cleanup(func() { h.cmd.Process.Kill() })
	deadline := time.After(30 * time.Second)
	for {
		if raw, err := os.ReadFile(ready); err == nil {
			var r struct {
				Gateway []string
				Admin   string
			}
			if err := json.Unmarshal(raw, &r); err != nil || len(r.Gateway) == 0 {
				t.Fatalf("ready file: %v %s", err, raw)
			}
			h.addr, h.admin = r.Gateway[0], r.Admin
			return h
		}
		select {
		case err := <-h.exited:
			t.Fatalf("host exited before ready: %v\n%s", err, h.logs)
		case <-deadline:
			t.Fatalf("host not ready after 30 s\n%s", h.logs)
		case <-time.After(20 * time.Millisecond): // a file has nothing to wait on
		}
	}
}

func (h *runningHost) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	h.cmd.Process.Signal(sig)
	select {
	case err := <-h.exited:
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("host did not stop cleanly: %v\n%s", err, h.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("host did not exit after %v\n%s", sig, h.logs)
	}
}

// crashReq is one purchase as the client sent it, and what it learnt.
type crashReq struct {
	key    string // tid/stan/field 7
	frame  []byte
	resp   []byte // the response frame, once answered
	rrn    string
	amount ledger.Amount
}

// crashLedger is the client's view: what it saw approved, what it sent
// without an answer.
type crashLedger struct {
	mu       sync.Mutex
	approved map[string]*crashReq
	fresh    []*crashReq // approved in the last cycle
	unknown  []*crashReq
	resolved int
}

func (l *crashLedger) record(r *crashReq, resp []byte, rc, rrn string, answered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !answered:
		l.unknown = append(l.unknown, r)
	case rc == "00":
		r.resp, r.rrn = resp, rrn
		l.approved[r.key] = r
		l.fresh = append(l.fresh, r)
	}
}

// verifyAndResolve retransmits, after a restart, every purchase approved
// in the last cycle (and a sample of older ones): each must get the
// byte-equal stored response. Requests cut off by the kill are
// retransmitted too: whatever the host answers now is their outcome.
func (l *crashLedger) verifyAndResolve(t *testing.T, addr string) {
	t.Helper()
	l.mu.Lock()
	check := append([]*crashReq(nil), l.fresh...)
	n := 0
	for _, r := range l.approved {
		if n++; n > 50 {
			break
		}
		check = append(check, r)
	}
	unknown := l.unknown
	l.fresh, l.unknown = nil, nil
	l.mu.Unlock()
	c := dialCrash(t, addr)
	defer c.Close()
	for _, r := range check {
		resp, err := c.roundTrip(r.frame)
		if err != nil {
			t.Fatalf("retransmit %s after restart: %v", r.key, err)
		}
		if !bytes.Equal(resp, r.resp) {
			t.Fatalf("retransmit %s after restart: answer differs from the approval the client got", r.key)
		}
	}
	for _, r := range unknown {
		resp, err := c.roundTrip(r.frame)
		if err != nil {
			t.Fatalf("retransmit unanswered %s: %v", r.key, err)
		}
		rc, rrn := parseCrashResponse(t, resp)
		l.record(r, resp, rc, rrn, true)
		l.resolved++
	}
}

var crashPackager, _ = wire.NewPackager("ascii")
var crashFraming, _ = wire.ParseFraming("len2")

type crashConn struct{ net.Conn }

func dialCrash(t *testing.T, addr string) *crashConn {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return &crashConn{nc}
}

func (c *crashConn) roundTrip(frame []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return nil, err
	}
	_, msg, err := crashFraming.ReadFrame(c, nil)
	return append([]byte(nil), msg...), err
}

func parseCrashResponse(t *testing.T, raw []byte) (rc, rrn string) {
	m, err := crashPackager.Unpack(raw)
	if err != nil {
		t.Fatalf("unpack response: %v", err)
	}
	return m.Fields[39], m.Fields[37]
}

type crashTerminal struct {
	tid, mid string
	stan     int
	tmk      []byte // the demo's test TMK: sign-on keys, then MACs
	// mac is the TAK from the first sign-on. The terminal keeps it across
	// kills (its keys survive in the store) and does not sign on again:
	// every earlier request is retransmitted after each restart, and
	// must still verify.
	mac *cardcrypto.MACKey
}

func (ct *crashTerminal) message(mti string) *wire.Message {
	ct.stan = ct.stan%999999 + 1
	return wire.NewMessage(mti).Set(7, time.Now().UTC().Format("0102150405")).
		Set(11, fmt.Sprintf("%06d", ct.stan)).Set(41, ct.tid).Set(42, ct.mid)
}

// load signs on, then sends purchases one at a time until the host dies
// or ctx ends. Every purchase is recorded with its outcome.
func (ct *crashTerminal) load(ctx context.Context, addr string, cards []provision.Alias, l *crashLedger, seed int64) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	c := &crashConn{nc}
	defer c.Close()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	if ct.tmk == nil || ct.mac == nil {
		signon, _ := crashPackager.Pack(ct.message("0800").Set(70, "001"))
		resp, err := c.roundTrip(crashFraming.AppendFrame(nil, nil, signon))
		if err != nil {
			return
		}
		// With a TMK the sign-on brings working keys: field 62 is TPK(16)
		// KCV(3) TAK(16) KCV(3) under the TMK, and every purchase is MACed.
		if ct.tmk != nil {
			msg, err := crashPackager.Unpack(resp)
			if err != nil || len(msg.Fields[62]) != 38 {
				return
			}
			tak, err := cardcrypto.DecryptKey(ct.tmk, []byte(msg.Fields[62][19:35]))
			if err != nil {
				panic(err)
			}
			if ct.mac, err = cardcrypto.NewMACKey(tak); err != nil {
				panic(err)
			}
		}
	}
	mac := ct.mac
	for ctx.Err() == nil {
		card := cards[rng.IntN(len(cards))]
		amount := ledger.Amount(1 + rng.IntN(99))
		m := ct.message("0200").Set(3, "000000").Set(4, fmt.Sprintf("%012d", amount)).
			Set(22, "021").Set(25, "00").Set(35, card.PAN+"="+card.Expiry+"1010000").Set(49, "156").Set(60, "000001")
		if mac != nil {
			m.Set(64, string(make([]byte, 8))) // the MAC field is last: fill it after packing
		}
		packed, err := crashPackager.Pack(m)
		if err != nil {
			panic(err)
		}
		if mac != nil {
			copy(packed[len(packed)-8:], mac.MAC(packed[:len(packed)-8]))
		}
		r := &crashReq{key: ct.tid + "/" + m.Fields[11] + "/" + m.Fields[7], frame: crashFraming.AppendFrame(nil, nil, packed), amount: amount}
		resp, err := c.roundTrip(r.frame)
		if err != nil {
			l.record(r, nil, "", "", false)
			return
		}
		msg, err := crashPackager.Unpack(resp)
		if err != nil {
			panic(err)
		}
		l.record(r, resp, msg.Fields[39], msg.Fields[37], true)
	}
}
