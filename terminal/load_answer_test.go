package terminal

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// answerFault is what a misbehaving host does to one answer.
type answerFault int

const (
	faultNone      answerFault = iota
	faultBadMAC                // the MAC's first byte flipped
	faultNoMAC                 // no MAC, rc 00
	faultNoMAC58               // no MAC, rc 58: allowed
	faultTPDU                  // the request's TPDU, not swapped
	faultSTAN                  // another STAN
	faultTID                   // another TID
	faultMTI                   // 0110 to an 0200
	faultTrailing              // a byte after the last field
	faultDecline51             // rc 51
	faultNoRC                  // no field 39
	faultSilence               // no answer
	faultHangUp                // the connection closed instead of an answer
)

// faultyHost answers a load run, giving terminals L0000001 and
// L0000003 working keys at sign-on, and applies fault(n) to the answer
// to the n-th request after the sign-ons (from 1).
func faultyHost(t *testing.T, framing wire.Framing, fault func(n int64) answerFault) *fakeHost {
	pk := mustPackager(t, "ascii")
	tpk := mustHex(t, "00112233445566778899AABBCCDDEEFF")
	mac, _ := cardcrypto.NewMACKey(testTAK)
	var n atomic.Int64
	var keyed sync.Map
	return startFakeHost(t, framing, pk, func(c *fakeConn, f frameIn) {
		m := f.msg
		tid := m.Fields[41]
		var tpdu []byte
		if framing.TPDU {
			tpdu = wire.SwapTPDU(f.tpdu)
		}
		if m.MTI == "0800" && m.Fields[70] == "001" {
			extra := map[int]string{}
			if tid == "L0000001" || tid == "L0000003" {
				extra[62] = string(encryptField62(t, testTMK, tpk, testTAK))
				keyed.Store(tid, true)
			}
			c.answer(f, "00", extra)
			return
		}
		rc, extra := "00", map[int]string{37: "000000000001"}
		_, isKeyed := keyed.Load(tid)
		maced := isKeyed && wire.MACScope(m.MTI)
		ft := fault(n.Add(1))
		switch ft {
		case faultSilence:
			return
		case faultHangUp:
			c.Close()
			return
		case faultNoMAC:
			maced = false
		case faultNoMAC58:
			maced, rc = false, "58"
		case faultTPDU:
			tpdu = f.tpdu
		case faultSTAN:
			m = m.Clone().Set(11, "999999")
		case faultTID:
			m = m.Clone().Set(41, "X0000000")
		case faultMTI:
			m = m.Clone()
			m.MTI = "0100"
		case faultDecline51:
			rc = "51"
		}
		resp := response(m, rc, extra)
		if ft == faultNoRC {
			delete(resp.Fields, 39)
		}
		if maced {
			wire.SetMACPlaceholder(resp)
		}
		b, err := pk.Pack(resp)
		if err != nil {
			t.Errorf("fake host: %v", err)
			return
		}
		if maced {
			copy(b[len(b)-8:], mac.MAC(b[:len(b)-8]))
			if ft == faultBadMAC {
				b[len(b)-8] ^= 1
			}
		}
		if ft == faultTrailing {
			b = append(b, '0')
		}
		c.sendMsgBytes(tpdu, b)
	})
}

