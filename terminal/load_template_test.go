package terminal

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// randomLoadRequest is a request of any operation the load generator
// sends, with values drawn over their whole ranges: terminals with and
// without a TAK, cards swiped or key-entered with PANs of 12 to 19
// digits, track 2 with any service code and discretionary data (now and
// then a character packed BCD cannot carry), PIN blocks, RRNs.
func randomLoadRequest(rng *rand.Rand, terms []*loadTerm) loadRequest {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	r := loadRequest{
		op:   []Op{OpEcho, OpPurchase, OpBalance, OpLoad, OpRefund}[rng.IntN(5)],
		lt:   terms[rng.IntN(len(terms))],
		stan: uint32(1 + rng.IntN(maxSTAN)),
		f7:   digits(10),
	}
	if r.op == OpEcho {
		return r
	}
	body := digits(11 + rng.IntN(8))
	r.card = Card{PAN: body + string(cardnum.LuhnDigit(body)), Expiry: digits(4), Manual: rng.IntN(3) == 0}
	if rng.IntN(2) == 0 {
		r.card.ServiceCode = digits(3)
	}
	if room := 37 - (len(r.card.PAN) + 1 + 4 + 3); room > 0 && rng.IntN(2) == 0 {
		d := []byte(digits(rng.IntN(room + 1)))
		if len(d) > 0 && rng.IntN(8) == 0 {
			d[rng.IntN(len(d))] = "AFDZ"[rng.IntN(4)] // Z: bcd cannot carry it
		}
		r.card.Discretionary = string(d)
	}
	r.track = trackOf(r.card)
	if r.op != OpBalance {
		r.amount = Fen(1 + rng.Int64N(int64(maxAmountFen)))
	}
	if r.op == OpRefund {
		rrn := make([]byte, 12)
		for i := range rrn {
			rrn[i] = byte(' ' + rng.IntN(95))
		}
		r.refundOf = &refundable{rrn: string(rrn)}
	}
	if rng.IntN(2) == 0 {
		r.pinBlock = make([]byte, 8)
		for i := range r.pinBlock {
			r.pinBlock[i] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			r.pinBlock[0] = 0 // binary fields carry anything
		}
	}
	return r
}

// loadTestTerms are terminals for the template tests: with and without a
// TAK, different batch numbers, TIDs and MIDs of any printable text.
func loadTestTerms(t testing.TB) []*loadTerm {
	mac, err := cardcrypto.NewMACKey(testTAK)
	if err != nil {
		t.Fatal(err)
	}
	return []*loadTerm{
		{tid: "T0000001", mid: "M00000000000001", batch: "000001"},
		{tid: "T0000002", mid: "M00000000000001", batch: "000042", mac: mac},
		{tid: "ab cd=;%", mid: "Merchant #7 ~!?", batch: "999999", mac: mac},
		{tid: "B0000003", mid: "BENCH0000000000", batch: "000001"},
	}
}

// TestLoadTemplateBytes: the load generator's requests are, byte for
// byte, what the Client sends for the same request (fillLoadRequest,
// then Client.pack: Pack, and the MAC when the terminal has a TAK), for
// every packager, operation and card presentation, and a request the
// packager refuses is refused the same way.
func TestLoadTemplateBytes(t *testing.T) {
	for _, name := range wire.Packagers {
		t.Run(name, func(t *testing.T) {
			pk := mustPackager(t, name)
			layout, err := layoutOf(name)
			if err != nil {
				t.Fatal(err)
			}
			terms := loadTestTerms(t)
			client, err := NewClient(ClientConfig{Dial: TCPDialer("127.0.0.1:1"), Packager: pk})
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			for _, lt := range terms {
				if lt.mac != nil {
					client.SetTAK(lt.tid, testTAK)
				}
			}
			p := newRequestPacker(pk, layout)
			rng := rand.New(rand.NewPCG(1, uint64(len(name))))
			m := wire.NewMessage("0800")
			fromTemplate, refused := 0, 0
			for i := range 20000 {
				r := randomLoadRequest(rng, terms)
				fillLoadRequest(m, &r)
				want, _, wantErr := client.pack(m)
				_, hadTemplate := p.templates[r.key()]
				got, spans, err := p.pack(&r)
				if (err != nil) != (wantErr != nil) {
					t.Fatalf("request %d (%s): error %v, the Client's %v", i, r.op, err, wantErr)
				}
				if err != nil {
					refused++
					continue
				}
				if !bytes.Equal(got, want) {
					// Where, not what: the bytes hold track 2 and PIN blocks.
					t.Fatalf("request %d (%s, template %v): %d bytes, the Client's %d; they differ in %s",
						i, r.op, hadTemplate, len(got), len(want), whereDiffer(layout, got, want))
				}
				if hadTemplate {
					fromTemplate++
				}
				var s scannedMsg
				if err := layout.scan(got, &s); err != nil || s.at[11] != spans.at[11] || s.at[41] != spans.at[41] {
					t.Fatalf("request %d: spans given do not locate its fields (%v)", i, err)
				}
			}
			if fromTemplate < 5000 || (name == "bcd" && refused == 0) {
				t.Fatalf("%d requests from templates, %d refused: the test does not exercise what it should", fromTemplate, refused)
			}
		})
	}
}

