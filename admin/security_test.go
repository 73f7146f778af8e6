package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// component makes a fresh random key component for a test and registers
// it as a secret: env's cleanup fails the test if any response or log
// line carries it.
func (e *env) component() KeyComponent {
	e.t.Helper()
	k, err := cardcrypto.NewKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	kcv, _ := cardcrypto.KCVHex(k)
	h := strings.ToUpper(hex.EncodeToString(k))
	e.secrets = append(e.secrets, h)
	return KeyComponent{Key: h, KCV: kcv}
}

// combined is the key the components make, registered as a secret.
func (e *env) combined(cs ...KeyComponent) ([]byte, string) {
	e.t.Helper()
	pairs := make([][2]string, len(cs))
	for i, c := range cs {
		pairs[i] = [2]string{c.Key, c.KCV}
	}
	key, kcv, err := cardcrypto.LoadComponents("components", pairs)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets = append(e.secrets, hex.EncodeToString(key))
	return key, kcv
}

// rawAs is raw with the operator header as given ("" sends none).
func (e *env) rawAs(method, path, operator, body string) (int, ErrorBody, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if operator != "" {
		req.Header.Set(OperatorHeader, operator)
	}
	resp, err := e.client.HTTP.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb ErrorBody
	json.Unmarshal(data, &eb)
	return resp.StatusCode, eb, string(data)
}

func (e *env) auditCount() int {
	e.t.Helper()
	recs, err := e.store.AuditLog(0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(recs)
}

func TestLoadTMKAndIMK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c1, c2, c3 := e.component(), e.component(), e.component()
	tmk, tmkKCV := e.combined(c1, c2)
	res, err := e.client.LoadTMK(ctx, "T0000101", KeyLoadRequest{Components: []KeyComponent{c1, c2}, KCV: strings.ToLower(tmkKCV), Note: "deployment"})
	if err != nil || res.KCV != tmkKCV || res.Target != "T0000101" || len(res.ComponentKCVs) != 2 || res.ComponentKCVs[1] != c2.KCV {
		t.Fatalf("load TMK: %+v %v", res, err)
	}
	term, _, err := e.store.Terminal("T0000101")
	if err != nil || term.TMKKCV != tmkKCV {
		t.Fatalf("stored terminal: %+v %v", term, err)
	}
	if got, err := e.store.TerminalMasterKey(term); err != nil || !equalBytes(got, tmk) {
		t.Fatalf("the stored TMK is not the combined key: %v", err)
	}
	tv, err := e.client.Terminal(ctx, "T0000101")
	if err != nil || tv.TMKKCV != tmkKCV || tv.KeyGeneration != 0 || tv.TPKKCV != "" {
		t.Fatalf("terminal view: %+v %v", tv, err)
	}

	imk, imkKCV := e.combined(c1, c2, c3)
	res, err = e.client.LoadIMK(ctx, "mallcoalition", KeyLoadRequest{Components: []KeyComponent{c1, c2, c3}, Note: "chip cards"})
	if err != nil || res.KCV != imkKCV {
		t.Fatalf("load IMK: %+v %v", res, err)
	}
	pv, err := e.client.Program(ctx, "mallcoalition")
	if err != nil || pv.IMKKCV != imkKCV {
		t.Fatalf("program view: %+v %v", pv, err)
	}
	// A PUT of the program as read keeps the key; imk_kcv is read-only.
	pv.Name, pv.IMKKCV = "Renamed", "000000"
	if pv, err = e.client.PutProgram(ctx, *pv); err != nil || pv.IMKKCV != imkKCV || pv.Name != "Renamed" {
		t.Fatalf("put program: %+v %v", pv, err)
	}
	p, _ := e.store.Program("mallcoalition")
	if got, err := e.store.IssuerMasterKey(p); err != nil || !equalBytes(got, imk) {
		t.Fatalf("the stored IMK is not the combined key: %v", err)
	}
	// Sealed blobs never leave the server.
	for _, path := range []string{"/v1/programs", "/v1/programs/mallcoalition", "/v1/terminals", "/v1/terminals/T0000101", "/v1/cards/" + e.pan("alice")} {
		st, _, body := e.raw("GET", path, e.token, nil)
		if st != 200 || strings.Contains(body, "_sealed") || strings.Contains(body, "pin_data") {
			t.Errorf("GET %s: %d %s", cardnum.Scrub(path), st, body)
		}
	}

	recs, err := e.client.Audit(ctx, 0, 0)
	if err != nil || len(recs.Records) != 2 {
		t.Fatalf("audit: %+v %v", recs, err)
	}
	if r := recs.Records[0]; r.Action != "terminal_tmk" || r.Target != "T0000101" || r.Operator != testOperator || r.Reason != "deployment" || !strings.Contains(r.Detail, tmkKCV) {
		t.Errorf("TMK record: %+v", r)
	}
	if r := recs.Records[1]; r.Action != "program_imk" || r.Target != "mallcoalition" || r.Reason != "chip cards" {
		t.Errorf("IMK record: %+v", r)
	}
	if !strings.Contains(e.logs.String(), `"what":"tmk_load"`) || !strings.Contains(e.logs.String(), `"what":"imk_load"`) {
		t.Errorf("no log event of the loads:\n%s", e.logs.String())
	}
}

