package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// scriptedPeer stands in for the Client in Terminal tests: it records each
// request and answers with what answer returns. It checks the terminal's
// message building and bookkeeping, not any host behaviour.
type scriptedPeer struct {
	reqs   []*wire.Message
	answer func(req *wire.Message) *wire.Message
	taks   map[string][]byte
}

func (p *scriptedPeer) Do(ctx context.Context, req *wire.Message) (*wire.Message, error) {
	p.reqs = append(p.reqs, req.Clone())
	resp := p.answer(req)
	if resp == nil {
		return nil, fmt.Errorf("%w: scripted", ErrNoResponse)
	}
	return resp, nil
}

func (p *scriptedPeer) SetTAK(tid string, tak []byte) {
	if p.taks == nil {
		p.taks = map[string][]byte{}
	}
	p.taks[tid] = tak
}

func (p *scriptedPeer) last() *wire.Message { return p.reqs[len(p.reqs)-1] }

// approveAll answers 00 with an RRN from the STAN and a fixed field 54.
func approveAll(req *wire.Message) *wire.Message {
	extra := map[int]string{}
	switch req.MTI {
	case "0100", "0200", "0220":
		extra[37] = "RRN000" + req.Fields[11]
		extra[38] = "A" + req.Fields[11][1:]
		extra[54] = Balances{Ledger: 10000, Available: 9000, Points: 77, Earned: 3}.Field54()
	}
	return response(req, "00", extra)
}

var testClock = time.Date(2025, 11, 23, 14, 5, 9, 0, time.FixedZone("CST", 8*3600))

func newTestTerminal(t *testing.T, p *scriptedPeer, mod func(*TerminalConfig)) *Terminal {
	t.Helper()
	cfg := TerminalConfig{TID: "T0000001", MID: "M00000000000001", Conn: p, Now: func() time.Time { return testClock }}
	if mod != nil {
		mod(&cfg)
	}
	term, err := NewTerminal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return term
}

var alice = Card{PAN: "6210001234567890", Expiry: "2812"}

func fieldsOf(m *wire.Message) []int {
	var fs []int
	for n := 2; n <= 128; n++ {
		if m.Has(n) {
			fs = append(fs, n)
		}
	}
	return fs
}

