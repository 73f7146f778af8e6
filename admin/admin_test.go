package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const demoPath = "../testdata/demo.yaml"

// recorder keeps every response body the client saw.
type recorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	r.mu.Lock()
	r.bodies = append(r.bodies, string(data))
	r.mu.Unlock()
	return resp, nil
}

type env struct {
	t      *testing.T
	store  *ledger.Store
	file   *provision.File
	token  string
	base   string
	client *Client
	rec    *recorder
	logs   *syncbuf.Buffer
	now    time.Time
	// secrets are clear keys and components a test used: no response
	// and no log line may carry one (hex, either case).
	secrets []string
}

// testOperator is who the test client says it is.
const testOperator = "test-operator"

// newEnv opens a store in a temp dir, imports the demo, and serves the
// API on a loopback port. Cleanup shuts everything down and checks that
// no response and no log line carried a clear PAN or the token.
func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with a last change to the server's Config.
func newEnvWith(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	// A host master key, so that keys can be loaded (sealed under it).
	kek, err := keys.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	store, err := ledger.Open(dir, ledger.Options{Sealer: kek})
	if err != nil {
		t.Fatal(err)
	}
	f, err := provision.Load(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provision.Apply(ctx, store, f); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	cfg := Config{Store: store, Token: tok, Logger: zerolog.New(logs).Level(zerolog.DebugLevel), Now: func() time.Time { return now }}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	tr := &http.Transport{}
	rec := &recorder{next: tr}
	e := &env{
		t: t, store: store, file: f, token: tok, base: "http://" + l.Addr().String(),
		rec: rec, logs: logs, now: now,
	}
	e.client = &Client{BaseURL: e.base, Token: tok, Operator: testOperator, HTTP: &http.Client{Transport: rec, Timeout: time.Minute}}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		tr.CloseIdleConnections()
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
		e.assertNoSecrets()
	})
	return e
}

// longDigits finds what could be a clear PAN; RRNs have 12 digits, PANs here 16.
var longDigits = regexp.MustCompile(`[0-9]{13,}`)

// auditNumbers are the audit log's sequence numbers and nanosecond times:
// long digit runs that are not card data.
var auditNumbers = regexp.MustCompile(`"(seq|at_unix_nano|next)": ?[0-9]+`)

func (e *env) assertNoSecrets() {
	e.t.Helper()
	e.rec.mu.Lock()
	bodies := e.rec.bodies
	e.rec.mu.Unlock()
	if len(bodies) == 0 {
		e.t.Error("no responses recorded")
	}
	for _, b := range bodies {
		for _, c := range e.file.Cards {
			if strings.Contains(b, c.PAN) {
				e.t.Errorf("a response carries the clear PAN of %s:\n%s", cardnum.Mask(c.PAN), b)
			}
		}
		if d := longDigits.FindString(auditNumbers.ReplaceAllString(b, "")); d != "" {
			e.t.Errorf("a response carries the digit run %q:\n%s", d, b)
		}
	}
	logs := e.logs.String()
	for _, c := range e.file.Cards {
		if strings.Contains(logs, c.PAN) {
			e.t.Errorf("the log carries the clear PAN of %s", cardnum.Mask(c.PAN))
		}
	}
	if strings.Contains(logs, e.token) {
		e.t.Error("the log carries the admin token")
	}
	for _, sec := range e.secrets {
		for _, text := range append([]string{logs}, bodies...) {
			if strings.Contains(strings.ToUpper(text), strings.ToUpper(sec)) {
				e.t.Errorf("a response or the log carries a clear key or component (%d hex digits):\n%s", len(sec), text)
			}
		}
	}
}

