package settlement

// scenario_test.go: the scenario files of testdata/scenarios/settlement,
// each a small story with hand-computed positions, run against a real
// ledger (real requests through Store.Do), settled by the real job.
//
//	setup                       program/merchant/card lines (below)
//	at YYYY-MM-DD HH:MM         set the host clock (business zone)
//	txn                         one request a line:
//	                            KIND CARD MERCHANT [AMOUNT] [of LABEL] [as LABEL]
//	settle YYYY-MM-DD [early]   run the job; prints every position
//	lines MERCHANT              the merchant file's lines
//	balance MERCHANT            the merchant's mpr/ account
//	terminal TID MERCHANT [disabled]  register another terminal (a
//	                            setup line, or a command between runs)
//	check                       the ledger checker

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/money"
	"github.com/cockroachdb/datadriven"
)

var kindByName = map[string]ledger.Kind{
	"purchase": ledger.KindPurchase, "refund": ledger.KindRefund, "load": ledger.KindLoad,
	"void": ledger.KindVoid, "reverse": ledger.KindReversal, "accrual": ledger.KindAccrual,
	"redeem": ledger.KindRedeem, "preauth": ledger.KindPreAuth, "complete": ledger.KindCompletion,
}

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, filepath.Join("..", "testdata", "scenarios", "settlement"), func(t *testing.T, path string) {
		w := newWorld(t, t.TempDir())
		root := t.TempDir()
		labels := map[string]string{} // rrn → label
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "setup":
				return scenarioSetup(t, w, d.Input)
			case "at":
				tm, err := time.ParseInLocation("2006-01-02 15:04", d.CmdArgs[0].Key+" "+d.CmdArgs[1].Key, cst)
				mustT(t, err)
				w.clock.t = tm
				return ""
			case "txn":
				return scenarioTxn(t, w, d.Input, labels)
			case "settle":
				date, err := ledger.ParseBusinessDate(d.CmdArgs[0].Key)
				mustT(t, err)
				res, err := w.settle(root, date, d.HasArg("early"))
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return positionsText(w, res)
			case "lines":
				return linesText(t, w, root, d.CmdArgs[0].Key, d.CmdArgs[1].Key, labels)
			case "terminal":
				line := d.Cmd
				for _, a := range d.CmdArgs {
					line += " " + a.Key
				}
				return scenarioSetup(t, w, line)
			case "balance":
				b, err := w.s.AccountBalance(ledger.AccountMerchantPayable(w.mids[d.CmdArgs[0].Key]))
				mustT(t, err)
				return fmt.Sprintf("mpr %s %d\n", d.CmdArgs[0].Key, b)
			case "check":
				rep, err := w.s.Check(context.Background())
				mustT(t, err)
				if !rep.OK() {
					return fmt.Sprintf("problems: %v\n", rep.Problems)
				}
				return fmt.Sprintf("ok: money sum %d\n", rep.Money.Sum)
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

func scenarioSetup(t *testing.T, w *world, input string) string {
	for _, ln := range strings.Split(strings.TrimSpace(input), "\n") {
		f := strings.Fields(ln)
		kv := map[string]int64{}
		flags := map[string]bool{}
		for _, x := range f[2:] {
			if k, v, ok := strings.Cut(x, "="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				mustT(t, err)
				kv[k] = n
			} else {
				flags[x] = true
			}
		}
		switch f[0] {
		case "program": // program ID interchange_bp= point_cost= redemption_value= [merchant_fee= terminal_fee=]
			var billing *ledger.Billing
			if _, ok := kv["merchant_fee"]; ok || kv["terminal_fee"] != 0 {
				billing = &ledger.Billing{MerchantMonthlyFee: ledger.Amount(kv["merchant_fee"]), TerminalMonthlyFee: ledger.Amount(kv["terminal_fee"])}
			}
			w.program(f[1], kv["interchange_bp"], ledger.Amount(kv["point_cost"]), ledger.Amount(kv["redemption_value"]), billing)
		case "terminal": // terminal TID MERCHANT [disabled]
			w.terminal(f[1], f[2], !flags["disabled"])
		case "merchant": // merchant NAME PROG [home] mdr_bp= load_bp=
			w.merchant(f[1], f[2], flags["home"], kv["mdr_bp"], kv["load_bp"])
		case "card": // card NAME PROG HOME balance=
			w.card(f[1], f[2], f[3], ledger.Amount(kv["balance"]))
		default:
			t.Fatalf("setup: %q", ln)
		}
	}
	return ""
}

func scenarioTxn(t *testing.T, w *world, input string, labels map[string]string) string {
	var out strings.Builder
	for _, ln := range strings.Split(strings.TrimSpace(input), "\n") {
		f := strings.Fields(ln)
		kind, ok := kindByName[f[0]]
		if !ok {
			t.Fatalf("txn: unknown kind in %q", ln)
		}
		var amount ledger.Amount
		var of, as string
		for i := 3; i < len(f); i++ {
			switch f[i] {
			case "of":
				i++
				of = f[i]
			case "as":
				i++
				as = f[i]
			default:
				a, err := money.ParseAmount(f[i])
				mustT(t, err)
				amount = a
			}
		}
		res := w.send(kind, f[1], f[2], amount, of, as)
		if res.Err != nil {
			fmt.Fprintf(&out, "%s: declined: %v\n", ln, res.Err)
			continue
		}
		if as != "" {
			labels[res.RRN] = as
		}
		fmt.Fprintf(&out, "%s: approved\n", ln)
	}
	return out.String()
}

// nonzero renders the named figures that are not zero.
func nonzero(pairs ...any) string {
	var b strings.Builder
	for i := 0; i < len(pairs); i += 2 {
		v := fmt.Sprint(pairs[i+1])
		if v != "0" {
			fmt.Fprintf(&b, " %s=%s", pairs[i], v)
		}
	}
	return b.String()
}

func totalsText(t Totals) string {
	return nonzero("sales", int64(t.Sales), "refunds", int64(t.Refunds), "loads", int64(t.Loads), "redeemed", int64(t.RedeemedValue),
		"pts_earned", t.PointsEarned, "pts_redeemed", t.PointsRedeemed, "mdr", int64(t.MDRFee), "ic_paid", int64(t.Interchange),
		"ic_recv", int64(t.InterchangeReceived), "load_comm", int64(t.LoadCommission), "pt_cost", int64(t.PointCost),
		"billing", int64(t.Billing),
		"excluded", t.Excluded, "adjustments", t.Adjustments, "late", t.Late) + fmt.Sprintf(" net=%d", int64(t.Net))
}

func positionsText(w *world, res Result) string {
	var b strings.Builder
	if res.AlreadySettled {
		b.WriteString("(already settled)\n")
	}
	fmt.Fprintf(&b, "posted %d\n", res.Posted)
	for _, p := range res.Day.Positions {
		fmt.Fprintf(&b, "%s:%s\n", w.names[p.MID], totalsText(p.Totals))
	}
	for _, pp := range res.Day.Programs {
		fmt.Fprintf(&b, "program %s: net=%d (merchants %d)\n", pp.Program, int64(pp.Net), int64(pp.Merchants.Net))
	}
	return b.String()
}

// linesText reads the merchant's CSV file back, as a reader of it would.
func linesText(t *testing.T, w *world, root, date, merchant string, labels map[string]string) string {
	d, err := ledger.ParseBusinessDate(date)
	mustT(t, err)
	f, err := os.Open(filepath.Join(Dir(root, d), w.mids[merchant]+".csv"))
	if errors.Is(err, fs.ErrNotExist) {
		return "no file\n"
	}
	mustT(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	mustT(t, err)
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	label := func(rrn string) string {
		if l, ok := labels[rrn]; ok {
			return l
		}
		return rrn
	}
	var b strings.Builder
	for _, r := range rows[1:] {
		get := func(c string) string { return r[col[c]] }
		switch get("record") {
		case "total":
			fmt.Fprintf(&b, "total lines=%s%s net=%s\n", get("lines"), nonzero("billing", get("billing_fen")), get("net_fen"))
			continue
		case "invoice":
			tid := ""
			if get("tid") != "" {
				tid = " tid=" + get("tid")
			}
			fmt.Fprintf(&b, "invoice %s %s%s amount=%s net=%s\n", get("billing_month"), get("kind"), tid, get("amount_fen"), get("net_fen"))
			continue
		}
		fmt.Fprintf(&b, "%s %s %s %s", label(get("rrn")), get("role"), get("kind"), get("status"))
		if get("late") == "true" {
			fmt.Fprintf(&b, " late_from=%s", get("late_from"))
		}
		if o := get("orig_rrn"); o != "" {
			fmt.Fprintf(&b, " orig=%s(%s)", label(o), get("orig_date"))
		}
		if x := get("excluded_with"); x != "" {
			fmt.Fprintf(&b, " with=%s", label(x))
		}
		var figs []any
		for _, c := range []string{"sales_fen", "refunds_fen", "loads_fen", "redeemed_value_fen", "points_earned",
			"points_redeemed", "mdr_fee_fen", "interchange_paid_fen", "interchange_received_fen", "load_commission_fen", "point_cost_fen"} {
			figs = append(figs, strings.TrimSuffix(strings.TrimSuffix(c, "_fen"), "_fee"), get(c))
		}
		fmt.Fprintf(&b, "%s net=%s\n", nonzero(figs...), get("net_fen"))
	}
	return b.String()
}