func equalBytes(a, b []byte) bool { return hex.EncodeToString(a) == hex.EncodeToString(b) }

// TestKeyLoadRefused: every bad key load is answered 400 (404 for an
// unknown record) naming the field, and changes nothing: no key, no
// audit record. No answer carries a component (env's cleanup).
func TestKeyLoadRefused(t *testing.T) {
	e := newEnv(t)
	termBefore, _, _ := e.store.Terminal("T0000101")
	progBefore, _ := e.store.Program("mallcoalition")
	c1, c2, c3 := e.component(), e.component(), e.component()
	_, kcv12 := e.combined(c1, c2)
	comp := func(c KeyComponent) string { return `{"key":"` + c.Key + `","kcv":"` + c.KCV + `"}` }
	body := func(comps ...string) string {
		return `{"components":[` + strings.Join(comps, ",") + `],"note":"deployment"}`
	}
	wrongKCV := KeyComponent{Key: c2.Key, KCV: c3.KCV}
	// c2 xor c2' = FFFF…: halves equal.
	inv := make([]byte, 16)
	k2, _ := hex.DecodeString(c2.Key)
	for i := range inv {
		inv[i] = ^k2[i]
	}
	invKCV, _ := cardcrypto.KCVHex(inv)
	c2inv := KeyComponent{Key: strings.ToUpper(hex.EncodeToString(inv)), KCV: invKCV}
	e.secrets = append(e.secrets, c2inv.Key)
	tmk := "/v1/terminals/T0000101/tmk"
	for _, tc := range []struct {
		name, path, operator, body, field string
		status                            int
	}{
		{"no operator", tmk, "", body(comp(c1), comp(c2)), "operator", 400},
		{"long operator", tmk, strings.Repeat("o", 65), body(comp(c1), comp(c2)), "operator", 400},
		{"no note", tmk, testOperator, `{"components":[` + comp(c1) + `,` + comp(c2) + `]}`, "note", 400},
		{"note with newline", tmk, testOperator, `{"components":[` + comp(c1) + `,` + comp(c2) + `],"note":"a\nb"}`, "note", 400},
		{"no components", tmk, testOperator, `{"note":"x"}`, "components", 400},
		{"one component", tmk, testOperator, body(comp(c1)), "components", 400},
		{"four components", tmk, testOperator, body(comp(c1), comp(c2), comp(c3), comp(c1)), "components", 400},
		{"short key", tmk, testOperator, body(`{"key":"`+c1.Key[:31]+`","kcv":"`+c1.KCV+`"}`, comp(c2)), "components[0].key", 400},
		{"key not hex", tmk, testOperator, body(comp(c1), `{"key":"`+c2.Key[:31]+`G","kcv":"`+c2.KCV+`"}`), "components[1].key", 400},
		{"no kcv", tmk, testOperator, body(`{"key":"`+c1.Key+`"}`, comp(c2)), "components[0].kcv", 400},
		{"short kcv", tmk, testOperator, body(comp(c1), `{"key":"`+c2.Key+`","kcv":"ABC"}`), "components[1].kcv", 400},
		{"wrong kcv of the second", tmk, testOperator, body(comp(c1), comp(wrongKCV)), "components[1].kcv", 400},
		{"a component twice", tmk, testOperator, body(comp(c1), comp(c2), comp(c1)), "components[2].key", 400},
		{"weak combination", tmk, testOperator, body(comp(c2), comp(c2inv)), "components", 400},
		{"combined kcv wrong", tmk, testOperator, `{"components":[` + comp(c1) + `,` + comp(c2) + `],"kcv":"` + c3.KCV + `","note":"x"}`, "kcv", 400},
		{"combined kcv not hex", tmk, testOperator, `{"components":[` + comp(c1) + `,` + comp(c2) + `],"kcv":"XYZXYZ","note":"x"}`, "kcv", 400},
		{"sealed key in body", tmk, testOperator, `{"components":[],"tmk_sealed":"AAAA","note":"x"}`, "tmk_sealed", 400},
		{"key as a field name", tmk, testOperator, `{"components":[{"` + c1.Key + `":"` + c1.KCV + `"},` + comp(c2) + `],"note":"x"}`, "", 400},
		{"unknown terminal", "/v1/terminals/T0009999/tmk", testOperator, body(comp(c1), comp(c2)), "", 404},
		{"imk no operator", "/v1/programs/mallcoalition/imk", "", body(comp(c1), comp(c2)), "operator", 400},
		{"imk wrong kcv", "/v1/programs/mallcoalition/imk", testOperator, body(comp(wrongKCV), comp(c1)), "components[0].kcv", 400},
		{"unknown program", "/v1/programs/nope/imk", testOperator, body(comp(c1), comp(c2)), "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, eb, raw := e.rawAs("POST", tc.path, tc.operator, tc.body)
			if st != tc.status || eb.Field != tc.field || eb.Error == "" {
				t.Errorf("%d field %q, want %d field %q:\n%s", st, eb.Field, tc.status, tc.field, raw)
			}
			if strings.Contains(strings.ToUpper(raw), kcv12) {
				t.Errorf("a refused load shows the combined check value: %s", raw)
			}
		})
	}
	if term, _, _ := e.store.Terminal("T0000101"); !bytes.Equal(term.TMK, termBefore.TMK) || term.TMKKCV != termBefore.TMKKCV {
		t.Errorf("a refused load changed the terminal: %q", term.TMKKCV)
	}
	if p, _ := e.store.Program("mallcoalition"); !bytes.Equal(p.IMK, progBefore.IMK) {
		t.Error("a refused load changed the program")
	}
	if n := e.auditCount(); n != 0 {
		t.Errorf("refused loads left %d audit records", n)
	}
	// The wrong check value names the component.
	_, eb, _ := e.rawAs("POST", tmk, testOperator, body(comp(c1), comp(wrongKCV)))
	if !strings.Contains(eb.Error, "components[1].kcv") || !strings.Contains(eb.Error, "does not match") {
		t.Errorf("wrong check value: %q", eb.Error)
	}
}