// raw sends a request and returns the status and decoded error body.
func (e *env) raw(method, path, token string, body io.Reader) (int, ErrorBody, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set(OperatorHeader, testOperator)
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

func (e *env) pan(name string) string {
	a, ok := e.file.Alias(name)
	if !ok {
		e.t.Fatalf("no card %s", name)
	}
	return a.PAN
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	alice := e.pan("alice")
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"none", "", 401},
		{"wrong", strings.Repeat("0", 64), 401},
		{"prefix of the right one", e.token[:10], 401},
		{"right one plus more", e.token + "x", 401},
		{"right", e.token, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/v1/programs", "/v1/cards/" + alice, "/v1/nothing-here"} {
				want := tc.want
				if want == 200 && path == "/v1/nothing-here" {
					want = 404
				}
				st, body, _ := e.raw("GET", path, tc.token, nil)
				if st != want {
					t.Errorf("GET %s: %d, want %d", cardnum.Scrub(path), st, want)
				}
				if st == 401 && body.Error == "" {
					t.Errorf("401 without a JSON error")
				}
			}
		})
	}
	// A scheme other than Bearer.
	req, _ := http.NewRequest("GET", e.base+"/v1/programs", nil)
	req.Header.Set("Authorization", "Basic "+e.token)
	resp, err := e.client.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("Basic auth: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// /healthz needs no token.
	if err := (&Client{BaseURL: e.base, HTTP: e.client.HTTP}).Health(context.Background()); err != nil {
		t.Errorf("healthz: %v", err)
	}
	if !strings.Contains(e.logs.String(), "admin auth failed") {
		t.Error("auth failures are not logged")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	e := newEnv(t)
	unknown := "6210009999999999"
	unknown = unknown[:15] + string(cardnum.LuhnDigit(unknown[:15]))
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/cards/" + unknown, 404},
		{"GET", "/v1/cards/" + unknown + "/history", 404},
		{"POST", "/v1/cards/" + unknown + "/state", 400}, // empty body first
		{"GET", "/v1/programs/nope", 404},
		{"GET", "/v1/merchants/MALL00000000099", 404},
		{"GET", "/v1/terminals/T9999999", 404},
		{"GET", "/v1/nothing", 404},
		{"GET", "/nothing", 404},
		{"DELETE", "/v1/cards/" + e.pan("alice"), 405},
		{"POST", "/v1/programs", 405},
		{"GET", "/v1/import", 405},
	} {
		st, body, raw := e.raw(tc.method, tc.path, e.token, nil)
		if st != tc.want || body.Error == "" {
			t.Errorf("%s %s: %d %s, want %d with a JSON error", tc.method, cardnum.Scrub(tc.path), st, raw, tc.want)
		}
	}
	_, err := e.client.Card(context.Background(), unknown)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(ae.Body.Error, cardnum.Mask(unknown)) {
		t.Errorf("unknown card: %v", err)
	}
	_, err = e.client.SetCardState(context.Background(), unknown, "lost", "lost wallet")
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("state of an unknown card: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	alice := e.pan("alice")
	newPAN := "621000000000099"
	newPAN += string(cardnum.LuhnDigit(newPAN))
	badLuhn := alice[:15] + string('0'+(alice[15]-'0'+1)%10)
	card := func(mod string) string {
		return `{"program_id":"mallcoalition","home_mid":"MALL00000000001","product":"chip","state":"active","expiry":"2912"` + mod + `}`
	}
	for _, tc := range []struct {
		name, method, path, body, field string
	}{
		{"program currency", "PUT", "/v1/programs/p2", `{"currency":"840"}`, "currency"},
		{"program bp type", "PUT", "/v1/programs/p2", `{"currency":"156","interchange_bp":"x"}`, "interchange_bp"},
		{"program bp range", "PUT", "/v1/programs/p2", `{"currency":"156","interchange_bp":20000}`, "interchange_bp"},
		{"program unknown field", "PUT", "/v1/programs/p2", `{"currency":"156","colour":1}`, "colour"},
		{"program id mismatch", "PUT", "/v1/programs/p2", `{"id":"p3","currency":"156"}`, "id"},
		{"program bad id", "PUT", "/v1/programs/a%2Fb", `{"currency":"156"}`, "id"},
		{"merchant mid", "PUT", "/v1/merchants/SHORT", `{"program_id":"mallcoalition"}`, "mid"},
		{"merchant program", "PUT", "/v1/merchants/MALL00000000009", `{"program_id":"nope"}`, "program_id"},
		{"merchant mdr", "PUT", "/v1/merchants/MALL00000000009", `{"program_id":"mallcoalition","mdr_bp":-1}`, "mdr_bp"},
		{"terminal merchant", "PUT", "/v1/terminals/T0000999", `{"mid":"MALL00000000099"}`, "mid"},
		{"terminal tid", "PUT", "/v1/terminals/T1", `{"mid":"MALL00000000001"}`, "tid"},
		{"terminal enabled type", "PUT", "/v1/terminals/T0000999", `{"mid":"MALL00000000001","enabled":"yes"}`, "enabled"},
		{"terminal loyalty_info type", "PUT", "/v1/terminals/T0000999", `{"mid":"MALL00000000001","loyalty_info":"yes"}`, "loyalty_info"},
		{"card luhn", "PUT", "/v1/cards/" + badLuhn, card(""), "pan"},
		{"card not digits", "PUT", "/v1/cards/62100000000000AB", card(""), "pan"},
		{"card pan in body", "PUT", "/v1/cards/" + newPAN, card(`,"pan":"` + newPAN + `"`), "pan"},
		{"card home not home", "PUT", "/v1/cards/" + newPAN, `{"program_id":"mallcoalition","home_mid":"MALL00000000003","product":"chip","expiry":"2912"}`, "home_mid"},
		{"card expiry", "PUT", "/v1/cards/" + newPAN, `{"program_id":"mallcoalition","home_mid":"MALL00000000001","product":"chip","expiry":"2913"}`, "expiry"},
		{"card product", "PUT", "/v1/cards/" + newPAN, `{"program_id":"mallcoalition","home_mid":"MALL00000000001","product":"nfc","expiry":"2912"}`, "product"},
		{"card state", "PUT", "/v1/cards/" + newPAN, card(`,"state":"bogus"`), "state"},
		{"card birthday", "PUT", "/v1/cards/" + newPAN, card(`,"member":{"birthday":"13-01","registered":true}`), "member.birthday"},
		{"card registered type", "PUT", "/v1/cards/" + newPAN, card(`,"member":{"registered":"yes"}`), "member.registered"},
		{"card program move", "PUT", "/v1/cards/" + alice, `{"program_id":"other","home_mid":"MALL00000000001","product":"chip","expiry":"2912"}`, "program_id"},
		{"state bogus", "POST", "/v1/cards/" + alice + "/state", `{"state":"bogus"}`, "state"},
		{"state missing", "POST", "/v1/cards/" + alice + "/state", `{}`, "state"},
		{"adjust decimals", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"12.345","note":"x"}`, "amount"},
		{"adjust float", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":12.5,"note":"x"}`, "amount"},
		{"adjust zero", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"0.00","note":"x"}`, "amount"},
		{"adjust nothing", "POST", "/v1/cards/" + alice + "/adjust", `{"note":"x"}`, "amount"},
		{"adjust both", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"1.00","points":5,"note":"x"}`, "points"},
		{"adjust no note", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"12.50"}`, "note"},
		{"adjust long note", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"12.50","note":"` + strings.Repeat("x", maxNoteLen+1) + `"}`, "note"},
		{"adjust overdraw", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"-99999.00","note":"x"}`, "amount"},
		{"adjust over max", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"99999.00","note":"x"}`, "amount"},
		{"adjust points overdraw", "POST", "/v1/cards/" + alice + "/adjust", `{"points":-999999,"note":"x"}`, "points"},
		{"adjust points -2^63", "POST", "/v1/cards/" + alice + "/adjust", `{"points":-9223372036854775808,"note":"x"}`, "points"},
		{"adjust points 2^63-1", "POST", "/v1/cards/" + alice + "/adjust", `{"points":9223372036854775807,"note":"x"}`, "points"},
		{"adjust points past 12 digits", "POST", "/v1/cards/" + alice + "/adjust", `{"points":1000000000000,"note":"x"}`, "points"},
		{"adjust amount past 12 digits", "POST", "/v1/cards/" + alice + "/adjust", `{"amount":"-10000000000.00","note":"x"}`, "amount"},
		{"adjust bad pan", "POST", "/v1/cards/1234/adjust", `{"amount":"1.00","note":"x"}`, "pan"},
		{"history limit 0", "GET", "/v1/cards/" + alice + "/history?limit=0", ``, "limit"},
		{"history limit big", "GET", "/v1/cards/" + alice + "/history?limit=5000", ``, "limit"},
		{"history limit text", "GET", "/v1/cards/" + alice + "/history?limit=ten", ``, "limit"},
		{"cards cursor", "GET", "/v1/cards?cursor=" + alice, ``, "cursor"},
		{"cards limit", "GET", "/v1/cards?limit=-1", ``, "limit"},
		{"import expiry", "POST", "/v1/import", "cards:\n  - pan: \"" + newPAN + "\"\n    home_mid: MALL00000000001\n    program_id: mallcoalition\n    product: chip\n    state: active\n    expiry: \"2913\"\n", "cards[0].expiry"},
		{"import unknown key", "POST", "/v1/import", "programs:\n  - {id: x, colour: red}\n", "programs[0].colour"},
		{"import unresolved", "POST", "/v1/import", "terminals:\n  - {tid: T0000999, mid: MALL00000000099}\n", "terminals[0].mid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			st, eb, raw := e.raw(tc.method, tc.path, e.token, body)
			if st != 400 || eb.Field != tc.field || eb.Error == "" {
				t.Errorf("%d field %q, want 400 field %q; body:\n%s", st, eb.Field, tc.field, raw)
			}
			if strings.HasPrefix(tc.field, "cards[") && eb.Line == 0 {
				t.Errorf("import error without a line: %s", raw)
			}
		})
	}
	// Nothing of the above changed alice.
	c, err := e.client.Card(context.Background(), alice)
	if err != nil || c.Balances.LedgerFen != 100000 || c.Balances.Points != 500 || c.ProgramID != "mallcoalition" {
		t.Errorf("alice after bad input: %+v %v", c, err)
	}
	if _, err := e.store.Card(newPAN); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("a bad PUT or import created a card: %v", err)
	}
	// Too large.
	big := `{"note":"` + strings.Repeat("x", MaxBodyBytes) + `"}`
	if st, _, _ := e.raw("POST", "/v1/cards/"+alice+"/adjust", e.token, strings.NewReader(big)); st != 413 {
		t.Errorf("oversized body: %d, want 413", st)
	}
	// Trailing garbage.
	if st, _, _ := e.raw("POST", "/v1/cards/"+alice+"/state", e.token, strings.NewReader(`{"state":"frozen"} {}`)); st != 400 {
		t.Errorf("two JSON values: %d, want 400", st)
	}
}

func TestCardFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.pan("alice")
	c, err := e.client.Card(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if c.PAN != cardnum.Mask(alice) || c.State != "active" || c.Expiry != "2912" || c.Expired ||
		c.Member.Name != "Alice Wang" || c.Balances == nil || c.Balances.LedgerFen != 100000 || c.Balances.Points != 500 {
		t.Fatalf("alice: %+v %+v", c, c.Balances)
	}
	if x, _ := e.client.Card(ctx, e.pan("expired1")); !x.Expired {
		t.Errorf("expired1 not shown expired: %+v", x)
	}

	res, err := e.client.Adjust(ctx, alice, AdjustRequest{Amount: "12.50", Note: "goodwill"})
	if err != nil {
		t.Fatal(err)
	}
	if res.RRN == "" || res.PAN != cardnum.Mask(alice) || res.Balances.LedgerFen != 101250 || res.Balances.AvailableFen != 101250 {
		t.Fatalf("credit: %+v", res)
	}
	if res, err = e.client.Adjust(ctx, alice, AdjustRequest{Amount: "-2.50", Note: "correction"}); err != nil || res.Balances.LedgerFen != 101000 {
		t.Fatalf("debit: %+v %v", res, err)
	}
	if res, err = e.client.Adjust(ctx, alice, AdjustRequest{Points: 25, Note: "campaign"}); err != nil || res.Balances.Points != 525 {
		t.Fatalf("points: %+v %v", res, err)
	}
	if b, _ := e.store.CardBalances(alice); b.Ledger != 101000 || b.Points != 525 {
		t.Fatalf("store balances: %+v", b)
	}

	h, err := e.client.CardHistory(ctx, alice, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Opening balance, opening points, and the three adjustments.
	if len(h.Txns) != 5 || h.PAN != cardnum.Mask(alice) {
		t.Fatalf("history: %+v", h)
	}
	if h.Txns[0].RRN != res.RRN || h.Txns[0].Kind != "adjust" || h.Txns[0].PAN != cardnum.Mask(alice) {
		t.Errorf("newest entry: %+v", h.Txns[0])
	}
	if h.Txns[1].AmountFen != -250 || h.Txns[2].AmountFen != 1250 {
		t.Errorf("amounts: %d %d", h.Txns[1].AmountFen, h.Txns[2].AmountFen)
	}
	if h2, err := e.client.CardHistory(ctx, alice, 2); err != nil || len(h2.Txns) != 2 {
		t.Errorf("history limit 2: %v %v", h2, err)
	}

	if c, err = e.client.SetCardState(ctx, alice, "lost", "customer called"); err != nil || c.State != "lost" {
		t.Fatalf("state: %+v %v", c, err)
	}
	if got, _ := e.store.Card(alice); got.State != ledger.CardLost {
		t.Errorf("store state %s", got.State)
	}
	logs := e.logs.String()
	for _, w := range []string{`"what":"card_adjust"`, `"what":"card_state"`, `"pan":"` + cardnum.Mask(alice) + `"`, `"to":"lost"`, `"amount_fen":1250`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s", w)
		}
	}
}