// TestLoadRequestsOnTheWire: a load run's requests, as the host receives
// them, are what Pack makes of their fields, MACed when the terminal has
// working keys, PIN blocks included.
func TestLoadRequestsOnTheWire(t *testing.T) {
	for _, fr := range []string{"len2", "ascii4+tpdu"} {
		for _, name := range wire.Packagers {
			t.Run(fr+"/"+name, func(t *testing.T) {
				framing, pk := mustFraming(t, fr), mustPackager(t, name)
				host := newKeyedHost(t, framing, pk)
				cards := []Card{
					{PAN: "6210001234567890", Expiry: "2812", PIN: "1234"},
					{PAN: "621000123456789", Expiry: "2812", Manual: true},
					{PAN: "6210001234567908", Expiry: "2812", ServiceCode: "201", Discretionary: "123"},
				}
				terms := loadTerminals(6)
				for i := range terms {
					if i%2 == 0 {
						terms[i].TMK = testTMK
					}
				}
				rep, err := RunLoad(t.Context(), LoadConfig{
					Dial: TCPDialer(host.addr()), Framing: framing, Packager: pk,
					Terminals: terms, Connections: 2, InFlight: 3, Cards: cards,
					Mix: Mix{Purchase: 4, Balance: 2, Load: 1, Refund: 3}, Requests: 600, Seed: 3,
				})
				if err != nil {
					t.Fatal(err)
				}
				if rep.Errors != 0 || rep.Approved != 600 {
					t.Fatalf("%+v", rep)
				}
				host.mu.Lock()
				defer host.mu.Unlock()
				if host.checked < 600 || host.maced == 0 || host.pins == 0 || len(host.bad) > 0 {
					t.Fatalf("%d requests checked, %d MACed, %d with a PIN; wrong: %v", host.checked, host.maced, host.pins, host.bad)
				}
			})
		}
	}
}

var testTMK = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

// keyedHost is a fake host that gives terminals with a TMK working keys
// at sign-on, MACs their answers, and checks every request it gets: its
// bytes must be Pack of its fields, its MAC right.
type keyedHost struct {
	*fakeHost
	tpk, tak []byte
	mac      *cardcrypto.MACKey

	mu                   sync.Mutex
	keyed                map[string]bool // TIDs that took keys
	checked, maced, pins int
	bad                  []string
	rrn                  int
}

func newKeyedHost(t *testing.T, framing wire.Framing, pk wire.Packager) *keyedHost {
	kh := &keyedHost{tpk: mustHex(t, "00112233445566778899AABBCCDDEEFF"), tak: testTAK, keyed: map[string]bool{}}
	kh.mac, _ = cardcrypto.NewMACKey(kh.tak)
	kh.fakeHost = startFakeHost(t, framing, pk, kh.serve)
	return kh
}

