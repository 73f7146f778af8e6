package settlement

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cardcenter/cardcenter/ledger"
)

// TestPropertyRandomDays: random transaction sets over two business
// dates (purchases, refunds, loads, accruals, redemptions,
// pre-authorizations and completions, voids and reversals of random
// earlier requests, many declined), through the real ledger, settled
// date by date. For every seed: each program's position plus its
// merchants' is zero (summary.csv); every interchange a merchant's file
// says it paid for a transaction is the interchange the card's home
// merchant's file says it received for it, and the reverse; each file's
// total row is the sum of its lines; the accounts hold the positions
// (mpr/ per merchant, pst/ the program's); the checker passes; and a
// rerun rewrites the same bytes and posts nothing.
func TestPropertyRandomDays(t *testing.T) {
	seeds := 6
	if os.Getenv("CARDCENTER_LONG") != "" {
		seeds = 40
	}
	for seed := range seeds {
		t.Run(strconv.Itoa(seed), func(t *testing.T) { randomDays(t, uint64(seed)) })
	}
}

func randomDays(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	w := newWorld(t, t.TempDir())
	root := t.TempDir()
	w.program("pp", rng.Int64N(300), ledger.Amount(rng.Int64N(3)), 1, nil)
	merchants := []string{"A", "B", "C"}
	for _, m := range merchants {
		w.merchant(m, "pp", true, rng.Int64N(200), rng.Int64N(100))
	}
	cards := []string{"c0", "c1", "c2", "c3"}
	for i, c := range cards {
		w.card(c, "pp", merchants[i%len(merchants)], 50_000)
	}
	kinds := []ledger.Kind{ledger.KindPurchase, ledger.KindPurchase, ledger.KindPurchase, ledger.KindRefund, ledger.KindLoad,
		ledger.KindAccrual, ledger.KindRedeem, ledger.KindPreAuth, ledger.KindCompletion, ledger.KindVoid, ledger.KindReversal}
	var labels []string
	// per label: the card and merchant it was sent with
	where := map[string][2]string{}
	wantPost := map[string]ledger.Amount{} // mpr balances expected
	var wantProg ledger.Amount
	for day := range 2 {
		for i := range 40 {
			kind := kinds[rng.IntN(len(kinds))]
			card, merchant := cards[rng.IntN(len(cards))], merchants[rng.IntN(len(merchants))]
			var of string
			amount := ledger.Amount(1 + rng.Int64N(5000))
			switch kind {
			case ledger.KindRefund, ledger.KindCompletion, ledger.KindVoid, ledger.KindReversal:
				if len(labels) == 0 {
					continue
				}
				of = labels[rng.IntN(len(labels))]
				card, merchant = where[of][0], where[of][1]
				if kind != ledger.KindRefund && kind != ledger.KindCompletion {
					amount = 0 // the original's
				}
			}
			label := fmt.Sprintf("d%d-%d", day, i)
			if res := w.send(kind, card, merchant, amount, of, label); res.Err == nil {
				labels = append(labels, label)
				where[label] = [2]string{card, merchant}
			}
		}
		date := ledger.NextBusinessDate(20261122 + uint32(day))
		w.clock.t = w.clock.t.AddDate(0, 0, 1)
		res, err := w.settle(root, date, false)
		if err != nil {
			t.Fatal(err)
		}
		checkFiles(t, w, root, date, res)
		for _, p := range res.Day.Positions {
			wantPost[p.MID] += p.Net
		}
		for _, pp := range res.Day.Programs {
			wantProg += pp.Net
		}
		before := readDir(t, Dir(root, date))
		again, err := w.settle(root, date, false)
		if err != nil || again.Posted != 0 || !again.AlreadySettled {
			t.Fatalf("rerun of %d: %v, posted %d", date, err, again.Posted)
		}
		if after := readDir(t, Dir(root, date)); !equalDirs(before, after) {
			t.Fatalf("rerun of %d: the files changed", date)
		}
	}
	for mid, want := range wantPost {
		got, err := w.s.AccountBalance(ledger.AccountMerchantPayable(mid))
		mustT(t, err)
		if got != int64(want) {
			t.Fatalf("mpr/%s: %d, want the positions' sum %d", mid, got, want)
		}
	}
	if got, err := w.s.AccountBalance(ledger.AccountProgramSettlement("pp")); err != nil || got != int64(wantProg) {
		t.Fatalf("pst/pp: %d, want the program's positions %d (%v)", got, wantProg, err)
	}
	rep, err := w.s.Check(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

// checkFiles reads the date's files back as their reader would.
func checkFiles(t *testing.T, w *world, root string, date uint32, res Result) {
	t.Helper()
	dir := Dir(root, date)
	sum := readCSV(t, filepath.Join(dir, "summary.csv"))
	var total int64
	for _, r := range sum {
		total += atoi(t, r["net_fen"])
	}
	if total != 0 {
		t.Fatalf("%d: merchants' and programs' positions sum to %d, not 0", date, total)
	}
	paid, received := map[string]int64{}, map[string]int64{} // rrn → interchange
	for _, p := range res.Day.Positions {
		rows := readCSV(t, filepath.Join(dir, p.MID+".csv"))
		var lines int64
		for _, r := range rows[1:] {
			lines += atoi(t, r["net_fen"])
			if r["role"] == "acquirer" && r["interchange_paid_fen"] != "0" {
				paid[r["rrn"]] += atoi(t, r["interchange_paid_fen"])
			}
			if r["role"] == "home" {
				received[r["rrn"]] += atoi(t, r["interchange_received_fen"])
			}
		}
		if rows[0]["record"] != "total" || atoi(t, rows[0]["net_fen"]) != lines || lines != int64(p.Net) {
			t.Fatalf("%s: total %s, lines sum %d, position %d", p.MID, rows[0]["net_fen"], lines, p.Net)
		}
		var js MerchantFile
		raw, err := os.ReadFile(filepath.Join(dir, p.MID+".json"))
		mustT(t, err)
		if err := json.Unmarshal(raw, &js); err != nil || js.Totals.Net != p.Net || len(js.Lines) != len(rows)-1 {
			t.Fatalf("%s.json: %v, net %d, %d lines", p.MID, err, js.Totals.Net, len(js.Lines))
		}
	}
	if len(paid) != len(received) {
		t.Fatalf("%d: interchange paid for %d transactions, received for %d", date, len(paid), len(received))
	}
	for rrn, v := range paid {
		if received[rrn] != v {
			t.Fatalf("rrn %s: acquirer paid %d interchange, home received %d", rrn, v, received[rrn])
		}
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	mustT(t, err)
	return v
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	mustT(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	mustT(t, err)
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, c := range rows[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	mustT(t, err)
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		mustT(t, err)
		out[e.Name()] = b
	}
	return out
}

func equalDirs(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestLineJSONIsEncodingJSON: the hand-appended JSON line is what
// encoding/json makes of a Line, for plain and odd strings alike.
func TestLineJSONIsEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 500 {
		l := Line{Role: "home", RRN: ledger.FormatRRN(rng.Uint64N(1e12)), Kind: "purchase", Status: "counted",
			TID: []string{"T0000001", `T"<&>é,`}[i%2], Card: "621000******0001", Amount: rng.Int64N(1e9), Late: i%3 == 0,
			Figures: Figures{Sales: ledger.Amount(rng.Int64N(1e6)), MDRFee: ledger.Amount(-rng.Int64N(100)), PointsEarned: ledger.Points(rng.Int64N(50))},
			Net:     ledger.Amount(rng.Int64N(1e6) - 5e5)}
		if i%4 == 0 {
			l.LateFrom, l.OrigRRN, l.OrigDate, l.ExcludedWith = "2026-11-23", "000000000001", "2026-11-22", "000000000002"
		}
		want, err := json.Marshal(l)
		mustT(t, err)
		if got := appendLineJSON(nil, &l); !bytes.Equal(got, want) {
			t.Fatalf("line %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
