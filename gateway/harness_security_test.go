package gateway

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/datadriven"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
)

// The scenario harness's side of contract section 7: the terminal T0000401
// has a TMK, so after a sign-on it holds working keys and the harness MACs
// its requests and verifies the MACs of the answers; cards of the "secure"
// product need a PIN; "chippy" is a chip card of the program whose IMK the
// harness knows. What the harness adds to a scenario line:
//
//	pin=DIGITS     field 52: the PIN block under the terminal's TPK
//	chip=NAME      present a fixture card by chip: 35, 22=051, 23, 55
//	atc=N          the chip request's ATC (default: one above the last)
//	arqc=bad       a wrong ARQC in 9F26
//	psn=NN         field 23's PSN (and the one the card derives its key with)
//	mac=none|bad|64|128  leave out, corrupt, or misplace the request's MAC
//
// and what it prints of an answer: mac=ok|BAD|none (none only where the
// terminal holds keys), 62=keys(kcv ok) once the keys decrypt under the
// TMK and match their check values, 55=91(arpc ok, arc NN) once the ARPC
// verifies under the card's session key.

// harnessKEK is the host master key of every scenario store (one per
// test process, so a restarted host opens what it sealed).
var harnessKEK = func() keys.KEK {
	k, err := keys.Ephemeral()
	if err != nil {
		panic(err)
	}
	return k
}()

// Fixture keys: test values, never production ones.
var (
	fixtureTMK = mustHex("0123456789ABCDEFFEDCBA9876543210")
	fixtureIMK = mustHex("9E15204313F7318ACB79B90BD986AD29")
)