// TestRegistrySecretsNotWritable: PUT cannot set a sealed key or PIN
// data, nor change an existing card's state or blacklist flag (those go
// through the audited endpoints).
func TestRegistrySecretsNotWritable(t *testing.T) {
	e := newEnv(t)
	alice := e.pan("alice")
	card := `{"program_id":"mallcoalition","home_mid":"MALL00000000001","product":"chip","expiry":"2912","member":{"registered":true}`
	for _, tc := range []struct{ name, method, path, body, field string }{
		{"program imk_sealed", "PUT", "/v1/programs/mallcoalition", `{"currency":"156","imk_sealed":"AAAA"}`, "imk_sealed"},
		{"terminal tmk_sealed", "PUT", "/v1/terminals/T0000101", `{"mid":"MALL00000000001","tmk_sealed":"AAAA"}`, "tmk_sealed"},
		{"terminal tmk_kcv", "PUT", "/v1/terminals/T0000101", `{"mid":"MALL00000000001","tmk_kcv":"AAAAAA"}`, "tmk_kcv"},
		{"card pin_data", "PUT", "/v1/cards/" + alice, card + `,"pin_data":"AAAA"}`, "pin_data"},
		{"card state change", "PUT", "/v1/cards/" + alice, card + `,"state":"closed"}`, "state"},
		{"card blacklist change", "PUT", "/v1/cards/" + alice, card + `,"blacklisted":true}`, "blacklisted"},
		{"state without operator", "POST", "/v1/cards/" + alice + "/state", `{"state":"frozen","note":"x"}`, "operator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := testOperator
			if tc.field == "operator" {
				op = ""
			}
			st, eb, raw := e.rawAs(tc.method, tc.path, op, tc.body)
			if st != 400 || eb.Field != tc.field {
				t.Errorf("%d field %q, want 400 field %q:\n%s", st, eb.Field, tc.field, raw)
			}
		})
	}
	c, _ := e.store.Card(alice)
	if c.State != ledger.CardActive || c.Blacklisted {
		t.Errorf("alice changed: %s blacklisted %v", c.State, c.Blacklisted)
	}
	// The same PUT with the stored state and flag goes through.
	if st, _, raw := e.rawAs("PUT", "/v1/cards/"+alice, testOperator, card+`,"state":"active","blacklisted":false}`); st != 200 {
		t.Errorf("unchanged PUT: %d %s", st, raw)
	}
	if n := e.auditCount(); n != 0 {
		t.Errorf("%d audit records", n)
	}
}