func (kh *keyedHost) serve(c *fakeConn, f frameIn) {
	m := f.msg
	tid, _ := m.Get(41)
	kh.mu.Lock()
	defer kh.mu.Unlock()
	if m.MTI == "0800" && m.Fields[70] == "001" {
		extra := map[int]string{}
		if tid[0] == 'L' && tid[len(tid)-1]%2 == 1 { // loadTerminals: L0000001, L0000003, …: the even-indexed ones have a TMK
			extra[62] = string(encryptField62(kh.t, testTMK, kh.tpk, kh.tak))
			kh.keyed[tid] = true
		}
		c.answer(f, "00", extra)
		return
	}
	kh.checked++
	repacked := m.Clone()
	delete(repacked.Fields, 64)
	if kh.keyed[tid] && wire.MACScope(m.MTI) {
		kh.maced++
		wire.SetMACPlaceholder(repacked)
	}
	want, err := kh.pk.Pack(repacked)
	if err == nil && kh.keyed[tid] && wire.MACScope(m.MTI) {
		copy(want[len(want)-8:], kh.mac.MAC(want[:len(want)-8]))
	}
	if err != nil || !bytes.Equal(want, f.raw) {
		kh.bad = append(kh.bad, fmt.Sprintf("%s stan %s: not what Pack makes (%v)", m.MTI, m.Fields[11], err))
	}
	if blk, ok := m.Get(52); ok {
		kh.pins++
		pan := m.Fields[2]
		if pan == "" {
			pan, _, _ = strings.Cut(strings.ReplaceAll(m.Fields[35], "D", "="), "=")
		}
		tpk, _ := cardcrypto.TDES(kh.tpk)
		if pin, err := cardcrypto.DecryptPINBlockWith(tpk, []byte(blk), pan); err != nil || pin != "1234" {
			kh.bad = append(kh.bad, fmt.Sprintf("stan %s: PIN block does not hold the PIN (%v)", m.Fields[11], err))
		}
	}
	extra := map[int]string{}
	if m.MTI == "0200" && m.Fields[3] == pcGoods {
		kh.rrn++
		extra[37] = fmt.Sprintf("%012d", kh.rrn)
	}
	resp := response(m, "00", extra)
	var tpdu []byte
	if kh.framing.TPDU {
		tpdu = wire.SwapTPDU(f.tpdu)
	}
	if !kh.keyed[tid] || !wire.MACScope(m.MTI) {
		c.send(tpdu, resp)
		return
	}
	wire.SetMACPlaceholder(resp)
	b, err := kh.pk.Pack(resp)
	if err != nil {
		kh.bad = append(kh.bad, err.Error())
		return
	}
	copy(b[len(b)-8:], kh.mac.MAC(b[:len(b)-8]))
	c.sendMsgBytes(tpdu, b)
}

// whereDiffer names the element of packed message a in which it first
// differs from b.
func whereDiffer(l *msgLayout, a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	var s scannedMsg
	if err := l.scan(b, &s); err != nil {
		return fmt.Sprintf("byte %d", i)
	}
	for n := 2; n <= 128; n++ {
		if sp := s.at[n]; s.has(n) && i < sp.off+sp.n {
			return fmt.Sprintf("field %d or before it (byte %d)", n, i)
		}
	}
	return fmt.Sprintf("byte %d, after the last field", i)
}

// BenchmarkLoadRequest: a purchase of the bench's shape packed from its
// template (what a load run does) and the reference way (fillLoadRequest
// and Pack, what the Client did), with and without a MAC.
func BenchmarkLoadRequest(b *testing.B) {
	pk := mustPackager(b, "ascii")
	layout, _ := layoutOf("ascii")
	for _, maced := range []bool{false, true} {
		lt := loadTestTerms(b)[0]
		if maced {
			lt = loadTestTerms(b)[1]
		}
		body := "629000000000123"
		c := Card{PAN: body + string(cardnum.LuhnDigit(body)), Expiry: "4912", ServiceCode: "101"}
		r := loadRequest{op: OpPurchase, lt: lt, f7: "1201101010", card: c, track: trackOf(c), amount: 4711}
		b.Run(fmt.Sprintf("template/mac=%v", maced), func(b *testing.B) {
			p := newRequestPacker(pk, layout)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r.stan = uint32(i%maxSTAN + 1)
				if _, _, err := p.pack(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("reference/mac=%v", maced), func(b *testing.B) {
			p := newRequestPacker(pk, layout)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				r.stan = uint32(i%maxSTAN + 1)
				if _, err := p.reference(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
