package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// testIMK is a public test key (the EMV examples' issuer master key).
var testIMK = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

// imkTell is a stretch of testIMK in hex that no PAN or STAN contains.
const imkTell = "89ABCDEFFEDCBA98"

// chipIssuer plays the host's half of contract section 7 "Chip" with
// cardcrypto alone (nothing of the terminal's chip code): it checks a
// request's field 55 and ARQC, and answers with tag 91. highest is the
// highest ATC accepted per PAN/PSN, as the host keeps it.
type chipIssuer struct {
	t       *testing.T
	imk     []byte
	highest map[string]int
	// rc is the response code to give; mangle, when set, edits field 55 of
	// the response (nil drops it).
	rc     string
	mangle func(f55 []byte) []byte
}

func newChipIssuer(t *testing.T) *chipIssuer {
	return &chipIssuer{t: t, imk: testIMK, highest: map[string]int{}, rc: RCApproved}
}

func (h *chipIssuer) answer(req *wire.Message) *wire.Message {
	t := h.t
	if !req.Has(55) {
		return approveAll(req)
	}
	pan, _, _ := strings.Cut(req.Fields[35], "=")
	if req.Fields[22] != "051" || len(req.Fields[23]) != 3 || req.Fields[23][0] != '0' {
		t.Errorf("chip request: field 22 %q, 23 %q", req.Fields[22], req.Fields[23])
	}
	psn := req.Fields[23][1:]
	icc, err := cardcrypto.ParseICC([]byte(req.Fields[55]))
	if err != nil || len(icc.Missing()) > 0 {
		t.Fatalf("field 55: %v, missing %v", err, icc.Missing())
	}
	amt, _ := icc.AmountAuthorized()
	var want4 int64
	if f4, ok := req.Get(4); ok {
		want4, _ = strconv.ParseInt(f4, 10, 64)
	}
	typ, _ := icc.TxnType()
	date, _ := icc.TxnDate()
	cur, _ := icc.CurrencyCode()
	country, _ := icc.CountryCode()
	cid, _ := icc.CID()
	if amt != want4 || typ != req.Fields[3][:2] || date != "251123" || cur != "156" || country != "156" || cid != 0x80 {
		t.Errorf("field 55 values: amount %d (field 4 %d), 9C %s, 9A %s, 5F2A %s, 9F1A %s, 9F27 %X", amt, want4, typ, date, cur, country, cid)
	}
	mk, err := cardcrypto.CardKeyOptionA(h.imk, pan, psn)
	if err != nil {
		t.Fatal(err)
	}
	atc, _ := icc.ATC()
	sk, _ := cardcrypto.SessionKeyCommon(mk, atc)
	data, err := icc.ARQCData()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := cardcrypto.ARQC(sk, data)
	got, _ := icc.Cryptogram()
	n := int(atc[0])<<8 | int(atc[1])
	key := pan + "/" + psn
	if !cardcrypto.MACEqual(want, got[:]) || n <= h.highest[key] {
		return response(req, "63", nil) // wrong ARQC or ATC not rising: no field 55
	}
	h.highest[key] = n
	arc := [2]byte{h.rc[0], h.rc[1]}
	arpc, _ := cardcrypto.ARPCMethod1(sk, got[:], arc)
	v, _ := cardcrypto.IssuerAuthValue(arpc, arc)
	f55, _ := cardcrypto.EncodeICC([]cardcrypto.TLV{{Tag: cardcrypto.TagIssuerAuth, Value: v}})
	if h.mangle != nil {
		f55 = h.mangle(f55)
	}
	resp := approveAll(req)
	if h.rc != RCApproved {
		resp = response(req, h.rc, nil)
	}
	if f55 != nil {
		resp.Set(55, string(f55))
	}
	return resp
}

func chipAlice(psn string) Card {
	c := alice
	c.Chip = &ChipCard{IMK: testIMK, PSN: psn}
	return c
}