// blockPIN makes alice's card need a PIN for purchases and sends three
// wrong ones, as the gateway would after checking field 52.
func (e *env) blockPIN(pan string) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.store.Program("mallcoalition")
	if err != nil {
		e.t.Fatal(err)
	}
	p.Products = append(p.Products, ledger.Product{Name: "pinpay", Kind: "magstripe", PINRequired: map[string]ledger.Amount{"000000": 0}})
	if err := e.store.PutProgram(ctx, *p); err != nil {
		e.t.Fatal(err)
	}
	c, _ := e.store.Card(pan)
	c.Product = "pinpay"
	if err := e.store.PutCard(ctx, *c); err != nil {
		e.t.Fatal(err)
	}
	do := func(kind ledger.Kind, mti, stan string, pin ledger.PINVerdict) error {
		r := &ledger.Request{Kind: kind, MTI: mti, ProcCode: "000000", TID: "T0000101", MID: "MALL00000000001", STAN: stan,
			Time: "0315100000", PAN: pan, Amount: 100, Batch: 1, Security: ledger.Security{PIN: pin}}
		if kind == ledger.KindSignOn {
			r.PAN, r.Amount, r.ProcCode = "", 0, ""
			r.Security.NewKeys = newTestKeys(e.t, e.store, r.TID)
		}
		r.Fingerprint = [16]byte(sha256.New().Sum([]byte(mti + stan))[:16])
		res, err := e.store.Do(ctx, r)
		if err != nil {
			e.t.Fatal(err)
		}
		return res.Err
	}
	if err := do(ledger.KindSignOn, "0800", "000001", ledger.PINAbsent); err != nil {
		e.t.Fatal(err)
	}
	for i, stan := range []string{"000002", "000003", "000004"} {
		err := do(ledger.KindPurchase, "0200", stan, ledger.PINWrong)
		want := ledger.ErrWrongPIN
		if i == 2 {
			want = ledger.ErrPINTriesExceeded
		}
		if !errors.Is(err, want) {
			e.t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
}

func TestPINUnblock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	e.blockPIN(alice)
	c, err := e.client.Card(ctx, alice)
	if err != nil || c.PIN == nil || !c.PIN.Blocked || c.PIN.Tries != 3 || c.PIN.HasPIN {
		t.Fatalf("blocked card: %+v %v", c.PIN, err)
	}
	unknown := "621000000000999"
	unknown += string(cardnum.LuhnDigit(unknown))
	for _, tc := range []struct {
		name, path, operator, body, field string
		status                            int
	}{
		{"no operator", "/v1/cards/" + alice + "/pin/unblock", "", `{"note":"customer identified"}`, "operator", 400},
		{"no note", "/v1/cards/" + alice + "/pin/unblock", testOperator, `{}`, "note", 400},
		{"blank note", "/v1/cards/" + alice + "/pin/unblock", testOperator, `{"note":"  "}`, "note", 400},
		{"unknown field", "/v1/cards/" + alice + "/pin/unblock", testOperator, `{"note":"x","pin":"1234"}`, "pin", 400},
		{"bad pan", "/v1/cards/1234/pin/unblock", testOperator, `{"note":"x"}`, "pan", 400},
		{"unknown card", "/v1/cards/" + unknown + "/pin/unblock", testOperator, `{"note":"x"}`, "", 404},
	} {
		st, eb, raw := e.rawAs("POST", tc.path, tc.operator, tc.body)
		if st != tc.status || eb.Field != tc.field {
			t.Errorf("%s: %d field %q, want %d field %q:\n%s", tc.name, st, eb.Field, tc.status, tc.field, raw)
		}
	}
	if ps, _ := e.store.CardPINState(alice); !ps.Blocked || e.auditCount() != 0 {
		t.Fatalf("refused unblocks changed something: %+v", ps)
	}
	c, err = e.client.UnblockPIN(ctx, alice, "customer identified at the desk")
	if err != nil || c.PIN == nil || c.PIN.Blocked || c.PIN.Tries != 0 {
		t.Fatalf("unblock: %+v %v", c, err)
	}
	recs, _ := e.client.Audit(ctx, 0, 0)
	if len(recs.Records) != 1 {
		t.Fatalf("audit: %+v", recs)
	}
	if r := recs.Records[0]; r.Action != "pin_unblock" || r.Target != cardnum.Mask(alice) || r.Operator != testOperator ||
		r.Reason != "customer identified at the desk" || r.Detail != "blocked true, wrong tries 3 -> 0" {
		t.Errorf("record: %+v", r)
	}
}