// TestLoadAnswerChecks: the load generator checks every answer as the
// Client did: a wrong MAC, a missing MAC (but on 03, 58, 63), a wrong
// TPDU, an answer to another STAN, TID or MTI, or one that does not
// unpack is an error (the last four as a request without an answer),
// and so is silence; a decline is counted under its code (a missing 39
// too); the rest are approved.
func TestLoadAnswerChecks(t *testing.T) {
	for _, tc := range []struct {
		fault   answerFault
		framing string
		keyed   bool
		errText string // in the error sample
		rc      string // the declined code, when the fault is a decline
	}{
		{faultBadMAC, "len2", true, "response MAC missing or wrong", ""},
		{faultNoMAC, "len2", true, "carries no MAC", ""},
		{faultNoMAC58, "len2", true, "", "58"},
		{faultTPDU, "len2+tpdu", false, "response TPDU", ""},
		{faultSTAN, "len2", false, "no response", ""},
		{faultTID, "len2", false, "no response", ""},
		{faultMTI, "len2", false, "no response", ""},
		{faultTrailing, "len2", false, "no response", ""},
		{faultSilence, "ascii4", false, "no response", ""},
		{faultDecline51, "len2", false, "", "51"},
		{faultNoRC, "len2", false, "", ""},
	} {
		name := map[answerFault]string{faultBadMAC: "bad MAC", faultNoMAC: "no MAC", faultNoMAC58: "58 without MAC",
			faultTPDU: "TPDU", faultSTAN: "STAN", faultTID: "TID", faultMTI: "MTI", faultTrailing: "trailing byte",
			faultSilence: "silence", faultDecline51: "51", faultNoRC: "no 39"}[tc.fault]
		t.Run(name, func(t *testing.T) {
			// Every fifth request's answer is faulty.
			fault := func(n int64) answerFault {
				if n%5 == 0 {
					return tc.fault
				}
				return faultNone
			}
			framing := mustFraming(t, tc.framing)
			h := faultyHost(t, framing, fault)
			terms := loadTerminals(4)
			if tc.keyed {
				for i := range terms {
					terms[i].TMK = testTMK // the host keys L0000001 and L0000003
				}
				terms = []LoadTerminal{terms[0], terms[2]}
			}
			// An answer that never comes costs a ResponseTimeout: those
			// runs are short (three faults in flight at once) and wait a
			// second; the others leave a slow machine ten.
			requests, timeout := int64(60), 10*time.Second
			if tc.errText == "no response" {
				requests, timeout = 15, time.Second
			}
			rep, err := RunLoad(t.Context(), LoadConfig{
				Dial: TCPDialer(h.addr()), Framing: framing, Packager: h.pk,
				Terminals: terms, InFlight: 3, Cards: []Card{{PAN: "6210001234567890", Expiry: "2812"}},
				Mix: Mix{Purchase: 1}, Requests: requests, ResponseTimeout: timeout,
			})
			if err != nil {
				t.Fatal(err)
			}
			faulty := requests / 5
			wantErrors, wantDeclined := faulty, int64(0)
			if tc.errText == "" {
				wantErrors, wantDeclined = 0, faulty
			}
			if rep.Requests != requests || rep.Errors != wantErrors || sumDeclined(rep.Declined) != wantDeclined ||
				rep.Approved != requests-faulty || rep.Declined[tc.rc] != wantDeclined {
				t.Fatalf("requests %d approved %d declined %v errors %d %q", rep.Requests, rep.Approved, rep.Declined, rep.Errors, rep.ErrorSample)
			}
			if int64(rep.Latency.Count()) != requests-wantErrors {
				t.Fatalf("%d latencies for %d answers", rep.Latency.Count(), requests-wantErrors)
			}
			for _, e := range rep.ErrorSample {
				if !strings.Contains(e, tc.errText) {
					t.Fatalf("error %q, want %q", e, tc.errText)
				}
			}
		})
	}
}

// TestLoadConnectionLost: a host that hangs up ends the connection's
// run: what was in flight is an error (connection lost), the closed
// loop stops sending on it and the other connection carries on; in the
// open loop the slots still to come on it are errors, so every slot is
// accounted for.
func TestLoadConnectionLost(t *testing.T) {
	for _, rate := range []int64{0, 4000} {
		h := faultyHost(t, mustFraming(t, "len2"), func(n int64) answerFault {
			if n == 30 {
				return faultHangUp
			}
			return faultNone
		})
		rep, err := RunLoad(t.Context(), LoadConfig{
			Dial: TCPDialer(h.addr()), Framing: h.framing, Packager: h.pk,
			Terminals: loadTerminals(4), Connections: 2, InFlight: 4, Cards: []Card{{PAN: "6210001234567890", Expiry: "2812"}},
			Mix: Mix{Purchase: 1}, Requests: 400, Rate: rate, ResponseTimeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Requests != 400 || rep.Approved+rep.Errors != 400 || rep.Errors < 1 || rep.Missed != 0 ||
			(rate == 0 && rep.Errors > 4) || (rate > 0 && rep.Errors < 100) {
			t.Fatalf("rate %d: requests %d approved %d errors %d missed %d %q", rate, rep.Requests, rep.Approved, rep.Errors, rep.Missed, rep.ErrorSample)
		}
		if !strings.Contains(rep.ErrorSample[0], "connection lost") {
			t.Fatalf("%q", rep.ErrorSample)
		}
	}
}
