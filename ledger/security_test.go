package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/keys"
)

// The ledger's side of contract section 7, without the wire: the gateway's
// verdicts go in as Request.Security, and the tests check the codes, what
// is stored and the state the writer keeps (key generation, wrong-PIN
// count, ATC).

func openSecure(t testing.TB) *Store {
	t.Helper()
	kek, err := keys.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	clk := &fixedClock{time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), Options{Now: clk.now, Sealer: kek})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Products: []Product{
		{Name: "secure", Kind: "both", PINRequired: map[string]Amount{"000000": 5000, "310000": 0}},
	}}))
	must(t, s.PutMerchant(ctx, Merchant{MID: testMID, ProgramID: "p1", Home: true}))
	must(t, s.PutTerminal(ctx, Terminal{TID: testTID, MID: testMID, Enabled: true}))
	must(t, s.PutCard(ctx, Card{PAN: testPAN, ProgramID: "p1", HomeMID: testMID, Product: "secure",
		State: CardActive, Expiry: "2912", PSN: "01", Member: Member{Registered: true}}))
	pd, err := s.PINData(testPAN, "1234")
	must(t, err)
	must(t, s.SetCardPIN(ctx, testPAN, pd, Operator{Name: "test", Reason: "issue the PIN"}))
	if _, err := s.Adjust(ctx, testPAN, 100000, "opening"); err != nil {
		t.Fatal(err)
	}
	must(t, s.SetTerminalTMK(ctx, testTID, bytes.Repeat([]byte{0x11}, 16), "ABCDEF", Operator{Name: "test", Reason: "deploy"}))
	return s
}

// signOn gives the terminal working keys and returns their generation.
func signOnWithKeys(t *testing.T, s *Store, stan string, kind Kind) uint32 {
	t.Helper()
	tpk, tak, err := s.SealWorkingKeys(testTID, bytes.Repeat([]byte{0x22}, 16), bytes.Repeat([]byte{0x33}, 16))
	must(t, err)
	r := req(kind, "0800", stan, 0)
	r.Security.NewKeys = &WorkingKeys{TPK: tpk, TAK: tak, TPKKCV: "AAAAAA", TAKKCV: "BBBBBB", Field62: []byte("field 62 bytes")}
	res := do(t, s, r)
	if res.Err != nil || !bytes.Equal(res.Field62, []byte("field 62 bytes")) || res.KeyGen == 0 {
		t.Fatalf("sign-on: %+v", res)
	}
	return res.KeyGen
}

func macd(gen uint32) reqOpt {
	return func(r *Request) { r.Security.MACScope, r.Security.MAC, r.Security.KeyGen = true, MACValid, gen }
}