func TestBlacklists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	card := "/v1/cards/" + alice + "/blacklist"
	for _, tc := range []struct {
		name, method, path, operator, body, field string
		status                                    int
	}{
		{"card no operator", "POST", card, "", `{"on":true,"note":"fraud"}`, "operator", 400},
		{"card no on", "POST", card, testOperator, `{"note":"fraud"}`, "on", 400},
		{"card on not bool", "POST", card, testOperator, `{"on":"yes","note":"fraud"}`, "on", 400},
		{"card no note", "POST", card, testOperator, `{"on":true}`, "note", 400},
		{"card bad pan", "POST", "/v1/cards/12345/blacklist", testOperator, `{"on":true,"note":"x"}`, "pan", 400},
		{"bin no operator", "POST", "/v1/blacklist/bins", "", `{"low":"621000","high":"621099","note":"x"}`, "operator", 400},
		{"bin no low", "POST", "/v1/blacklist/bins", testOperator, `{"high":"621099","note":"x"}`, "low", 400},
		{"bin short low", "POST", "/v1/blacklist/bins", testOperator, `{"low":"62100","high":"621099","note":"x"}`, "low", 400},
		{"bin low letters", "POST", "/v1/blacklist/bins", testOperator, `{"low":"62100A","high":"621099","note":"x"}`, "low", 400},
		{"bin no high", "POST", "/v1/blacklist/bins", testOperator, `{"low":"621000","note":"x"}`, "high", 400},
		{"bin high length", "POST", "/v1/blacklist/bins", testOperator, `{"low":"621000","high":"6210999","note":"x"}`, "high", 400},
		{"bin high below low", "POST", "/v1/blacklist/bins", testOperator, `{"low":"621099","high":"621000","note":"x"}`, "high", 400},
		{"bin no note", "POST", "/v1/blacklist/bins", testOperator, `{"low":"621000","high":"621099"}`, "note", 400},
		{"bin remove bad range", "DELETE", "/v1/blacklist/bins/6210-6299", testOperator, `{"note":"x"}`, "low", 400},
		{"bin remove no dash", "DELETE", "/v1/blacklist/bins/621000", testOperator, `{"note":"x"}`, "high", 400},
		{"bin remove no operator", "DELETE", "/v1/blacklist/bins/621000-621099", "", `{"note":"x"}`, "operator", 400},
		{"bin remove no note", "DELETE", "/v1/blacklist/bins/621000-621099", testOperator, `{}`, "note", 400},
		{"bin remove absent", "DELETE", "/v1/blacklist/bins/621000-621099", testOperator, `{"note":"x"}`, "", 404},
	} {
		st, eb, raw := e.rawAs(tc.method, tc.path, tc.operator, tc.body)
		if st != tc.status || eb.Field != tc.field {
			t.Errorf("%s: %d field %q, want %d field %q:\n%s", tc.name, st, eb.Field, tc.status, tc.field, raw)
		}
	}
	if rs, _ := e.store.BINBlacklist(); len(rs) != 0 || e.auditCount() != 0 {
		t.Fatalf("refused changes changed something: %v", rs)
	}
	if c, _ := e.store.Card(alice); c.Blacklisted {
		t.Fatal("a refused change blacklisted alice")
	}

	c, err := e.client.SetCardBlacklisted(ctx, alice, true, "reported stolen")
	if err != nil || !c.Blacklisted {
		t.Fatalf("blacklist: %+v %v", c, err)
	}
	if c, err = e.client.SetCardBlacklisted(ctx, alice, false, "found again"); err != nil || c.Blacklisted {
		t.Fatalf("off: %+v %v", c, err)
	}
	if st, _, raw := e.raw("POST", "/v1/blacklist/bins", e.token, strings.NewReader(`{"low":"621000","high":"621000","note":"lost batch"}`)); st != 201 {
		t.Fatalf("add range: %d %s", st, raw)
	}
	if st, _, _ := e.raw("POST", "/v1/blacklist/bins", e.token, strings.NewReader(`{"low":"621000","high":"621000","note":"again"}`)); st != 200 {
		t.Fatalf("add the range again: %d, want 200", st)
	}
	rs, err := e.client.AddBINRange(ctx, "62200000", "62209999", "partner BIN retired")
	if err != nil || len(rs) != 2 {
		t.Fatalf("second range: %v %v", rs, err)
	}
	if rs, err = e.client.BINBlacklist(ctx); err != nil || len(rs) != 2 || rs[0] != (ledger.BINRange{Low: "621000", High: "621000"}) {
		t.Fatalf("list: %v %v", rs, err)
	}
	// The range holds alice's PAN: a purchase is declined as blacklisted.
	r := &ledger.Request{Kind: ledger.KindSignOn, MTI: "0800", TID: "T0000101", MID: "MALL00000000001", STAN: "000001", Time: "0315100000", Batch: 1,
		Security: ledger.Security{NewKeys: newTestKeys(t, e.store, "T0000101")}}
	if res, err := e.store.Do(ctx, r); err != nil || res.Err != nil {
		t.Fatalf("sign-on: %v %v", err, res.Err)
	}
	r = &ledger.Request{Kind: ledger.KindPurchase, MTI: "0200", ProcCode: "000000", TID: "T0000101", MID: "MALL00000000001",
		STAN: "000002", Time: "0315100000", PAN: alice, Amount: 100, Batch: 1, Fingerprint: [16]byte{2}}
	if res, err := e.store.Do(ctx, r); err != nil || !errors.Is(res.Err, ledger.ErrBlacklisted) {
		t.Fatalf("purchase in a blacklisted range: %v %v", err, res.Err)
	}
	if rs, err = e.client.RemoveBINRange(ctx, "621000", "621000", "batch recovered"); err != nil || len(rs) != 1 {
		t.Fatalf("remove: %v %v", rs, err)
	}
	recs, err := e.client.Audit(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs.Records {
		got = append(got, r.Action+" "+r.Target+" "+r.Reason)
	}
	want := []string{
		"card_blacklist " + cardnum.Mask(alice) + " reported stolen",
		"card_blacklist " + cardnum.Mask(alice) + " found again",
		"bin_blacklist_add 621000-621000 lost batch",
		"bin_blacklist_add 62200000-62209999 partner BIN retired",
		"bin_blacklist_remove 621000-621000 batch recovered",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob", "carol"} {
		if _, err := e.client.SetCardState(ctx, e.pan(name), "frozen", "audit test"); err != nil {
			t.Fatal(err)
		}
	}
	page, err := e.client.Audit(ctx, 0, 2)
	if err != nil || len(page.Records) != 2 || page.Next != page.Records[1].Seq {
		t.Fatalf("first page: %+v %v", page, err)
	}
	rest, err := e.client.Audit(ctx, page.Next, 2)
	if err != nil || len(rest.Records) != 1 || rest.Next != 0 || rest.Records[0].Target != cardnum.Mask(e.pan("carol")) {
		t.Fatalf("second page: %+v %v", rest, err)
	}
	if r := page.Records[0]; r.Action != "card_state" || r.Operator != testOperator || r.Detail != "active -> frozen" || r.Target != cardnum.Mask(e.pan("alice")) {
		t.Errorf("record: %+v", r)
	}
	for _, tc := range []struct{ query, field string }{
		{"?after=x", "after"}, {"?after=-1", "after"}, {"?limit=0", "limit"}, {"?limit=1001", "limit"},
	} {
		if st, eb, raw := e.raw("GET", "/v1/audit"+tc.query, e.token, nil); st != 400 || eb.Field != tc.field {
			t.Errorf("%s: %d %s", tc.query, st, raw)
		}
	}
}