func TestRegistryPutAndList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	st, _, raw := e.raw("PUT", "/v1/programs/p2", e.token, strings.NewReader(`{"name":"Two","currency":"156","point_cost_fen":2,"redemption_value_fen":1,"interchange_bp":25}`))
	if st != 201 {
		t.Fatalf("new program: %d %s", st, raw)
	}
	if st, _, _ = e.raw("PUT", "/v1/programs/p2", e.token, strings.NewReader(`{"name":"Two bis","currency":"156"}`)); st != 200 {
		t.Fatalf("replace program: %d", st)
	}
	ps, err := e.client.Programs(ctx)
	if err != nil || len(ps) != 2 {
		t.Fatalf("programs: %v %v", ps, err)
	}
	if err := e.client.PutMerchant(ctx, ledger.Merchant{MID: "SHOP00000000001", ProgramID: "p2", Name: "Shop", Home: true, MDRBP: 50}); err != nil {
		t.Fatal(err)
	}
	tv, err := e.client.PutTerminal(ctx, "T0000901", TerminalInput{MID: "SHOP00000000001"})
	if err != nil || !tv.Enabled || tv.MID != "SHOP00000000001" || tv.LoyaltyInfo {
		t.Fatalf("terminal: %+v %v", tv, err)
	}
	// The field 63 opt-in: set by a PUT, shown by GET, off again by a
	// PUT without it (a PUT replaces the registration).
	if tv, err = e.client.PutTerminal(ctx, "T0000901", TerminalInput{MID: "SHOP00000000001", LoyaltyInfo: true}); err != nil || !tv.LoyaltyInfo {
		t.Fatalf("opt in to field 63: %+v %v", tv, err)
	}
	if st, _, raw := e.raw("GET", "/v1/terminals/T0000901", e.token, nil); st != 200 || !strings.Contains(raw, `"loyalty_info": true`) {
		t.Fatalf("terminal view: %d %s", st, raw)
	}
	off := false
	if tv, err = e.client.PutTerminal(ctx, "T0000901", TerminalInput{MID: "SHOP00000000001", Enabled: &off}); err != nil || tv.Enabled {
		t.Fatalf("disable terminal: %+v %v", tv, err)
	}
	ts, err := e.client.Terminals(ctx)
	if err != nil || len(ts) != 8 {
		t.Fatalf("terminals: %d %v", len(ts), err)
	}
	ms, err := e.client.Merchants(ctx)
	if err != nil || len(ms) != 4 {
		t.Fatalf("merchants: %d %v", len(ms), err)
	}
	pan := "621000000000500"
	pan += string(cardnum.LuhnDigit(pan))
	cv, err := e.client.PutCard(ctx, pan, CardInput{ProgramID: "p2", HomeMID: "SHOP00000000001", Product: "both", Expiry: "3001", ServiceCode: "201", PSN: "01", Member: ledger.Member{Name: "Zed", Registered: true}})
	if err != nil || cv.State != "issued" || cv.PAN != cardnum.Mask(pan) || cv.MaxBalanceFen != ledger.DefaultMaxBalanceRegistered {
		t.Fatalf("new card: %+v %v", cv, err)
	}
	if _, err := e.client.SetCardState(ctx, pan, "active", "card handed to member"); err != nil {
		t.Fatal(err)
	}
	// A replace without state keeps the state.
	if cv, err = e.client.PutCard(ctx, pan, CardInput{ProgramID: "p2", HomeMID: "SHOP00000000001", Product: "both", Expiry: "3012", Member: ledger.Member{Registered: true}}); err != nil || cv.State != "active" || cv.Expiry != "3012" {
		t.Fatalf("replace card: %+v %v", cv, err)
	}

	// Page through every card with a small page.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		page, err := e.client.Cards(ctx, cursor, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Cards {
			if seen[c.PAN] {
				t.Fatalf("card %s listed twice", c.PAN)
			}
			seen[c.PAN] = true
			if c.Balances != nil {
				t.Error("list shows balances")
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != len(e.file.Cards)+1 {
		t.Errorf("listed %d cards, want %d", len(seen), len(e.file.Cards)+1)
	}
	logs := e.logs.String()
	for _, w := range []string{`"what":"program_put"`, `"what":"merchant_put"`, `"what":"terminal_put"`, `"what":"card_put"`} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %s", w)
		}
	}
}

