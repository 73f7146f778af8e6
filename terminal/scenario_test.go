package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

func TestParseScenario(t *testing.T) {
	src := `# demo
signon
purchase card=alice amount=12.50 as=p1   # coffee
refund rrn=@p1 amount=2
void @last expect=00
terminal T0000002
terminal 2
balance card=6210001234567890 exp=2812 entry=manual pin=1234
complete ref=@p1 amount=0.05
purchase card=alice amount=3 entry=chip imk=0123456789abcdefFEDCBA9876543210 psn=01 pin=1234
balance card=alice pin=none

settle
`
	sc, err := ParseScenario(strings.NewReader(src), "x.pos")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Steps) != 11 {
		t.Fatalf("%d steps", len(sc.Steps))
	}
	p := sc.Steps[1]
	if p.Line != 3 || p.Op != OpPurchase || p.Card != "alice" || p.Amount != 1250 || p.Label != "p1" {
		t.Fatalf("%+v", p)
	}
	if r := sc.Steps[2]; r.Op != OpRefund || r.Ref != "@p1" || r.Amount != 200 {
		t.Fatalf("%+v", r)
	}
	if v := sc.Steps[3]; v.Ref != "@last" || v.Expect != "00" {
		t.Fatalf("%+v", v)
	}
	if b := sc.Steps[6]; b.Card != "6210001234567890" || b.Exp != "2812" || !b.Manual || b.PIN != "1234" {
		t.Fatalf("%+v", b)
	}
	if c := sc.Steps[8]; !c.Chip || c.IMK != "0123456789ABCDEFFEDCBA9876543210" || c.PSN != "01" || c.PIN != "1234" {
		t.Fatalf("%+v", c)
	}
	if n := sc.Steps[9]; !n.NoPIN || n.PIN != "" {
		t.Fatalf("pin=none: %+v", n)
	}
	// String round trips.
	for _, st := range sc.Steps {
		back, ok, err := ParseStep(st.String())
		back.Line = st.Line
		if err != nil || !ok || back != st {
			t.Errorf("%q: %+v %v", st.String(), back, err)
		}
	}
}

func TestParseScenarioErrors(t *testing.T) {
	cases := []struct{ line, reason string }{
		{"purchse card=alice amount=1", `unknown operation "purchse"`},
		{"purchase card=alice", "purchase needs amount"},
		{"purchase amount=1", "purchase needs card"},
		{"purchase card=alice amount=1.234", "more than 2 decimals"},
		{"purchase card=alice amount=-1", "signs are not allowed"},
		{"purchase card=alice amount=12,50", `"12,50"`},
		{"purchase card=alice card=bob amount=1", "card given twice"},
		{"purchase card=alice amount=1 rrn=x", "purchase does not take rrn"},
		{"purchase alice amount=1", `unexpected "alice"`},
		{"void", "void needs the original"},
		{"void last", `reference "last" is not`},
		{"void @", `reference "@" is not`},
		{"refund amount=1", "refund needs rrn"},
		{"refund rrn=000000001234 amount=1", "needs card="},
		{"signon expect=000", "expect"},
		{"balance card=alice exp=2812", "exp= goes with a literal PAN only"},
		{"balance card=62100012345678901234", "neither a name nor a PAN"},
		{"balance card=alice entry=tap", `entry "tap" is not swipe, manual or chip`},
		{"balance card=alice imk=0123456789ABCDEFFEDCBA9876543210", "imk= and psn= go with entry=chip"},
		{"balance card=alice entry=chip psn=1", `psn "1" is not 2 digits`},
		{"balance card=alice entry=chip imk=0123456789ABCDEFFEDCBA987654321", "imk is 31 characters"},
		{"balance card=alice entry=chip imk=0123456789ABCDEFFEDCBA987654321X", "imk is not hex"},
		{"balance card=alice pin=12", "pin is not 4 to 12 digits"},
		{"terminal T1", "neither an 8-character TID"},
		{"purchase card=alice amount=1 as=last", "label"},
		{"settle now", `unexpected "now"`},
		{"echo \x01", "control character"},
		{"echo é", "non-ASCII"},
		{strings.Repeat("x", 2000), "longer than"},
	}
	for _, c := range cases {
		src := "signon\n\n" + c.line + "\nsignoff\n"
		_, err := ParseScenario(strings.NewReader(src), "bad.pos")
		var se *ScenarioError
		if !errors.As(err, &se) || !errors.Is(err, ErrScenario) {
			t.Errorf("%q: err = %v", c.line, err)
			continue
		}
		if se.Line != 3 || se.File != "bad.pos" || !strings.Contains(se.Reason, c.reason) || !strings.HasPrefix(err.Error(), "bad.pos:3: ") {
			t.Errorf("%q: %v (want line 3, %q)", c.line, err, c.reason)
		}
	}
	// A mistyped line never puts a card number in an error.
	_, err := ParseScenario(strings.NewReader("purchase 6210001234567890 amount=1\nbalance card=62100012345678901234\n"), "p")
	if err == nil || strings.Contains(err.Error(), "6210001234567890") || !strings.Contains(err.Error(), "621000******7890") {
		t.Fatalf("%v", err)
	}
	// Every bad line is reported, each with its number.
	_, err = ParseScenario(strings.NewReader("nope\nsignon\nvoid\n"), "f")
	if err == nil || !strings.Contains(err.Error(), "f:1: ") || !strings.Contains(err.Error(), "f:3: ") {
		t.Fatalf("%v", err)
	}
}