func TestTerminalRequestFields(t *testing.T) {
	p := &scriptedPeer{answer: approveAll}
	term := newTestTerminal(t, p, nil)
	ctx := context.Background()
	mustOK := func(r *Result, err error) *Result {
		t.Helper()
		if err != nil || !r.Approved() {
			t.Fatalf("%v %v", r, err)
		}
		return r
	}
	manual := alice
	manual.Manual = true

	mustOK(term.SignOn(ctx))
	mustOK(term.Balance(ctx, alice))
	pa := mustOK(term.PreAuth(ctx, alice, 8000))
	mustOK(term.Complete(ctx, pa.Txn, 7500))
	pur := mustOK(term.Purchase(ctx, manual, 1250))
	mustOK(term.Refund(ctx, alice, pur.RRN, 200))
	ld := mustOK(term.Load(ctx, alice, 10000))
	mustOK(term.Void(ctx, pur.Txn))
	mustOK(term.Accrual(ctx, alice, 3000))
	mustOK(term.Redeem(ctx, alice, 100))
	mustOK(term.Reverse(ctx, ld.Txn))

	f90 := func(x Txn) string { return x.MTI + x.STAN + "1123060509" + strings.Repeat("0", 22) }
	want := []struct {
		mti, pc, f4 string
		fields      []int
		f90         string
	}{
		{"0800", "", "", []int{7, 11, 41, 42, 70}, ""},
		{"0100", "310000", "", []int{3, 7, 11, 22, 25, 35, 41, 42, 60}, ""},
		{"0100", "000000", "000000008000", []int{3, 4, 7, 11, 22, 25, 35, 41, 42, 60}, ""},
		{"0220", "000000", "000000007500", []int{2, 3, 4, 7, 11, 14, 22, 25, 41, 42, 49, 60, 90}, f90(pa.Txn)},
		{"0200", "000000", "000000001250", []int{2, 3, 4, 7, 11, 14, 22, 25, 41, 42, 49, 60}, ""},
		{"0200", "200000", "000000000200", []int{3, 4, 7, 11, 22, 25, 35, 37, 41, 42, 49, 60}, ""},
		{"0200", "210000", "000000010000", []int{3, 4, 7, 11, 22, 25, 35, 41, 42, 49, 60}, ""},
		{"0200", "020000", "000000001250", []int{2, 3, 4, 7, 11, 14, 22, 25, 41, 42, 49, 60, 90}, f90(pur.Txn)},
		{"0200", "900000", "000000003000", []int{3, 4, 7, 11, 22, 25, 35, 41, 42, 49, 60}, ""},
		{"0200", "910000", "000000000100", []int{3, 4, 7, 11, 22, 25, 35, 41, 42, 49, 60}, ""},
		{"0400", "210000", "000000010000", []int{2, 3, 4, 7, 11, 14, 22, 25, 41, 42, 49, 60, 90}, f90(ld.Txn)},
	}
	if len(p.reqs) != len(want) {
		t.Fatalf("%d requests", len(p.reqs))
	}
	for i, w := range want {
		m := p.reqs[i]
		name := fmt.Sprintf("request %d (%s/%s)", i+1, w.mti, w.pc)
		if m.MTI != w.mti || m.Fields[3] != w.pc || m.Fields[4] != w.f4 {
			t.Errorf("%s: got %s/%s amount %q", name, m.MTI, m.Fields[3], m.Fields[4])
		}
		if got := fieldsOf(m); !reflect.DeepEqual(got, w.fields) {
			t.Errorf("%s: fields %v, want %v", name, got, w.fields)
		}
		if m.Fields[11] != fmt.Sprintf("%06d", i+1) || m.Fields[7] != "1123060509" || m.Fields[41] != "T0000001" || m.Fields[42] != "M00000000000001" {
			t.Errorf("%s: 11=%s 7=%s", name, m.Fields[11], m.Fields[7])
		}
		if m.Has(60) && m.Fields[60] != "000001" {
			t.Errorf("%s: 60=%q", name, m.Fields[60])
		}
		if m.Has(49) && m.Fields[49] != "156" {
			t.Errorf("%s: 49=%q", name, m.Fields[49])
		}
		if m.Has(25) && m.Fields[25] != "00" {
			t.Errorf("%s: 25=%q", name, m.Fields[25])
		}
		if w.f90 != "" && m.Fields[90] != w.f90 {
			t.Errorf("%s: 90=%q, want %q", name, m.Fields[90], w.f90)
		}
	}
	if got := p.reqs[1].Fields[35]; got != "6210001234567890=2812101" || p.reqs[1].Fields[22] != "021" {
		t.Errorf("track 2 %q, 22 %q", got, p.reqs[1].Fields[22])
	}
	if m := p.reqs[4]; m.Fields[2] != alice.PAN || m.Fields[14] != "2812" || m.Fields[22] != "012" {
		t.Errorf("manual entry: 2=%s 14=%s 22=%s", cardnum.Mask(m.Fields[2]), m.Fields[14], m.Fields[22])
	}
	if p.reqs[5].Fields[37] != pur.RRN {
		t.Errorf("refund 37 %q, want %q", p.reqs[5].Fields[37], pur.RRN)
	}
	// Results carry RC, RRN, auth code and balances.
	if pur.RC != "00" || pur.RRN != "RRN000000005" || pur.AuthCode != "A00005" ||
		pur.Balances == nil || *pur.Balances != (Balances{Ledger: 10000, Available: 9000, Points: 77, Earned: 3}) {
		t.Errorf("purchase result %+v %+v", pur, pur.Balances)
	}
}