// TestNoClearKeyAnywhere drives every new endpoint, accepted and
// refused, with the components and keys of the test registered as
// secrets; env's cleanup then scans every answer and the whole admin log
// for them (hex, either case) and fails on any.
func TestNoClearKeyAnywhere(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	c1, c2, c3 := e.component(), e.component(), e.component()
	e.combined(c1, c2)
	e.combined(c1, c2, c3)
	e.combined(c2, c3)
	bad := KeyComponent{Key: c2.Key, KCV: c1.KCV}
	calls := []func() error{
		func() error {
			_, err := e.client.LoadTMK(ctx, "T0000101", KeyLoadRequest{Components: []KeyComponent{c1, c2}, Note: "n"})
			return err
		},
		func() error {
			_, err := e.client.LoadIMK(ctx, "mallcoalition", KeyLoadRequest{Components: []KeyComponent{c1, c2, c3}, Note: "n"})
			return err
		},
		func() error {
			_, err := e.client.LoadTMK(ctx, "T0000102", KeyLoadRequest{Components: []KeyComponent{c2, c3}, Note: "n"})
			return err
		},
	}
	for _, call := range calls {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	refused := []func() error{
		func() error {
			_, err := e.client.LoadTMK(ctx, "T0000101", KeyLoadRequest{Components: []KeyComponent{c1, bad}, Note: "n"})
			return err
		},
		func() error {
			_, err := e.client.LoadTMK(ctx, "T0000101", KeyLoadRequest{Components: []KeyComponent{c1}, Note: "n"})
			return err
		},
		func() error {
			_, err := e.client.LoadIMK(ctx, "nope", KeyLoadRequest{Components: []KeyComponent{c1, c2}, Note: "n"})
			return err
		},
		func() error {
			_, err := e.client.LoadIMK(ctx, "mallcoalition", KeyLoadRequest{Components: []KeyComponent{c1, c2}})
			return err
		},
	}
	for i, call := range refused {
		err := call()
		if err == nil {
			t.Fatalf("refused call %d accepted", i)
		}
		for _, s := range e.secrets {
			if strings.Contains(strings.ToUpper(err.Error()), s[:16]) || strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(s[:16])) {
				t.Errorf("the client's error carries a key: %v", err)
			}
		}
	}
	for _, path := range []string{"/v1/programs", "/v1/programs/mallcoalition", "/v1/terminals", "/v1/terminals/T0000101", "/v1/cards/" + alice, "/v1/audit", "/v1/blacklist/bins"} {
		if st, _, _ := e.raw("GET", path, e.token, nil); st != 200 {
			t.Errorf("GET %s: %d", cardnum.Scrub(path), st)
		}
	}
	if _, err := e.client.UnblockPIN(ctx, alice, "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.SetCardBlacklisted(ctx, alice, true, "n"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.AddBINRange(ctx, "621000", "621000", "n"); err != nil {
		t.Fatal(err)
	}
	if len(e.secrets) != 6 {
		t.Fatalf("%d secrets registered", len(e.secrets))
	}
}