func TestMACStepAndKeyGenerations(t *testing.T) {
	s := openSecure(t)
	gen := signOnWithKeys(t, s, "000001", KindSignOn)
	k, err := s.WorkingKeys(testTID)
	if err != nil || k.Gen != gen || !bytes.Equal(k.TAK, bytes.Repeat([]byte{0x33}, 16)) {
		t.Fatalf("working keys: gen %d %v", k.Gen, err)
	}

	for _, bad := range []func(*Request){
		func(r *Request) { r.Security.MACScope = true },                                                     // absent
		func(r *Request) { r.Security.MACScope, r.Security.MAC = true, MACWrong },                           // wrong
		func(r *Request) { r.Security.MACScope, r.Security.MAC = true, MACMisplaced },                       // 64 vs 128
		func(r *Request) { r.Security.MACScope, r.Security.MAC, r.Security.KeyGen = true, MACValid, gen+1 }, // other keys
	} {
		res := do(t, s, req(KindPurchase, "0200", "000002", 100, bad))
		if !errors.Is(res.Err, ErrSecurity) || res.Stored || res.MACKeyGen != 0 {
			t.Fatalf("bad MAC: %+v", res)
		}
	}
	// Not stored: the same identity with a good MAC is a first.
	res := do(t, s, req(KindPurchase, "0200", "000002", 100, macd(gen)))
	if res.Err != nil || res.MACKeyGen != gen || res.RRN == "" {
		t.Fatalf("good MAC: %+v", res)
	}

	// A key change makes the old generation's MACs wrong.
	gen2 := signOnWithKeys(t, s, "000003", KindKeyChange)
	if gen2 != gen+1 {
		t.Fatalf("key change: generation %d, want %d", gen2, gen+1)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000004", 100, macd(gen))); !errors.Is(res.Err, ErrSecurity) {
		t.Fatalf("old keys: %v", res.Err)
	}
	// A retransmitted answer is MACed under the current keys.
	if res := do(t, s, req(KindPurchase, "0200", "000002", 100, macd(gen2))); !res.Replayed || res.MACKeyGen != gen2 {
		t.Fatalf("replay: %+v", res)
	}

	// Sign-off drops the keys: nothing to MAC, 58 for the rest.
	do(t, s, req(KindSignOff, "0800", "000005", 0))
	if k, err := s.WorkingKeys(testTID); err != nil || k.TAK != nil {
		t.Fatalf("after sign-off: %+v %v", k, err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000006", 100)); !errors.Is(res.Err, ErrNotSignedOn) {
		t.Fatalf("after sign-off: %v", res.Err)
	}
}

func TestPINStepCountsBlocksAndUnblocks(t *testing.T) {
	s := openSecure(t)
	gen := signOnWithKeys(t, s, "000001", KindSignOn)
	stan := 1
	send := func(amount Amount, v PINVerdict) Result {
		stan++
		return do(t, s, req(KindPurchase, "0200", pad6(stan), amount, macd(gen), func(r *Request) { r.ProcCode, r.Security.PIN = "000000", v }))
	}
	state := func() PINState {
		st, err := s.CardPINState(testPAN)
		must(t, err)
		return st
	}
	if res := send(4999, PINAbsent); res.Err != nil {
		t.Fatalf("below the product's amount: %v", res.Err)
	}
	if res := send(5000, PINAbsent); !errors.Is(res.Err, ErrWrongPIN) || state().Tries != 0 {
		t.Fatalf("absent: %v %+v", res.Err, state())
	}
	send(5000, PINWrong)
	send(5000, PINWrong)
	if res := send(5000, PINCorrect); res.Err != nil || state().Tries != 0 {
		t.Fatalf("a correct PIN resets: %v %+v", res.Err, state())
	}
	send(5000, PINWrong)
	send(5000, PINWrong)
	if res := send(5000, PINWrong); !errors.Is(res.Err, ErrPINTriesExceeded) || !state().Blocked {
		t.Fatalf("third wrong: %v %+v", res.Err, state())
	}
	for _, v := range []PINVerdict{PINCorrect, PINAbsent} {
		if res := send(5000, v); !errors.Is(res.Err, ErrPINTriesExceeded) {
			t.Fatalf("blocked, %v: %v", v, res.Err)
		}
	}
	if err := s.UnblockPIN(context.Background(), testPAN, Operator{}); !errors.Is(err, ErrNoOperator) {
		t.Fatalf("unblock without an operator: %v", err)
	}
	must(t, s.UnblockPIN(context.Background(), testPAN, Operator{Name: "ops", Reason: "cardholder identified"}))
	if res := send(5000, PINCorrect); res.Err != nil {
		t.Fatalf("after unblock: %v", res.Err)
	}
	log, err := s.AuditLog(0, 0)
	must(t, err)
	last := log[len(log)-1]
	if last.Action != "pin_unblock" || last.Operator != "ops" || last.Reason != "cardholder identified" ||
		strings.Contains(last.Target, testPAN) || !strings.Contains(last.Detail, "blocked true") {
		t.Fatalf("audit record: %+v", last)
	}
}

func TestChipStepATCAndPSN(t *testing.T) {
	s := openSecure(t)
	gen := signOnWithKeys(t, s, "000001", KindSignOn)
	stan := 1
	send := func(amount Amount, chip ChipCheck) Result {
		stan++
		return do(t, s, req(KindPurchase, "0200", pad6(stan), amount, macd(gen), func(r *Request) {
			r.Security.Chip, r.Security.PIN = &chip, PINCorrect
		}))
	}
	if res := send(100, ChipCheck{PSN: "01", ATC: 5, CryptogramValid: true}); res.Err != nil || !res.ChipAccepted {
		t.Fatalf("first: %+v", res)
	}
	for _, c := range []ChipCheck{{PSN: "01", ATC: 5, CryptogramValid: true}, {PSN: "01", ATC: 4, CryptogramValid: true}, {PSN: "01", ATC: 9}} {
		if res := send(100, c); !errors.Is(res.Err, ErrSecurity) || res.Stored || res.ChipAccepted {
			t.Fatalf("%+v: %+v", c, res)
		}
	}
	if res := send(100, ChipCheck{PSN: "02", ATC: 9, CryptogramValid: true}); !errors.Is(res.Err, ErrUnknownCard) {
		t.Fatalf("other PSN: %v", res.Err)
	}
	// A decline after the chip step owes tag 91 and keeps the ATC used.
	if res := send(99999999, ChipCheck{PSN: "01", ATC: 7, CryptogramValid: true}); !errors.Is(res.Err, ErrInsufficientFunds) || !res.ChipAccepted {
		t.Fatalf("decline: %+v", res)
	}
	if res := send(100, ChipCheck{PSN: "01", ATC: 7, CryptogramValid: true}); !errors.Is(res.Err, ErrSecurity) {
		t.Fatalf("ATC of a decline reused: %v", res.Err)
	}
}

func TestPINDataIsOneWayAndSalted(t *testing.T) {
	s := openSecure(t)
	a, err := s.PINData(testPAN, "1234")
	must(t, err)
	b, err := s.PINData(testPAN, "1234")
	must(t, err)
	if bytes.Equal(a, b) || len(a) != PINDataLen || bytes.Contains(a, []byte("1234")) {
		t.Fatal("PIN data is not salted, or holds the PIN")
	}
	if !s.PINMatches(testPAN, "1234", a) || s.PINMatches(testPAN, "1235", a) || s.PINMatches(testPAN[:15]+"0", "1234", a) {
		t.Fatal("PINMatches: wrong answer")
	}
	if s.PINMatches(testPAN, "1234", a[:10]) {
		t.Fatal("PINMatches accepted truncated data")
	}
}

func TestBINRanges(t *testing.T) {
	for _, tc := range []struct {
		r     BINRange
		valid bool
		in    []string
		out   []string
	}{
		{BINRange{"621000", "621099"}, true, []string{"6210001234567890", "6210991234567890"}, []string{"6211001234567890", "62100"}},
		{BINRange{"6210000001", "6210000001"}, true, []string{"6210000001123456"}, []string{"6210000002123456"}},
		{BINRange{"62100", "62199"}, false, nil, nil},
		{BINRange{"621099", "621000"}, false, nil, nil},
		{BINRange{"621000", "6210999"}, false, nil, nil},
		{BINRange{"62100a", "621099"}, false, nil, nil},
	} {
		if err := tc.r.Validate(); (err == nil) != tc.valid {
			t.Errorf("%s: Validate %v", tc.r, err)
		}
		for _, p := range tc.in {
			if !tc.r.Contains(p) {
				t.Errorf("%s should contain %s", tc.r, p)
			}
		}
		for _, p := range tc.out {
			if tc.r.Contains(p) {
				t.Errorf("%s should not contain %s", tc.r, p)
			}
		}
	}
}

func pad6(n int) string { return fmt.Sprintf("%06d", n) }