func FuzzParseScenarioLine(f *testing.F) {
	addSeeds(f, "FuzzParseScenarioLine")
	f.Fuzz(func(t *testing.T, line string) {
		st, ok, err := ParseStep(line)
		if err != nil {
			if !errors.Is(err, ErrScenario) {
				t.Fatalf("error %v does not wrap ErrScenario", err)
			}
			return
		}
		if !ok {
			return
		}
		// A parsed step formats to a line that parses to the same step.
		back, ok, err := ParseStep(st.String())
		if err != nil || !ok || back != st {
			t.Fatalf("%q -> %q -> %+v, %v", line, st.String(), back, err)
		}
	})
}

// demoCards are placeholder cards for the demo's names; the real ones come
// from the demo config. alice and mei are chip cards.
var demoCards = map[string]Card{
	"alice":    {PAN: "6210001234567890", Expiry: "2812", Chip: &ChipCard{IMK: testIMK, PSN: "01"}},
	"mei":      {PAN: "6210001234567965", Expiry: "2812", Chip: &ChipCard{IMK: testIMK, PSN: "01"}},
	"bob":      {PAN: "6210001234567908", Expiry: "2812"},
	"carol":    {PAN: "6210001234567916", Expiry: "2812"},
	"dave":     {PAN: "6210001234567924", Expiry: "2812"},
	"erin":     {PAN: "6210001234567932", Expiry: "2812"},
	"lost1":    {PAN: "6210001234567940", Expiry: "2812"},
	"expired1": {PAN: "6210001234567957", Expiry: "2001"},
}