const (
	keyedTID      = "T0000401"
	securePIN     = "1234"
	chippyPSN     = "01"
	secureProduct = "secure"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// provisionSecurity adds the section 7 fixture: the IMK and the "secure"
// product of p1, the keyed terminal, the PIN card and the chip card.
func provisionSecurity(must func(error), s *ledger.Store, p1 *ledger.Program) {
	var err error
	p1.IMK, err = s.SealIMK(p1.ID, fixtureIMK)
	must(err)
	p1.Products = []ledger.Product{{Name: secureProduct, Kind: "both", PINRequired: map[string]ledger.Amount{
		"000000": 10000, // purchases and pre-authorizations from 100.00
		"310000": 0,     // every balance inquiry
	}}}
}

func provisionKeyedTerminal(must func(error), s *ledger.Store, term *ledger.Terminal) {
	if term.TID != keyedTID {
		return
	}
	var err error
	term.TMK, err = s.SealTMK(term.TID, fixtureTMK)
	must(err)
}

func provisionCardSecurity(must func(error), s *ledger.Store, c *ledger.Card) {
	switch c.Member.Name {
	case "pinny":
		c.Product = secureProduct
		var err error
		c.PINData, err = s.PINData(c.PAN, securePIN)
		must(err)
	case "chippy":
		c.Product, c.PSN = "chip", chippyPSN
	}
}

// termKeys are a terminal's clear working keys, as the harness's terminal
// holds them after a sign-on.
type termKeys struct{ tpk, tak []byte }

// chipSent is what the harness keeps of a chip request to check the ARPC.
type chipSent struct{ sk, arqc []byte }

// secWord handles the security words of a scenario line; false when the
// word is not one of them.
func (sc *scenario) secWord(m *wire.Message, k, v string) bool {
	switch k {
	case "pin", "chip", "atc", "arqc", "psn", "mac":
		sc.secArgs[k] = v
		return true
	}
	return false
}

// applySecurity adds the PIN block and the chip data once the line's
// other fields are set.
func (sc *scenario) applySecurity(m *wire.Message) {
	t := sc.t
	if name, ok := sc.secArgs["chip"]; ok {
		fc, found := cardByName(name)
		if !found {
			t.Fatalf("chip=%s: unknown card", name)
		}
		psn := cardPSNOf(name)
		if p, ok := sc.secArgs["psn"]; ok {
			psn = p
		}
		atc := sc.atc[fc.pan] + 1
		if a, ok := sc.secArgs["atc"]; ok {
			n, err := strconv.Atoi(a)
			if err != nil {
				t.Fatalf("atc=%s: %v", a, err)
			}
			atc = uint16(n)
		}
		if atc > sc.atc[fc.pan] {
			sc.atc[fc.pan] = atc
		}
		m.Set(35, fc.pan+"="+fc.expiry+"201"+"0000").Set(22, "051").Set(23, "0"+psn)
		icc := sc.buildICC(m, fc.pan, psn, atc, sc.secArgs["arqc"] == "bad")
		if _, given := m.Fields[55]; !given { // the line's own 55=hex:… stands
			m.Set(55, string(icc))
		}
	}
	if pin, ok := sc.secArgs["pin"]; ok {
		pan := cardPAN(m)
		tpk := make([]byte, cardcrypto.KeyLen) // a terminal without keys encrypts under nothing the host knows
		if k := sc.keys[sc.tid]; k != nil {
			tpk = k.tpk
		}
		block, err := cardcrypto.EncryptPINBlock(tpk, pin, pan)
		if err != nil {
			t.Fatalf("pin=%s: %v", pin, err)
		}
		m.Set(52, string(block))
	}
}

func cardPSNOf(name string) string {
	if name == "chippy" {
		return chippyPSN
	}
	return "00"
}

// cardPAN is the PAN of a built request (field 2, or field 35's).
func cardPAN(m *wire.Message) string {
	if p, ok := m.Fields[2]; ok {
		return p
	}
	t2 := m.Fields[35]
	if i := strings.IndexAny(t2, "=D"); i > 0 {
		return t2[:i]
	}
	return t2
}

// buildICC is field 55 as a chip card of the fixture program computes it.
func (sc *scenario) buildICC(m *wire.Message, pan, psn string, atc uint16, badARQC bool) []byte {
	t := sc.t
	mk, err := cardcrypto.CardKeyOptionA(fixtureIMK, pan, psn)
	if err != nil {
		t.Fatal(err)
	}
	atcb := [2]byte{byte(atc >> 8), byte(atc)}
	sk, err := cardcrypto.SessionKeyCommon(mk, atcb)
	if err != nil {
		t.Fatal(err)
	}
	amount := m.Fields[4]
	if amount == "" {
		amount = "000000000000"
	}
	bcd := func(s string) []byte {
		b, err := cardcrypto.BCD(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	objs := []cardcrypto.TLV{
		{Tag: cardcrypto.TagAC, Value: make([]byte, cardcrypto.ACLen)},
		{Tag: cardcrypto.TagCID, Value: []byte{0x80}},
		{Tag: cardcrypto.TagIAD, Value: []byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00}},
		{Tag: cardcrypto.TagATC, Value: atcb[:]},
		{Tag: cardcrypto.TagUN, Value: []byte{0x12, 0x34, 0x56, 0x78}},
		{Tag: cardcrypto.TagTVR, Value: make([]byte, 5)},
		{Tag: cardcrypto.TagTxnDate, Value: bcd("261123")},
		{Tag: cardcrypto.TagTxnType, Value: bcd(m.Fields[3][:2])},
		{Tag: cardcrypto.TagAmountAuthorized, Value: bcd(amount)},
		{Tag: cardcrypto.TagAmountOther, Value: make([]byte, 6)},
		{Tag: cardcrypto.TagCurrencyCode, Value: []byte{0x01, 0x56}},
		{Tag: cardcrypto.TagAIP, Value: []byte{0x18, 0x00}},
		{Tag: cardcrypto.TagCountryCode, Value: []byte{0x01, 0x56}},
	}
	draft, err := cardcrypto.EncodeICC(objs)
	if err != nil {
		t.Fatal(err)
	}
	icc, err := cardcrypto.ParseICC(draft)
	if err != nil {
		t.Fatal(err)
	}
	data, err := icc.ARQCData()
	if err != nil {
		t.Fatal(err)
	}
	arqc, err := cardcrypto.ARQC(sk, data)
	if err != nil {
		t.Fatal(err)
	}
	objs[0].Value = append([]byte(nil), arqc...)
	if badARQC {
		objs[0].Value[0] ^= 0x01
	}
	sc.chip = &chipSent{sk: sk, arqc: arqc}
	f55, err := cardcrypto.EncodeICC(objs)
	if err != nil {
		t.Fatal(err)
	}
	return f55
}

// packRequest packs a request, MACing it when the terminal holds keys and
// the MTI is in the MAC's scope, as the line's mac= asks.
func (sc *scenario) packRequest(req *wire.Message) []byte {
	t := sc.t
	k := sc.keys[req.Fields[41]]
	how := sc.secArgs["mac"]
	if k == nil || !wire.MACScope(req.MTI) || how == "none" {
		packed, err := sc.h.pk.Pack(req)
		if err != nil {
			t.Fatalf("pack %s: %v", req.MTI, err)
		}
		return packed
	}
	delete(req.Fields, 64)
	delete(req.Fields, 128)
	field := wire.WantMACField(req)
	switch how {
	case "64":
		field = 64
	case "128":
		field = 128
	}
	req.Fields[field] = string(make([]byte, wire.MACLen))
	packed, err := sc.h.pk.Pack(req)
	if err != nil {
		t.Fatalf("pack %s: %v", req.MTI, err)
	}
	data := packed[:len(packed)-wire.MACLen]
	mac, err := cardcrypto.RetailMAC(k.tak, data)
	if err != nil {
		t.Fatal(err)
	}
	if how == "bad" {
		mac[7] ^= 0x01
	}
	copy(packed[len(packed)-wire.MACLen:], mac)
	req.Fields[field] = string(mac)
	return packed
}

// describeSecurity prints the section 7 fields of an answer (and takes the
// keys of a sign-on) instead of their raw bytes; it returns the fields it
// printed.
func (sc *scenario) describeSecurity(req, resp *wire.Message, raw []byte) (parts []string, done map[int]bool) {
	done = map[int]bool{}
	tid := req.Fields[41]
	if f62, ok := resp.Fields[62]; ok {
		done[62] = true
		k, err := decryptWorkingKeys(fixtureTMK, []byte(f62))
		if err != nil {
			parts = append(parts, "62=keys(BAD: "+err.Error()+")")
		} else {
			parts = append(parts, "62=keys(kcv ok)")
			if resp.Fields[39] == "00" {
				sc.keys[tid] = k
			}
		}
	}
	if resp.MTI == "0810" && req.Fields[70] == "002" && resp.Fields[39] == "00" {
		delete(sc.keys, tid)
	}
	if f55, ok := resp.Fields[55]; ok {
		done[55] = true
		parts = append(parts, sc.describeARPC(resp, []byte(f55)))
	}
	field, hasMAC := wire.MACField(resp)
	switch {
	case hasMAC:
		done[64], done[128] = true, true
		k := sc.keys[tid]
		if k == nil || field < 0 {
			parts = append(parts, "mac=BAD")
			break
		}
		want, err := cardcrypto.RetailMAC(k.tak, raw[:len(raw)-wire.MACLen])
		if err != nil || !bytes.Equal(want, raw[len(raw)-wire.MACLen:]) || field != wire.WantMACField(resp) {
			parts = append(parts, "mac=BAD")
		} else {
			parts = append(parts, "mac=ok")
		}
	case sc.keys[tid] != nil && wire.MACScope(resp.MTI):
		parts = append(parts, "mac=none")
	}
	return parts, done
}

func (sc *scenario) describeARPC(resp *wire.Message, f55 []byte) string {
	icc, err := cardcrypto.ParseICC(f55)
	if err != nil {
		return "55=BAD(" + err.Error() + ")"
	}
	if len(icc.Objects()) != 1 {
		return fmt.Sprintf("55=BAD(%d tags, want only 91)", len(icc.Objects()))
	}
	arpc, arc, ok := icc.IssuerAuth()
	if !ok || sc.chip == nil {
		return "55=BAD(no tag 91)"
	}
	want, err := cardcrypto.ARPCMethod1(sc.chip.sk, sc.chip.arqc, arc)
	if err != nil || !bytes.Equal(want, arpc[:]) {
		return "55=91(arpc BAD, arc " + string(arc[:]) + ")"
	}
	if string(arc[:]) != resp.Fields[39] {
		return "55=91(arpc ok, arc " + string(arc[:]) + " differs from field 39)"
	}
	return "55=91(arpc ok, arc " + string(arc[:]) + ")"
}

// decryptWorkingKeys reads field 62 under the TMK and checks both KCVs.
func decryptWorkingKeys(tmk, f62 []byte) (*termKeys, error) {
	tpk, tak, err := cardcrypto.OpenWorkingKeys(tmk, f62)
	if err != nil {
		return nil, err
	}
	return &termKeys{tpk: tpk, tak: tak}, nil
}

// secCommand runs the harness's security commands; false when cmd is not
// one of them.
//
//	unblock NAME     an operator lifts the card's PIN block
//	pin-state NAME   prints the card's wrong-PIN count and block
//	set-pin NAME PIN        (an operator gives the card a new PIN)
//	bin-blacklist add|remove LOW HIGH
func (sc *scenario) secCommand(d *datadriven.TestData) (string, bool) {
	t := sc.t
	op := ledger.Operator{Name: "harness", Reason: "scenario step"}
	ctx := context.Background()
	switch d.Cmd {
	case "unblock":
		fc, _ := cardByName(d.CmdArgs[0].Key)
		if err := sc.h.store.UnblockPIN(ctx, fc.pan, op); err != nil {
			t.Fatal(err)
		}
		return "", true
	case "set-pin":
		fc, _ := cardByName(d.CmdArgs[0].Key)
		data, err := sc.h.store.PINData(fc.pan, d.CmdArgs[1].Key)
		if err == nil {
			err = sc.h.store.SetCardPIN(ctx, fc.pan, data, op)
		}
		if err != nil {
			t.Fatal(err)
		}
		return "", true
	case "pin-state":
		fc, _ := cardByName(d.CmdArgs[0].Key)
		st, err := sc.h.store.CardPINState(fc.pan)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s: has_pin=%t wrong_tries=%d blocked=%t\n", d.CmdArgs[0].Key, st.HasPIN, st.Tries, st.Blocked), true
	case "bin-blacklist":
		r := ledger.BINRange{Low: d.CmdArgs[1].Key, High: d.CmdArgs[2].Key}
		if err := sc.h.store.SetBINRange(ctx, r, d.CmdArgs[0].Key == "add", op); err != nil {
			return "error: " + err.Error() + "\n", true
		}
		return "", true
	}
	return "", false
}
