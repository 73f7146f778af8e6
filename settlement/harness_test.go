package settlement

// harness_test.go: a real ledger on a temp dir, driven with real
// requests (Store.Do), for the scenario, property and crash tests.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
)

// world is a store with named merchants (one terminal each) and cards.
type world struct {
	t     testing.TB
	s     *ledger.Store
	dir   string
	clock *clock
	mids  map[string]string // name → MID
	tids  map[string]string // MID → TID
	pans  map[string]string // name → PAN
	names map[string]string // MID → name
	stan  int
	// sent are the approved requests by label, for voids, reversals,
	// refunds and completions.
	sent map[string]sentReq
}

type sentReq struct {
	req *ledger.Request
	rrn string
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// cst is the business zone (the store's default, UTC+8).
var cst = time.FixedZone("CST", 8*3600)

func newWorld(t testing.TB, dir string) *world {
	t.Helper()
	clk := &clock{time.Date(2026, 11, 23, 10, 0, 0, 0, cst)}
	s, err := ledger.Open(dir, ledger.Options{Now: clk.now, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &world{t: t, s: s, dir: dir, clock: clk, mids: map[string]string{}, tids: map[string]string{},
		pans: map[string]string{}, names: map[string]string{}, sent: map[string]sentReq{}}
}

func mustT(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// program registers a program with loyalty earning 1 point a yuan and,
// when billing is not nil, monthly fees to its merchants.
func (w *world) program(id string, interchangeBP int64, pointCost, redemptionValue ledger.Amount, billing *ledger.Billing) {
	mustT(w.t, w.s.PutProgram(context.Background(), ledger.Program{ID: id, Currency: "156", InterchangeBP: interchangeBP,
		PointCost: pointCost, RedemptionValue: redemptionValue, Billing: billing,
		Loyalty: &loyalty.Rules{EarnRateBP: 10000, Lots: loyalty.LotPolicy{Kind: loyalty.LotNever}}}))
}

// terminal registers another terminal at a merchant (enabled or not).
func (w *world) terminal(tid, merchant string, enabled bool) {
	mid := w.mids[merchant]
	if mid == "" {
		w.t.Fatalf("unknown merchant %q", merchant)
	}
	mustT(w.t, w.s.PutTerminal(context.Background(), ledger.Terminal{TID: tid, MID: mid, Enabled: enabled}))
}

// merchant registers a merchant and its signed-on terminal.
func (w *world) merchant(name, prog string, home bool, mdrBP, loadBP int64) string {
	n := len(w.mids) + 1
	mid := fmt.Sprintf("M%-8s%06d", name, n)[:15]
	for i := range mid {
		if mid[i] == ' ' {
			mid = mid[:i] + "0" + mid[i+1:]
		}
	}
	tid := fmt.Sprintf("T%07d", n)
	ctx := context.Background()
	mustT(w.t, w.s.PutMerchant(ctx, ledger.Merchant{MID: mid, ProgramID: prog, Name: name, Home: home, MDRBP: mdrBP, LoadCommissionBP: loadBP}))
	mustT(w.t, w.s.PutTerminal(ctx, ledger.Terminal{TID: tid, MID: mid, Enabled: true}))
	w.mids[name], w.tids[mid], w.names[mid] = mid, tid, name
	if res := w.do(&ledger.Request{Kind: ledger.KindSignOn, MTI: "0800", TID: tid, MID: mid}); res.Err != nil {
		w.t.Fatalf("sign-on %s: %v", name, res.Err)
	}
	return mid
}

// card registers a card of home merchant home with a stored-value
// balance (an operator adjustment: program-internal).
func (w *world) card(name, prog, home string, balance ledger.Amount) string {
	body := fmt.Sprintf("62100%09d", len(w.pans)+1)
	pan := body + string(cardnum.LuhnDigit(body))
	ctx := context.Background()
	mustT(w.t, w.s.PutCard(ctx, ledger.Card{PAN: pan, ProgramID: prog, HomeMID: w.mids[home], Product: "magstripe",
		State: ledger.CardActive, Expiry: "3012", Member: ledger.Member{Registered: true}, MaxBalance: ledger.MaxAmount}))
	if balance > 0 {
		if _, err := w.s.Adjust(ctx, pan, balance, "opening"); err != nil {
			w.t.Fatal(err)
		}
	}
	w.pans[name] = pan
	return pan
}

// do sends r with the next STAN, field 7 from the clock and a
// fingerprint of its content.
func (w *world) do(r *ledger.Request) ledger.Result {
	w.stan++
	r.STAN = fmt.Sprintf("%06d", w.stan%1000000)
	r.Time = w.clock.t.UTC().Format("0102150405")
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(r.Amount))
	h.Write([]byte(r.MTI + r.ProcCode + r.TID + r.STAN + r.Time + r.PAN + r.OrigRRN + r.Orig.STAN))
	h.Write(b[:])
	copy(r.Fingerprint[:], h.Sum(nil))
	res, err := w.s.Do(context.Background(), r)
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// request builds a financial request of kind at merchant for card.
func (w *world) request(kind ledger.Kind, card, merchant string, amount ledger.Amount) *ledger.Request {
	mid := w.mids[merchant]
	if mid == "" || w.pans[card] == "" {
		w.t.Fatalf("unknown merchant %q or card %q", merchant, card)
	}
	mti, proc := "0200", "000000"
	switch kind {
	case ledger.KindPreAuth:
		mti = "0100"
	case ledger.KindRefund:
		proc = "200000"
	case ledger.KindLoad:
		proc = "210000"
	case ledger.KindVoid:
		proc = "020000"
	case ledger.KindAccrual:
		proc = "900000"
	case ledger.KindRedeem:
		proc = "910000"
	case ledger.KindCompletion:
		mti = "0220"
	case ledger.KindReversal:
		mti = "0400"
	}
	return &ledger.Request{Kind: kind, MTI: mti, ProcCode: proc, TID: w.tids[mid], MID: mid, PAN: w.pans[card],
		Amount: amount, Batch: 1}
}

// send sends a request; of names the original (by label) of a refund,
// completion, void or reversal, which take the original's amount when
// amount is 0. The result's RRN is kept under label.
func (w *world) send(kind ledger.Kind, card, merchant string, amount ledger.Amount, of, label string) ledger.Result {
	r := w.request(kind, card, merchant, amount)
	if of != "" {
		o, ok := w.sent[of]
		if !ok {
			w.t.Fatalf("no request labelled %q", of)
		}
		if r.Amount == 0 {
			r.Amount = o.req.Amount
		}
		switch kind {
		case ledger.KindRefund:
			r.OrigRRN = o.rrn
		default:
			r.Orig = ledger.OrigRef{MTI: o.req.MTI, STAN: o.req.STAN, Time: o.req.Time}
			if kind == ledger.KindReversal {
				r.ProcCode = o.req.ProcCode
			}
		}
	}
	res := w.do(r)
	if res.Err == nil && label != "" {
		w.sent[label] = sentReq{req: r, rrn: res.RRN}
	}
	return res
}

// settle runs the job for date into the world's settlement root.
func (w *world) settle(root string, date uint32, early bool) (Result, error) {
	j := &Job{Ledger: w.s, Root: root}
	return j.Settle(context.Background(), date, early)
}