func TestDemoScenario(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "testdata", "pos", "demo.pos"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc, err := ParseScenario(f, "demo.pos")
	if err != nil {
		t.Fatal(err)
	}
	// A peer that approves everything, gives working keys at sign-on and
	// plays the issuer for chip requests.
	tmk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	f62 := encryptField62(t, tmk, mustHex(t, "00112233445566778899AABBCCDDEEFF"), testTAK)
	issuer := newChipIssuer(t)
	p := &scriptedPeer{answer: func(req *wire.Message) *wire.Message {
		if req.MTI == "0800" && req.Fields[70] == "001" {
			return response(req, "00", map[int]string{62: string(f62)})
		}
		return issuer.answer(req)
	}}
	withTMK := func(tid string) func(*TerminalConfig) {
		return func(c *TerminalConfig) { c.TID, c.TMK = tid, tmk }
	}
	t1 := newTestTerminal(t, p, withTMK("T0000001"))
	t2 := newTestTerminal(t, p, withTMK("T0000002"))
	var out bytes.Buffer
	r, err := NewRunner(RunnerConfig{Terminals: []*Terminal{t1, t2}, Cards: demoCards, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(sc); err != nil {
		t.Fatal(err)
	}
	// Against a peer that approves everything, the runner executes every
	// line; only the expected declines are reported as failed expectations.
	err = r.Run(context.Background(), sc)
	if !errors.Is(err, ErrExpectation) || len(r.Failures()) != 4 { // 55, 51, 41, 54
		t.Fatalf("%v\n%s", err, out.String())
	}
	// What the demo shows of contract section 7: keys at sign-on, PINs
	// entered, chip purchases whose ARPC verified.
	for _, want := range []string{"keys=ok", "pin=entered", "atc=1 arpc=ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("%q not in the demo's output:\n%s", want, out.String())
		}
	}
	for _, c := range demoCards {
		if strings.Contains(out.String(), c.PAN) {
			t.Fatalf("clear PAN in output:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "621000******7890") {
		t.Fatalf("no masked PAN in output:\n%s", out.String())
	}
}

func TestRunnerOutputAndReferences(t *testing.T) {
	p := &scriptedPeer{answer: func(req *wire.Message) *wire.Message {
		if req.Fields[4] == "000000009999" {
			return response(req, "51", map[int]string{54: Balances{Ledger: 100, Available: 100, Points: 5}.Field54()})
		}
		return approveAll(req)
	}}
	term := newTestTerminal(t, p, nil)
	var out bytes.Buffer
	r, _ := NewRunner(RunnerConfig{Terminals: []*Terminal{term}, Cards: demoCards, Out: &out})
	src := `signon
purchase card=alice amount=12.50 as=p1
purchase card=alice amount=99.99 expect=51
refund rrn=@p1 amount=2.00
void @p1
purchase card=6210009999999999 amount=1
`
	sc, err := ParseScenario(strings.NewReader(src), "t.pos")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), sc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	want := "2025-11-23 06:05:09 T0000001 purchase  621000******7890           12.50  00 approved                 rrn=RRN000000002 ledger=100.00 avail=90.00 points=77 earned=3"
	if lines[1] != want {
		t.Fatalf("line:\n%s\nwant:\n%s", lines[1], want)
	}
	if !strings.Contains(lines[2], "51 insufficient funds") || !strings.Contains(lines[2], "ledger=1.00") {
		t.Fatalf("decline line %q", lines[2])
	}
	// The refund names the purchase's RRN and its card; the void its identity.
	refund, void := p.reqs[3], p.reqs[4]
	if refund.Fields[37] != "RRN000000002" || !strings.HasPrefix(refund.Fields[2], "621000") {
		t.Fatalf("refund 37=%q", refund.Fields[37])
	}
	if void.Fields[90][:10] != "0200000002" || void.Fields[4] != "000000001250" {
		t.Fatalf("void 90=%q", void.Fields[90])
	}
	if p.reqs[5].Fields[35] != "6210009999999999=4912101" {
		t.Fatal("literal PAN without exp= should use the default expiry")
	}

	// Semantic errors are found before anything is sent.
	n := len(p.reqs)
	bad, _ := ParseScenario(strings.NewReader("purchase card=zed amount=1\nvoid @nope\nterminal T0000009\nterminal 7\n"), "b.pos")
	err = r.Run(context.Background(), bad)
	for _, want := range []string{`b.pos:1: unknown card "zed"`, "b.pos:2: label @nope", `b.pos:3: unknown terminal "T0000009"`, "b.pos:4: unknown terminal"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
	if len(p.reqs) != n {
		t.Fatal("sent requests for a scenario that failed its check")
	}
	// A step with no response stops the run and names the line.
	p.answer = func(*wire.Message) *wire.Message { return nil }
	stop, _ := ParseScenario(strings.NewReader("echo\necho\n"), "s.pos")
	if err := r.Run(context.Background(), stop); err == nil || !strings.HasPrefix(err.Error(), "s.pos:1: ") || len(p.reqs) != n+1 {
		t.Fatalf("%v", err)
	}
}

// TestRunnerCardholderPIN: without pin= the runner asks CardholderPIN,
// with the step's processing code and amount; pin= overrides it, pin=none
// enters nothing.
func TestRunnerCardholderPIN(t *testing.T) {
	tmk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	tpk := mustHex(t, "00112233445566778899AABBCCDDEEFF")
	f62 := encryptField62(t, tmk, tpk, testTAK)
	p := &scriptedPeer{answer: func(req *wire.Message) *wire.Message {
		if req.MTI == "0800" {
			return response(req, "00", map[int]string{62: string(f62)})
		}
		return approveAll(req)
	}}
	term := newTestTerminal(t, p, func(c *TerminalConfig) { c.TMK = tmk })
	type ask struct {
		card, pc string
		amount   Fen
	}
	var asked []ask
	var out bytes.Buffer
	r, err := NewRunner(RunnerConfig{Terminals: []*Terminal{term}, Cards: demoCards, Out: &out,
		CardholderPIN: func(card, pc string, amount Fen) string {
			asked = append(asked, ask{card, pc, amount})
			if pc == "000000" && amount >= 10000 {
				return "1234"
			}
			return ""
		}})
	if err != nil {
		t.Fatal(err)
	}
	src := `signon
purchase card=alice amount=1.00
purchase card=alice amount=150.00
purchase card=alice amount=150.00 pin=0000
purchase card=alice amount=150.00 pin=none
balance card=alice
purchase card=6210009999999999 amount=150.00
`
	sc, err := ParseScenario(strings.NewReader(src), "pin.pos")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), sc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	block := func(pin string) string {
		b, err := cardcrypto.EncryptPINBlock(tpk, pin, demoCards["alice"].PAN)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	want52 := []string{"", block("1234"), block("0000"), "", "", ""}
	for i, w := range want52 {
		if got := p.reqs[i+1].Fields[52]; got != w {
			t.Errorf("request %d (%s): field 52 %x, want %x", i+1, sc.Steps[i+1], got, w)
		}
	}
	// Asked for the steps without pin= that name a card by name only.
	wantAsked := []ask{{"alice", "000000", 100}, {"alice", "000000", 15000}, {"alice", "310000", 0}}
	if fmt.Sprint(asked) != fmt.Sprint(wantAsked) {
		t.Errorf("asked %v, want %v", asked, wantAsked)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.Contains(lines[0], "keys=ok") || strings.Contains(lines[1], "pin=") || !strings.Contains(lines[2], "pin=entered") {
		t.Errorf("output:\n%s", out.String())
	}
	if strings.Contains(out.String(), "1234") {
		t.Errorf("the PIN shows in the output:\n%s", out.String())
	}
}