func TestChipPurchase(t *testing.T) {
	h := newChipIssuer(t)
	p := &scriptedPeer{answer: h.answer}
	path := filepath.Join(t.TempDir(), "t1.json")
	term := newTestTerminal(t, p, func(c *TerminalConfig) { c.StatePath = path })
	ctx := context.Background()

	res, err := term.Purchase(ctx, chipAlice("01"), 1250)
	if err != nil || !res.Approved() || res.Chip == nil || !res.Chip.ARPCVerified || res.Chip.ATC != 1 {
		t.Fatalf("%+v %v", res.Chip, err)
	}
	req := p.last()
	if req.Fields[22] != "051" || req.Fields[23] != "001" || !req.Has(35) || req.Has(2) || !req.Has(55) {
		t.Fatalf("request fields %v", fieldsOf(req))
	}
	if len(term.Txns()) != 1 {
		t.Fatal("approved chip purchase not recorded")
	}
	// The chip fields travel unchanged through every packager.
	for _, name := range []string{"ascii", "ascii-hexbitmap", "bcd"} {
		pk := mustPackager(t, name)
		b, err := pk.Pack(req)
		if err != nil {
			t.Fatalf("%s: pack: %v", name, err)
		}
		back, err := pk.Unpack(b)
		if err != nil || back.Fields[23] != "001" || back.Fields[55] != req.Fields[55] || back.Fields[22] != "051" {
			t.Fatalf("%s: unpack: %v", name, err)
		}
	}
	if line := FormatResult(res, nil); !strings.Contains(line, "atc=1 arpc=ok") {
		t.Fatalf("line %q", line)
	}
	// A balance inquiry: 9F02 zero, 9C 31 (the issuer checks both).
	if res, err := term.Balance(ctx, chipAlice("01")); err != nil || res.Chip.ATC != 2 || !res.Chip.ARPCVerified {
		t.Fatalf("balance: %v", err)
	}
	// Another process on the same state file counts on: the host would
	// refuse an ATC that is not above the highest it accepted.
	term2 := newTestTerminal(t, p, func(c *TerminalConfig) { c.StatePath = path })
	if got := term2.ATC(alice.PAN, "01"); got != 2 {
		t.Fatalf("ATC after restart %d", got)
	}
	if res, err := term2.Purchase(ctx, chipAlice("01"), 100); err != nil || !res.Approved() || res.Chip.ATC != 3 {
		t.Fatalf("after restart: %v %v", res, err)
	}
	// Each PSN is its own card with its own counter.
	if res, err := term2.Purchase(ctx, chipAlice("02"), 100); err != nil || res.Chip.ATC != 1 {
		t.Fatalf("PSN 02: %v", err)
	}
	// Follow-ups are key-entered: no field 55.
	if _, err := term2.Void(ctx, res.Txn); err != nil || p.last().Has(55) || p.last().Fields[22] != "012" {
		t.Fatalf("void: %v", err)
	}
	// The state file keeps the counters and nothing of the keys or field 55.
	data, _ := os.ReadFile(path)
	if !bytes.Contains(data, []byte(`"6210001234567890/01": 3`)) || bytes.Contains(bytes.ToUpper(data), []byte(imkTell)) {
		t.Fatalf("state file:\n%s", data)
	}
}

func TestChipResponseChecks(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		rc     string
		mangle func([]byte) []byte
		want   string // "" = no error
		ok     bool   // ARPCVerified
	}{
		{"approved", "00", nil, "", true},
		{"decline with 91", "51", nil, "", true},
		{"approval without 55", "00", func([]byte) []byte { return nil }, "approved chip request without field 55", false},
		{"decline without 55", "51", func([]byte) []byte { return nil }, "", false},
		{"wrong ARPC", "00", func(b []byte) []byte { b[3] ^= 1; return b }, "ARPC in tag 91 does not verify", false},
		{"ARC not field 39", "00", func(b []byte) []byte { b[len(b)-1] = '5'; return b }, `ARC "05" in tag 91 is not field 39 "00"`, false},
		{"55 without 91", "00", func([]byte) []byte { return []byte{0x9F, 0x36, 0x02, 0, 1} }, "no tag 91", false},
		{"malformed 55", "00", func(b []byte) []byte { return b[:5] }, "response field 55", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newChipIssuer(t)
			h.rc, h.mangle = c.rc, c.mangle
			term := newTestTerminal(t, &scriptedPeer{answer: h.answer}, nil)
			res, err := term.Purchase(ctx, chipAlice("01"), 500)
			if c.want == "" {
				if err != nil || res.Chip.ARPCVerified != c.ok {
					t.Fatalf("%v, verified %v", err, res.Chip.ARPCVerified)
				}
				return
			}
			if !errors.Is(err, ErrChip) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want %q", err, c.want)
			}
			if res == nil || res.RC != c.rc || len(term.Txns()) != 0 {
				t.Fatal("a rejected issuer answer must still be reported and not recorded")
			}
			if strings.Contains(strings.ToUpper(err.Error()), imkTell) {
				t.Fatalf("error carries the key: %v", err)
			}
		})
	}
	// A card the issuer does not know (another IMK) gets 63 and no field 55: no chip error.
	h := newChipIssuer(t)
	term := newTestTerminal(t, &scriptedPeer{answer: h.answer}, nil)
	other := chipAlice("01")
	other.Chip.IMK = bytes.Repeat([]byte{0x11, 0x22}, 8)
	if res, err := term.Purchase(ctx, other, 500); err != nil || res.RC != "63" || res.Chip.ARPCVerified {
		t.Fatalf("%v %v", res, err)
	}
}