// TestBatchTotals: debits are purchases and completions, credits refunds and
// loads; voided and reversed ones drop out; reversing a void puts its
// original back.
func TestBatchTotals(t *testing.T) {
	p := &scriptedPeer{answer: approveAll}
	term := newTestTerminal(t, p, nil)
	ctx := context.Background()
	do := func(r *Result, err error) Txn {
		t.Helper()
		if err != nil || !r.Approved() {
			t.Fatalf("%v", err)
		}
		return r.Txn
	}
	p1 := do(term.Purchase(ctx, alice, 1000))
	p2 := do(term.Purchase(ctx, alice, 500))
	do(term.Refund(ctx, alice, p1.RRN, 200))
	ld := do(term.Load(ctx, alice, 2000))
	pa := do(term.PreAuth(ctx, alice, 3000))
	do(term.Complete(ctx, pa, 2500))
	do(term.Accrual(ctx, alice, 4000))
	do(term.Redeem(ctx, alice, 100))
	if got, want := term.Totals(), (Totals{DebitCount: 3, DebitAmount: 4000, CreditCount: 2, CreditAmount: 2200}); got != want {
		t.Fatalf("totals %+v, want %+v", got, want)
	}
	v := do(term.Void(ctx, p2))
	do(term.Reverse(ctx, ld))
	want := Totals{DebitCount: 2, DebitAmount: 3500, CreditCount: 1, CreditAmount: 200}
	if got := term.Totals(); got != want {
		t.Fatalf("after void and reversal: %+v, want %+v", got, want)
	}
	if want.Field48() != "002000000003500001000000000200" {
		t.Fatalf("field 48 %q", want.Field48())
	}
	if back, err := ParseTotals(want.Field48()); err != nil || back != want {
		t.Fatalf("ParseTotals: %+v %v", back, err)
	}
	// Reversing the void restores the purchase it voided.
	do(term.Reverse(ctx, v))
	if got := term.Totals(); got != (Totals{DebitCount: 3, DebitAmount: 4000, CreditCount: 1, CreditAmount: 200}) {
		t.Fatalf("after reversing the void: %+v", got)
	}
	// A declined transaction changes nothing.
	p.answer = func(req *wire.Message) *wire.Message { return response(req, "51", nil) }
	if r, err := term.Purchase(ctx, alice, 99999); err != nil || r.Approved() {
		t.Fatal(err)
	}
	if got := term.Totals(); got.DebitCount != 3 {
		t.Fatalf("declined purchase counted: %+v", got)
	}
	if last, _ := term.LastApproved(); last.Op != OpVoid {
		t.Fatalf("last approved %s", last.Op)
	}
}

// TestSettleUpload: on 95 every counted transaction is uploaded with 0320,
// then 0500/960000; after 00 the batch number moves on.
func TestSettleUpload(t *testing.T) {
	p := &scriptedPeer{answer: approveAll}
	term := newTestTerminal(t, p, nil)
	ctx := context.Background()
	p1, _ := term.Purchase(ctx, alice, 1000)
	p2, _ := term.Purchase(ctx, alice, 500)
	term.Refund(ctx, alice, p1.RRN, 200)
	term.Void(ctx, p2.Txn)
	term.Balance(ctx, alice)
	n := len(p.reqs)
	p.answer = func(req *wire.Message) *wire.Message {
		if req.MTI == "0500" && req.Fields[3] == "920000" {
			return response(req, "95", nil)
		}
		return response(req, "00", nil)
	}
	sr, err := term.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sr.Closed || sr.Batch != 1 || term.Batch() != 2 || len(term.Txns()) != 0 {
		t.Fatalf("closed %v batch %d -> %d, %d txns left", sr.Closed, sr.Batch, term.Batch(), len(term.Txns()))
	}
	reqs := p.reqs[n:]
	var got []string
	for _, m := range reqs {
		got = append(got, m.MTI+"/"+m.Fields[3])
	}
	if want := []string{"0500/920000", "0320/000000", "0320/200000", "0500/960000"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("settle sent %v, want %v", got, want)
	}
	wantTotals := "001000000001000001000000000200"
	if reqs[0].Fields[48] != wantTotals || reqs[3].Fields[48] != wantTotals || reqs[0].Fields[60] != "000001" {
		t.Fatalf("48 %q / %q, 60 %q", reqs[0].Fields[48], reqs[3].Fields[48], reqs[0].Fields[60])
	}
	if fs := fieldsOf(reqs[0]); !reflect.DeepEqual(fs, []int{3, 7, 11, 41, 42, 48, 60}) {
		t.Fatalf("0500 fields %v", fs)
	}
	up := reqs[1]
	if up.Fields[37] != p1.RRN || up.Fields[4] != "000000001000" || up.Fields[90] != p1.Txn.Field90() || up.Has(49) || up.Fields[60] != "000001" {
		t.Fatalf("upload %v", fieldsOf(up))
	}
	// The next request names batch 2.
	term.Echo(ctx)
	p.answer = approveAll
	term.Purchase(ctx, alice, 100)
	if p.last().Fields[60] != "000002" {
		t.Fatalf("60 after settle %q", p.last().Fields[60])
	}
}