// TestKeyLoadWithoutMasterKey: a host without a master key cannot keep a
// key sealed, so it refuses to load one (409) and stores nothing.
func TestKeyLoadWithoutMasterKey(t *testing.T) {
	var bare *ledger.Store
	e := newEnvWith(t, func(cfg *Config) {
		var err error
		if bare, err = ledger.Open(t.TempDir(), ledger.Options{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bare.Close() })
		if err := bare.PutProgram(context.Background(), ledger.Program{ID: "p1", Currency: "156"}); err != nil {
			t.Fatal(err)
		}
		cfg.Store = bare
	})
	c1, c2 := e.component(), e.component()
	_, err := e.client.LoadIMK(context.Background(), "p1", KeyLoadRequest{Components: []KeyComponent{c1, c2}, Note: "x"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 409 || !strings.Contains(ae.Body.Error, "master key") {
		t.Fatalf("%v", err)
	}
	if p, _ := bare.Program("p1"); p.IMK != nil || p.IMKKCV != "" {
		t.Fatalf("stored: %+v", p)
	}
}

// newTestKeys are working keys for a sign-on sent straight to the store,
// as the gateway's security step makes them for a terminal with a TMK
// (every demo terminal has one).
func newTestKeys(t testing.TB, s *ledger.Store, tid string) *ledger.WorkingKeys {
	t.Helper()
	tpk, tak, err := s.SealWorkingKeys(tid, bytes.Repeat([]byte{0x5A}, 16), bytes.Repeat([]byte{0xA5}, 16))
	if err != nil {
		t.Fatal(err)
	}
	return &ledger.WorkingKeys{TPK: tpk, TAK: tak, Field62: []byte("test field 62")}
}