func TestChipCardErrors(t *testing.T) {
	term := newTestTerminal(t, &scriptedPeer{answer: approveAll}, nil)
	ctx := context.Background()
	manual := chipAlice("01")
	manual.Manual = true
	if _, err := term.Purchase(ctx, manual, 1); !errors.Is(err, ErrBadCard) {
		t.Errorf("manual chip: %v", err)
	}
	short := chipAlice("01")
	short.Chip.IMK = testIMK[:8]
	if _, err := term.Purchase(ctx, short, 1); !errors.Is(err, ErrChip) || !errors.Is(err, ErrBadKey) {
		t.Errorf("short IMK: %v", err)
	}
	badPSN := chipAlice("1")
	if _, err := term.Purchase(ctx, badPSN, 1); !errors.Is(err, ErrChip) {
		t.Errorf("PSN: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v %v", chipAlice("01"), chipAlice("01"), *chipAlice("01").Chip, chipAlice("01").Chip); strings.Contains(s, "137") || strings.Contains(strings.ToUpper(s), "CDEF") || strings.Contains(s, "205") {
		t.Errorf("card prints key material: %s", s)
	}
}

// TestChipScenario drives chip purchases from a scenario over two
// terminals: the card's ATC carries across them, so the issuer, which
// refuses a counter that does not rise, approves every one.
func TestChipScenario(t *testing.T) {
	h := newChipIssuer(t)
	p := &scriptedPeer{answer: h.answer}
	t1 := newTestTerminal(t, p, nil)
	t2 := newTestTerminal(t, p, func(c *TerminalConfig) { c.TID = "T0000002" })
	var out bytes.Buffer
	cards := map[string]Card{"alice": alice, "chipbob": {PAN: "6210001234567908", Expiry: "2812", Chip: &ChipCard{IMK: testIMK, PSN: "03"}}}
	r, err := NewRunner(RunnerConfig{Terminals: []*Terminal{t1, t2}, Cards: cards, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	src := `purchase card=alice amount=1.00 entry=chip imk=0123456789ABCDEFFEDCBA9876543210 psn=01 expect=00
terminal 2
purchase card=alice amount=2.00 entry=chip imk=0123456789abcdeffedcba9876543210 psn=01 expect=00
purchase card=chipbob amount=3.00 entry=chip expect=00   # IMK and PSN from the card
purchase card=chipbob amount=4.00 expect=00              # the same card swiped
`
	sc, err := ParseScenario(strings.NewReader(src), "chip.pos")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background(), sc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if t2.ATC(alice.PAN, "01") != 2 || t2.ATC("6210001234567908", "03") != 1 {
		t.Fatalf("ATCs %d %d\n%s", t2.ATC(alice.PAN, "01"), t2.ATC("6210001234567908", "03"), out.String())
	}
	if p.last().Has(55) || p.last().Fields[22] != "021" {
		t.Fatal("a swiped chip card sent chip data")
	}
	if got := strings.Count(out.String(), "arpc=ok"); got != 3 {
		t.Fatalf("%d verified ARPCs:\n%s", got, out.String())
	}
	if strings.Contains(strings.ToUpper(out.String()), imkTell) {
		t.Fatalf("output carries the IMK:\n%s", out.String())
	}

	// Without an IMK anywhere, Check refuses before anything is sent.
	bad, _ := ParseScenario(strings.NewReader("purchase card=alice amount=1 entry=chip\n"), "nokey.pos")
	if err := r.Check(bad); err == nil || !strings.Contains(err.Error(), "entry=chip needs imk=") {
		t.Fatalf("check: %v", err)
	}
	r2, _ := NewRunner(RunnerConfig{Terminals: []*Terminal{t1}, Cards: cards, ChipIMK: testIMK})
	if err := r2.Check(bad); err != nil {
		t.Fatalf("runner IMK: %v", err)
	}
	if _, err := NewRunner(RunnerConfig{Terminals: []*Terminal{t1}, ChipIMK: testIMK[:4]}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("short runner IMK: %v", err)
	}
}

func TestChipStateFileValidation(t *testing.T) {
	dir := t.TempDir()
	for name, atc := range map[string]string{
		"no psn":     `{"6210001234567890": 1}`,
		"short pan":  `{"62100012/01": 1}`,
		"zero":       `{"6210001234567890/01": 0}`,
		"over 65535": `{"6210001234567890/01": 70000}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		body := `{"version":1,"tid":"T0000001","mid":"M00000000000001","next_stan":1,"batch":1,"txns":[],"atc":` + atc + "}"
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := NewTerminal(TerminalConfig{TID: "T0000001", MID: "M00000000000001", Conn: &scriptedPeer{}, StatePath: path})
		if !errors.Is(err, ErrBadState) || strings.Contains(err.Error(), "6210001234567890") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