func TestSettleDirect00(t *testing.T) {
	p := &scriptedPeer{answer: approveAll}
	term := newTestTerminal(t, p, nil)
	term.Purchase(context.Background(), alice, 1000)
	sr, err := term.Settle(context.Background())
	if err != nil || !sr.Closed || len(sr.Uploads) != 0 || sr.Close != nil || term.Batch() != 2 {
		t.Fatalf("%+v %v", sr, err)
	}
	// A 0500 declined otherwise leaves the batch open.
	p.answer = func(req *wire.Message) *wire.Message { return response(req, "96", nil) }
	term.Purchase(context.Background(), alice, 1000)
	sr, err = term.Settle(context.Background())
	if err != nil || sr.Closed || term.Batch() != 2 {
		t.Fatalf("%+v %v", sr, err)
	}
}

func TestSTANWraps(t *testing.T) {
	st := state{NextSTAN: 999_998}
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, st.nextSTAN())
	}
	if want := []string{"999998", "999999", "000001"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
}

func TestNoResponseKeepsIdentity(t *testing.T) {
	p := &scriptedPeer{answer: func(*wire.Message) *wire.Message { return nil }}
	term := newTestTerminal(t, p, nil)
	res, err := term.Purchase(context.Background(), alice, 1000)
	if !errors.Is(err, ErrNoResponse) || res == nil || res.Txn.STAN != "000001" || res.Txn.MTI != "0200" || res.RC != "" {
		t.Fatalf("%+v %v", res, err)
	}
	if strings.Contains(err.Error(), alice.PAN) {
		t.Fatal("PAN in error")
	}
	// It can be reversed by its identity.
	p.answer = approveAll
	if r, err := term.Reverse(context.Background(), res.Txn); err != nil || p.last().Fields[90] != res.Txn.Field90() || p.last().Fields[3] != "000000" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestTerminalKeysAndPIN(t *testing.T) {
	tmk := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	tpk := mustHex(t, "00112233445566778899AABBCCDDEEFF")
	f62 := encryptField62(t, tmk, tpk, testTAK)
	p := &scriptedPeer{answer: func(req *wire.Message) *wire.Message {
		if req.MTI == "0800" && req.Fields[70] == "001" {
			return response(req, "00", map[int]string{62: string(f62)})
		}
		return approveAll(req)
	}}
	path := filepath.Join(t.TempDir(), "t1.json")
	term := newTestTerminal(t, p, func(c *TerminalConfig) { c.TMK = tmk; c.StatePath = path })
	ctx := context.Background()
	withPIN := alice
	withPIN.PIN = "1234"
	if _, err := term.Purchase(ctx, withPIN, 100); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("PIN before sign-on: %v", err)
	}
	if _, err := term.SignOn(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.taks["T0000001"], testTAK) || !term.HasKeys() {
		t.Fatal("TAK not handed to the connection")
	}
	if _, err := term.Purchase(ctx, withPIN, 100); err != nil {
		t.Fatal(err)
	}
	blk, _ := cardcrypto.EncryptPINBlock(tpk, "1234", alice.PAN)
	if p.last().Fields[52] != string(blk) {
		t.Fatal("field 52 is not the PIN block under the TPK")
	}
	// Voids never carry the PIN.
	last, _ := term.LastApproved()
	term.Void(ctx, last)
	if p.last().Has(52) {
		t.Fatal("void carries a PIN block")
	}
	// A new process picks the keys up from the state file.
	p2 := &scriptedPeer{answer: approveAll}
	term2 := newTestTerminal(t, p2, func(c *TerminalConfig) { c.TMK = tmk; c.StatePath = path })
	if !term2.HasKeys() || !bytes.Equal(p2.taks["T0000001"], testTAK) {
		t.Fatal("keys not restored")
	}
	data, _ := os.ReadFile(path)
	if bytes.Contains(bytes.ToUpper(data), []byte(fmt.Sprintf("%X", testTAK))) {
		t.Fatal("clear TAK in the state file")
	}
	// Sign-off drops them.
	if _, err := term2.SignOff(ctx); err != nil || term2.HasKeys() || p2.taks["T0000001"] != nil {
		t.Fatalf("sign-off: %v", err)
	}
	// A wrong check value is an error and leaves no keys.
	f62[18] ^= 1
	term3 := newTestTerminal(t, p, func(c *TerminalConfig) { c.TMK = tmk })
	if _, err := term3.SignOn(ctx); !errors.Is(err, ErrBadKey) || term3.HasKeys() {
		t.Fatalf("bad KCV: %v", err)
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pos.json")
	p := &scriptedPeer{answer: approveAll}
	term := newTestTerminal(t, p, func(c *TerminalConfig) { c.StatePath = path })
	ctx := context.Background()
	term.SignOn(ctx)
	p1, _ := term.Purchase(ctx, alice, 1250)
	term.Load(ctx, alice, 5000)
	term.Void(ctx, p1.Txn)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// A second "process" continues the sequence.
	term2 := newTestTerminal(t, &scriptedPeer{answer: approveAll}, func(c *TerminalConfig) { c.StatePath = path })
	if term2.NextSTAN() != 5 || term2.Batch() != 1 {
		t.Fatalf("next STAN %d batch %d", term2.NextSTAN(), term2.Batch())
	}
	if !reflect.DeepEqual(term.Txns(), term2.Txns()) || term2.Totals() != term.Totals() {
		t.Fatalf("txns differ:\n%v\n%v", term.Txns(), term2.Txns())
	}
	if last, ok := term2.LastApproved(); !ok || last.Op != OpVoid {
		t.Fatalf("last %v", last)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left temporary files: %v", entries)
	}
	// Another terminal's file, and garbage, are rejected.
	if _, err := NewTerminal(TerminalConfig{TID: "T0000009", MID: "M00000000000001", Conn: p, StatePath: path}); !errors.Is(err, ErrBadState) {
		t.Fatalf("other TID: %v", err)
	}
	for name, content := range map[string]string{
		"garbage": "{not json",
		"stan":    `{"version":1,"tid":"T0000001","mid":"M00000000000001","next_stan":0,"batch":1,"txns":[]}`,
		"version": `{"version":2,"tid":"T0000001","mid":"M00000000000001","next_stan":1,"batch":1,"txns":[]}`,
		"bad txn": `{"version":1,"tid":"T0000001","mid":"M00000000000001","next_stan":1,"batch":1,"txns":[{"mti":"02x0"}]}`,
		"keys":    `{"version":1,"tid":"T0000001","mid":"M00000000000001","next_stan":1,"batch":1,"working_keys":"zz","txns":[]}`,
	} {
		bad := filepath.Join(dir, name+".json")
		os.WriteFile(bad, []byte(content), 0o600)
		if _, err := NewTerminal(TerminalConfig{TID: "T0000001", MID: "M00000000000001", Conn: p, StatePath: bad}); !errors.Is(err, ErrBadState) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTxnAndCardNeverPrintPAN(t *testing.T) {
	x := Txn{Op: OpPurchase, MTI: "0200", PAN: alice.PAN, Expiry: "2812", Amount: 100}
	c := alice
	c.PIN = "1234"
	for _, s := range []string{fmt.Sprint(x), fmt.Sprintf("%+v", x), fmt.Sprintf("%#v", x), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, alice.PAN) || strings.Contains(s, "1234") && !strings.Contains(s, "621000") {
			t.Errorf("leaks: %s", s)
		}
	}
}

func TestNewTerminalChecks(t *testing.T) {
	p := &scriptedPeer{answer: approveAll}
	for _, cfg := range []TerminalConfig{
		{TID: "T1", MID: "M00000000000001", Conn: p},
		{TID: "T0000001", MID: "M1", Conn: p},
		{TID: "T0000001", MID: "M00000000000001"},
		{TID: "T0000001", MID: "M00000000000001", Conn: p, TMK: []byte{1}},
	} {
		if _, err := NewTerminal(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	term := newTestTerminal(t, p, nil)
	if _, err := term.Purchase(context.Background(), Card{PAN: "62100012345678901234", Expiry: "2812"}, 1); !errors.Is(err, ErrBadCard) {
		t.Errorf("long PAN: %v", err)
	}
	if _, err := term.Purchase(context.Background(), alice, -1); !errors.Is(err, ErrBadAmount) {
		t.Errorf("negative amount: %v", err)
	}
	if len(p.reqs) != 0 {
		t.Errorf("sent %d requests", len(p.reqs))
	}
}