func TestImportAndCheck(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := map[string]ledger.Balances{}
	for _, c := range e.file.Cards {
		b, err := e.store.CardBalances(c.PAN)
		if err != nil {
			t.Fatal(err)
		}
		before[c.PAN] = b
	}
	data, err := os.ReadFile(demoPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Import(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if s.Cards.Updated != len(e.file.Cards) || s.Cards.Created != 0 || s.OpeningBalances != 0 || s.OpeningAmount != 0 || s.OpeningsSkipped == 0 {
		t.Fatalf("re-import summary: %v", s)
	}
	for pan, b := range before {
		if got, _ := e.store.CardBalances(pan); got != b {
			t.Errorf("%s: re-import changed balances %+v → %+v", cardnum.Mask(pan), b, got)
		}
	}
	chk, err := e.client.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !chk.OK || len(chk.Problems) != 0 || chk.Txns == 0 || chk.Accounts == 0 || chk.Money.Sum != 0 || chk.Points.Sum != 0 {
		t.Fatalf("check: %+v", chk)
	}
	if !strings.Contains(e.logs.String(), `"what":"import"`) {
		t.Error("import not logged")
	}
	// A bad file: every problem with its line.
	_, err = e.client.Import(ctx, []byte("programs:\n  - {id: p1, currency: \"840\", hold_days: 99}\n"))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || len(ae.Body.Errors) != 2 || ae.Body.Errors[0].Line != 2 {
		t.Fatalf("bad import: %+v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &Client{BaseURL: "http://" + addr, Token: "x", HTTP: &http.Client{Transport: tr}}
	pan := "6210000000000011"
	_, err = c.Card(context.Background(), pan)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), pan) {
		t.Errorf("client error shows the PAN: %v", err)
	}
}

func TestToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 2*tokenBytes || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Errorf("token is not %d hex digits", 2*tokenBytes)
	}
	st, err := os.Stat(TokenPath(dir))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", st.Mode(), err)
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Fatalf("second load: %v, same=%v", err, again == tok)
	}
	if read, err := ReadToken(TokenPath(dir)); err != nil || read != tok {
		t.Fatalf("ReadToken: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the data dir, want only the token", len(entries))
	}
	os.Chmod(TokenPath(dir), 0o644)
	if _, err := LoadOrCreateToken(dir); err == nil || strings.Contains(err.Error(), tok) {
		t.Errorf("world-readable token file: %v", err)
	}
	os.WriteFile(TokenPath(dir), []byte("short\n"), 0o600)
	os.Chmod(TokenPath(dir), 0o600)
	if _, err := ReadToken(TokenPath(dir)); err == nil {
		t.Error("a short token was accepted")
	}
	if _, err := New(Config{Store: &ledger.Store{}, Token: "short"}); err == nil {
		t.Error("New accepted a short token")
	}
}

// TestConcurrentCreate: processes starting at once agree on one token.
func TestConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	toks := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := LoadOrCreateToken(dir)
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if toks[i] != toks[0] {
			t.Fatalf("token %d differs", i)
		}
	}
}
