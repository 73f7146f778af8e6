package gateway

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// TestProtocolDocExamples runs a short fixed session against a real host
// (ledger on a temp dir, TCP gateway on 127.0.0.1:0) for a few listener
// configurations, captures every request and response frame byte for byte,
// and renders them as annotated hex dumps. docs/protocol.md holds the
// rendering between the two marker lines below: the test fails when the doc
// differs from what the code produces, and rewrites it with
//
//	go test ./gateway/ -run TestProtocolDocExamples -update-protocol-doc
//
// The host clock and every field 7 are fixed, so the output is
// deterministic. Card data is masked in the rendering (house rule 5): the
// PAN shows its first 6 and last 4 digits, and field 14 and everything after
// the track 2 separator are masked; fields 52 and 55 never appear.

var updateProtocolDoc = flag.Bool("update-protocol-doc", false,
	"rewrite the generated examples in docs/protocol.md from this run")

const (
	protocolDocPath  = "../docs/protocol.md"
	protocolDocBegin = "<!-- BEGIN GENERATED EXAMPLES -->"
	protocolDocEnd   = "<!-- END GENERATED EXAMPLES -->"

	docTID = "T0000101"
	docMID = "MALL00000000001"
	// docHexPerLine is how many bytes one breakdown line shows.
	docHexPerLine = 8
)

// docListeners are the listener configurations the doc shows, in order.
var docListeners = []ListenerConfig{
	{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"},
	{Addr: "127.0.0.1:0", Framing: "ascii4", Packager: "ascii-hexbitmap"},
	{Addr: "127.0.0.1:0", Framing: "len2+tpdu", Packager: "bcd"},
}

// docClock is the host clock of every run: 2026-11-23 10:00 in the
// business time zone (UTC+8).
var docClock = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// docStep is one request of the session and what its answer must be.
type docStep struct {
	title string
	about string
	req   *wire.Message // nil for a retransmission
	// resendOf is the 1-based number of the step whose frame is sent again.
	resendOf int
	wantRC   string
	// with and without list response fields that must be present / absent.
	with, without []int
}

// docF7 is the field 7 of a request sent sec seconds after the host's
// clock (UTC, MMDDhhmmss).
func docF7(sec int) string { return fmt.Sprintf("11230200%02d", sec) }

func docCard(t testing.TB, name string) fixtureCard {
	c, ok := cardByName(name)
	if !ok {
		t.Fatalf("no fixture card %q", name)
	}
	return c
}

// docTrack2 is the track 2 the scenario harness sends for a fixture card:
// PAN '=' expiry, service code 101, discretionary data 0000.
func docTrack2(c fixtureCard) string { return c.pan + "=" + c.expiry + "101" + "0000" }

func docRequest(mti, stan, f7 string) *wire.Message {
	return wire.NewMessage(mti).Set(7, f7).Set(11, stan).Set(41, docTID).Set(42, docMID)
}

// docSession is the fixed session: sign-on, purchase, its retransmission,
// a 51, a balance inquiry, a manual-entry purchase, its reversal and the
// batch close.
func docSession(t testing.TB) []docStep {
	alice, bob := docCard(t, "alice"), docCard(t, "bob")
	zeros22 := strings.Repeat("0", 22)
	never := []int{2, 14, 35, 52, 55}
	return []docStep{
		{
			title: "Sign-on: 0800, field 70 = 001",
			about: "The terminal signs on; until it does, every request but 0800 is answered 58. " +
				"The 0810 echoes 7, 11, 41, 42 and 70. This terminal has no TMK (a test terminal), so the 0810 carries no field 62 " +
				"and its messages carry no MAC; section 7 shows a terminal with keys.",
			req:    docRequest("0800", "000001", docF7(0)).Set(70, "001"),
			wantRC: "00", with: []int{70}, without: []int{37, 38, 54, 62},
		},
		{
			title: "Purchase: 0200/000000 with track 2 (test card `alice`, 1000.00 stored value)",
			about: "An approved purchase: the 0210 carries the RRN (37), the authorization code (38) and the balances (54) " +
				"and echoes 3, 4, 7, 11, 41, 42, 49 and 60.",
			req: docRequest("0200", "000002", docF7(5)).Set(3, "000000").Set(4, "000000002500").
				Set(22, "021").Set(25, "00").Set(35, docTrack2(alice)).Set(49, "156").Set(60, "000001"),
			wantRC: "00", with: []int{37, 38, 54}, without: never,
		},
		{
			title:    "Retransmission of the purchase",
			about:    "The same frame again (same TID, STAN, field 7 and content): the host answers with the stored response and changes nothing.",
			resendOf: 2, wantRC: "00", with: []int{37, 38, 54}, without: never,
		},
		{
			title: "Decline 51: 0200/000000 above the available balance (test card `bob`, 50.00)",
			about: "A 51 carries field 54 (the balances that were not enough) but no 37 or 38.",
			req: docRequest("0200", "000003", docF7(10)).Set(3, "000000").Set(4, "000001000000").
				Set(22, "021").Set(25, "00").Set(35, docTrack2(bob)).Set(49, "156").Set(60, "000001"),
			wantRC: "51", with: []int{54}, without: append([]int{37, 38}, never...),
		},
		{
			title: "Balance inquiry: 0100/310000",
			about: "No field 4, no field 49 or 60 needed. The host approves it with an RRN and an authorization code of its own, " +
				"and field 54; it changes nothing.",
			req: docRequest("0100", "000004", docF7(15)).Set(3, "310000").
				Set(22, "021").Set(25, "00").Set(35, docTrack2(alice)),
			wantRC: "00", with: []int{37, 38, 54}, without: never,
		},
		{
			title: "Purchase, manual entry: 0200/000000 with fields 2 and 14",
			about: "The card as PAN (field 2) and expiry (field 14) instead of track 2, entry mode 012.",
			req: docRequest("0200", "000005", docF7(20)).Set(2, alice.pan).Set(3, "000000").Set(4, "000000001200").
				Set(14, alice.expiry).Set(22, "012").Set(25, "00").Set(49, "156").Set(60, "000001"),
			wantRC: "00", with: []int{37, 38, 54}, without: never,
		},
		{
			title: "Reversal: 0400 of that purchase, field 90 names it",
			about: "Field 90 = original MTI 0200, its STAN 000005, its field 7, then 22 zeros; field 4 equals the original's. " +
				"The 0410 carries no 37, 38 or 54. Field 90 puts a bit in the secondary bitmap, so field 1 is present.",
			req: docRequest("0400", "000006", docF7(25)).Set(2, alice.pan).Set(3, "000000").Set(4, "000000001200").
				Set(14, alice.expiry).Set(22, "012").Set(25, "00").Set(49, "156").Set(60, "000001").
				Set(90, "0200"+"000005"+docF7(20)+zeros22),
			wantRC: "00", without: append([]int{37, 38, 54}, never...),
		},
		{
			title: "Batch close: 0500/920000",
			about: "Field 48 = the terminal's totals: 1 debit of 25.00 (the reversed purchase counts in neither), 0 credits. " +
				"They match the host's, so 00 and batch 000001 is closed.",
			req: docRequest("0500", "000007", docF7(30)).Set(3, "920000").
				Set(48, "001"+"000000002500"+"000"+"000000000000").Set(60, "000001"),
			wantRC: "00", without: []int{37, 38, 54},
		},
	}
}

// recordingConn keeps every byte read from the host, so that the doc
// shows the response frame exactly as it came off the socket.
type recordingConn struct {
	net.Conn
	got []byte
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.got = append(r.got, p[:n]...)
	return n, err
}

// docExchange is one captured request and its answer.
type docExchange struct {
	step                docStep
	req, resp           *wire.Message
	reqFrame, respFrame []byte
}

type docRun struct {
	lc        ListenerConfig
	framing   wire.Framing
	pk        wire.Packager
	exchanges []docExchange
}

// runDocSession starts a host with lc, runs the session on one connection
// and returns what went over the wire.
func runDocSession(t *testing.T, lc ListenerConfig) docRun {
	clk := &testClock{now: docClock}
	h := startHost(t, t.TempDir(), clk, lc, hostOptions{})
	provisionFixture(t, h.store)
	c := h.dial()
	rec := &recordingConn{Conn: c.nc}
	c.nc = rec
	defer func() {
		c.close()
		h.stop()
	}()

	run := docRun{lc: lc, framing: h.framing, pk: h.pk}
	for i, st := range docSession(t) {
		var ex docExchange
		ex.step = st
		if st.resendOf > 0 {
			prev := run.exchanges[st.resendOf-1]
			ex.req, ex.reqFrame = prev.req, prev.reqFrame
		} else {
			packed, err := h.pk.Pack(st.req)
			if err != nil {
				t.Fatalf("step %d: pack: %v", i+1, err)
			}
			ex.req, ex.reqFrame = st.req, c.frame(packed)
		}
		rec.got = nil
		raw, closed, err := c.roundTrip(ex.reqFrame)
		if err != nil || closed {
			t.Fatalf("step %d (%s): closed=%v err=%v", i+1, st.title, closed, err)
		}
		ex.respFrame = append([]byte(nil), rec.got...)
		var tpdu []byte
		if h.framing.TPDU {
			tpdu = wire.SwapTPDU(testTPDU)
		}
		if want := h.framing.AppendFrame(nil, tpdu, raw); !bytes.Equal(ex.respFrame, want) {
			t.Fatalf("step %d: captured %d bytes, not exactly one frame", i+1, len(ex.respFrame))
		}
		if ex.resp, err = h.pk.Unpack(raw); err != nil {
			t.Fatalf("step %d: unpack response: %v", i+1, err)
		}
		checkDocAnswer(t, i+1, ex)
		if st.resendOf > 0 {
			if first := run.exchanges[st.resendOf-1].respFrame; !bytes.Equal(ex.respFrame, first) {
				t.Errorf("step %d: the retransmission's answer is not byte-equal to the first", i+1)
			}
		}
		run.exchanges = append(run.exchanges, ex)
	}
	return run
}

// checkDocAnswer asserts what the doc says about each answer.
func checkDocAnswer(t *testing.T, n int, ex docExchange) {
	t.Helper()
	req, resp := ex.req, ex.resp
	if want := ResponseMTI(req.MTI); resp.MTI != want {
		t.Errorf("step %d: response MTI %s, want %s", n, resp.MTI, want)
	}
	if rc := resp.Fields[39]; rc != ex.step.wantRC {
		t.Errorf("step %d (%s): rc %s, want %s", n, ex.step.title, rc, ex.step.wantRC)
	}
	for _, f := range ex.step.with {
		if !resp.Has(f) {
			t.Errorf("step %d: response lacks field %d", n, f)
		}
	}
	for _, f := range ex.step.without {
		if resp.Has(f) {
			t.Errorf("step %d: response carries field %d", n, f)
		}
	}
	for _, f := range echoedFields {
		if v, ok := req.Fields[f]; ok && resp.Fields[f] != v {
			t.Errorf("step %d: field %d not echoed as received", n, f)
		}
	}
	for _, m := range []*wire.Message{req, resp} {
		for _, f := range []int{52, 55, 62, 64, 128} {
			if m.Has(f) {
				t.Errorf("step %d: %s carries field %d, which the doc must not show", n, m.MTI, f)
			}
		}
	}
}

func TestProtocolDocExamples(t *testing.T) {
	runs := make([]docRun, len(docListeners))
	t.Run("session", func(t *testing.T) {
		for i, lc := range docListeners {
			t.Run(lc.Packager+"/"+lc.Framing, func(t *testing.T) {
				t.Parallel() // own store, own port
				runs[i] = runDocSession(t, lc)
			})
		}
	})
	if t.Failed() {
		return
	}
	// Every packager and framing carries the same decisions.
	for _, r := range runs[1:] {
		for i, ex := range r.exchanges {
			if a, b := docSummary(runs[0].exchanges[i].resp), docSummary(ex.resp); a != b {
				t.Fatalf("step %d: %s/%s answers %q, %s/%s %q", i+1,
					runs[0].lc.Packager, runs[0].lc.Framing, a, r.lc.Packager, r.lc.Framing, b)
			}
		}
	}

	got, err := renderDocExamples(runs)
	if err != nil {
		t.Fatal(err)
	}
	checkDocMasked(t, got)

	doc, err := os.ReadFile(protocolDocPath)
	if err != nil {
		t.Fatalf("%v (the doc's hand-written part must exist; the test only fills in the examples)", err)
	}
	before, current, after, err := splitGenerated(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	if *updateProtocolDoc {
		if current == got {
			return
		}
		if err := os.WriteFile(protocolDocPath, []byte(before+got+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the generated examples in %s", protocolDocPath)
		return
	}
	if current != got {
		t.Errorf("%s: the generated examples differ from what the code produces (%s);\n"+
			"review the change, then run: go test ./gateway/ -run TestProtocolDocExamples -update-protocol-doc",
			protocolDocPath, firstDifference(current, got))
	}
}

// splitGenerated cuts doc around the generated section: before ends with
// the begin marker's line, after starts with the end marker.
func splitGenerated(doc string) (before, current, after string, err error) {
	b := strings.Index(doc, protocolDocBegin+"\n")
	e := strings.Index(doc, protocolDocEnd)
	if b < 0 || e < 0 || e < b || strings.Count(doc, protocolDocBegin) != 1 || strings.Count(doc, protocolDocEnd) != 1 {
		return "", "", "", fmt.Errorf("%s: want exactly one line %q followed by one %q", protocolDocPath, protocolDocBegin, protocolDocEnd)
	}
	b += len(protocolDocBegin) + 1
	return doc[:b], doc[b:e], doc[e:], nil
}

func firstDifference(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y || i >= len(al) || i >= len(bl) {
			return fmt.Sprintf("line %d of the section: doc has %q, run gives %q", i+1, x, y)
		}
	}
	return "no line differs"
}

// checkDocMasked fails if the rendering shows a test PAN or track 2 in
// clear.
func checkDocMasked(t *testing.T, out string) {
	for _, name := range []string{"alice", "bob"} {
		c := docCard(t, name)
		for _, s := range []string{c.pan, docTrack2(c)} {
			if strings.Contains(out, s) {
				t.Errorf("the rendering shows card data of %s in clear", name)
			}
		}
	}
}

// ---- rendering ----

// docSummary is a one-line account of a response: MTI, 39, 37, 38, 54.
func docSummary(m *wire.Message) string {
	s := m.MTI + " rc=" + m.Fields[39]
	if v, ok := m.Fields[37]; ok {
		s += " rrn=" + v
	}
	if v, ok := m.Fields[38]; ok {
		s += " auth=" + v
	}
	if v, ok := m.Fields[54]; ok {
		s += " 54=" + strings.Join(balanceEntries(v), " ")
	}
	return s
}

func balanceEntries(v string) []string {
	var out []string
	for i := 0; i+20 <= len(v); i += 20 {
		out = append(out, v[i:i+20])
	}
	return out
}

func renderDocExamples(runs []docRun) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("<!-- Generated by TestProtocolDocExamples (gateway/protocol_doc_test.go) from real runs; do not edit by hand.\n")
	w("     Regenerate: go test ./gateway/ -run TestProtocolDocExamples -update-protocol-doc -->\n\n")
	w("The session, as every listener below answered it (terminal %s of merchant %s, host clock %s UTC, "+
		"a fresh store with the test fixture, so the first RRN is %s):\n\n",
		docTID, docMID, docClock.Format("2006-01-02 15:04:05"), runs[0].exchanges[1].resp.Fields[37])
	w("| step | request | answer |\n|---|---|---|\n")
	for i, ex := range runs[0].exchanges {
		req := ex.req.MTI
		if p, ok := ex.req.Fields[3]; ok {
			req += "/" + p
		}
		if c, ok := ex.req.Fields[70]; ok {
			req += ", 70=" + c
		}
		if ex.step.resendOf > 0 {
			req = fmt.Sprintf("step %d again", ex.step.resendOf)
		}
		w("| %d | %s | `%s` |\n", i+1, req, docSummary(ex.resp))
	}
	w("\n")
	for _, r := range runs {
		w("### %s packager, %s framing\n\n", r.lc.Packager, r.lc.Framing)
		w("Listener configuration: `{framing: %s, packager: %s}`.", r.lc.Framing, r.lc.Packager)
		if r.framing.TPDU {
			w(" Requests carry TPDU `% X`; responses `% X`.", testTPDU, wire.SwapTPDU(testTPDU))
		}
		w("\n\n")
		for i, ex := range r.exchanges {
			w("#### %d. %s\n\n%s\n\n", i+1, ex.step.title, ex.step.about)
			if ex.step.resendOf > 0 {
				w("Request: byte for byte the %d-byte frame of step %d. Response: byte for byte the %d-byte response of step %d "+
					"(the test checks both).\n\n", len(ex.reqFrame), ex.step.resendOf, len(ex.respFrame), ex.step.resendOf)
				continue
			}
			for _, side := range []struct {
				name  string
				frame []byte
				m     *wire.Message
				resp  bool
			}{{"Request", ex.reqFrame, ex.req, false}, {"Response", ex.respFrame, ex.resp, true}} {
				segs, mask, err := segmentFrame(r, side.frame, side.m, ex.req, side.resp)
				if err != nil {
					return "", fmt.Errorf("%s/%s step %d %s: %w", r.lc.Packager, r.lc.Framing, i+1, side.name, err)
				}
				w("%s %s, %d bytes:\n\n```text\n%s```\n\n", side.name, side.m.MTI, len(side.frame), hexDump(side.frame, mask))
				w("```text\n%s```\n\n", breakdown(side.frame, mask, segs))
			}
		}
	}
	return b.String(), nil
}

// segment is a run of frame bytes and what they are.
type segment struct {
	off, n int
	desc   []string
}

// Nibble mask bits of a frame byte.
const (
	maskHi = 2
	maskLo = 1
)

// segmentFrame splits a frame into header, TPDU, MTI, bitmaps, and each
// field's prefix and value, using the host's own packager for every field
// (a message holding that one field, less its MTI and bitmaps) and checking
// that the pieces are exactly the frame. It also returns the mask of the
// card-data nibbles.
func segmentFrame(r docRun, frame []byte, m, req *wire.Message, isResp bool) ([]segment, []byte, error) {
	var segs []segment
	mask := make([]byte, len(frame))
	off := 0
	add := func(n int, desc ...string) {
		segs = append(segs, segment{off: off, n: n, desc: desc})
		off += n
	}
	if r.framing.Header == "len2" {
		add(2, fmt.Sprintf("length (len2): %d bytes follow", int(frame[0])<<8|int(frame[1])))
	} else {
		add(4, fmt.Sprintf("length (ascii4): %q, %s bytes follow", frame[:4], strings.TrimLeft(string(frame[:4]), "0")))
	}
	if r.framing.TPDU {
		t := frame[off : off+5]
		d := fmt.Sprintf("TPDU: id %02X, destination %02X%02X, source %02X%02X", t[0], t[1], t[2], t[3], t[4])
		if isResp {
			d += " (the request's, swapped)"
		}
		add(5, d)
	}
	body := frame[off:]
	bodyStart := off

	pk := r.pk
	mtiLen, bmLen := 4, 8
	switch pk.Name() {
	case "bcd":
		mtiLen = 2
	case "ascii-hexbitmap":
		bmLen = 16
	}
	base, err := pk.Pack(wire.NewMessage(m.MTI))
	if err != nil {
		return nil, nil, err
	}
	if len(base) != mtiLen+bmLen || !bytes.HasPrefix(body, base[:mtiLen]) {
		return nil, nil, fmt.Errorf("MTI layout is not %d bytes + %d bytes of bitmap", mtiLen, bmLen)
	}
	add(mtiLen, fmt.Sprintf("MTI %s", m.MTI))

	nums := make([]int, 0, len(m.Fields))
	for n := range m.Fields {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	secondary := len(nums) > 0 && nums[len(nums)-1] > 64
	var prim, sec []string
	if secondary {
		prim = append(prim, "1")
	}
	for _, n := range nums {
		if n <= 64 {
			prim = append(prim, fmt.Sprint(n))
		} else {
			sec = append(sec, fmt.Sprint(n))
		}
	}
	bmKind := func(at int) string {
		if bmLen == 16 {
			return fmt.Sprintf("16 hex characters %q", frame[at:at+16])
		}
		return "8 bytes"
	}
	add(bmLen, fmt.Sprintf("primary bitmap (%s): fields %s", bmKind(off), strings.Join(prim, " ")))
	if secondary {
		add(bmLen, fmt.Sprintf("secondary bitmap (%s, field 1): fields %s", bmKind(off), strings.Join(sec, " ")))
	}

	for _, n := range nums {
		v := m.Fields[n]
		single, err := pk.Pack(wire.NewMessage(m.MTI).Set(n, v))
		if err != nil {
			return nil, nil, fmt.Errorf("field %d: %w", n, err)
		}
		head := mtiLen + bmLen
		if n > 64 {
			head += bmLen
		}
		enc := single[head:]
		at := off - bodyStart
		if at+len(enc) > len(body) || !bytes.Equal(body[at:at+len(enc)], enc) {
			return nil, nil, fmt.Errorf("field %d: the packager's encoding is not at offset %d of the frame", n, off)
		}
		f, ok := docFields[n]
		if !ok {
			return nil, nil, fmt.Errorf("field %d: not described", n)
		}
		prefixLen := 0
		if f.prefix > 0 {
			prefixLen = f.prefix
			if pk.Name() == "bcd" {
				prefixLen = (f.prefix + 1) / 2
			}
			unit := "characters"
			switch {
			case pk.Name() != "bcd":
				unit = "ASCII digits"
			case strings.HasPrefix(f.format, "n") || strings.HasPrefix(f.format, "z"):
				unit = "BCD, counts digits"
			default:
				unit = "BCD, counts bytes"
			}
			add(prefixLen, fmt.Sprintf("field %d length (%s, %s): %d", n, strings.Repeat("L", f.prefix), unit, len(v)))
		}
		valStart := off
		chars := docMaskChars(n, v)
		shown := v
		if chars != nil {
			bs := []byte(v)
			for i, masked := range chars {
				if masked {
					bs[i] = '*'
				}
			}
			shown = string(bs)
			// In bcd, fields 2 and 35 are left-aligned and field 14 is
			// 4 digits: character i is nibble i. In the ascii
			// packagers it is byte i.
			bcd := pk.Name() == "bcd"
			if bcd && n == 14 && len(v)%2 == 1 {
				return nil, nil, fmt.Errorf("field %d: cannot mask an odd right-aligned BCD value", n)
			}
			for i, masked := range chars {
				switch {
				case !masked:
				case !bcd:
					mask[valStart+i] = maskHi | maskLo
				case i%2 == 0:
					mask[valStart+i/2] |= maskHi
				default:
					mask[valStart+i/2] |= maskLo
				}
			}
		}
		desc := docDescribe(n, f, v, shown, m, req, isResp)
		parts := docParts(n, v)
		if parts == nil {
			add(len(enc)-prefixLen, desc...)
			continue
		}
		// A field of several parts: a heading line, then each part with
		// its own bytes (n fields in bcd take half a byte per digit).
		add(0, desc...)
		perByte, total := 1, 0
		if pk.Name() == "bcd" && strings.HasPrefix(f.format, "n") {
			perByte = 2
		}
		for _, p := range parts {
			if p.chars%perByte != 0 {
				return nil, nil, fmt.Errorf("field %d: a part of %d digits is not whole bytes", n, p.chars)
			}
			add(p.chars/perByte, "  "+p.desc)
			total += p.chars / perByte
		}
		if total != len(enc)-prefixLen {
			return nil, nil, fmt.Errorf("field %d: parts cover %d of %d bytes", n, total, len(enc)-prefixLen)
		}
	}
	if off != len(frame) {
		return nil, nil, fmt.Errorf("%d bytes after the last field", len(frame)-off)
	}
	return segs, mask, nil
}

// docField is a contract field as the doc names it.
type docField struct {
	format, name string
	prefix       int // 2 (LL) or 3 (LLL); 0 for fixed fields
}

var docFields = map[int]docField{
	2:  {"n..19", "PAN", 2},
	3:  {"n6", "processing code", 0},
	4:  {"n12", "amount", 0},
	7:  {"n10", "transmission date and time, UTC", 0},
	11: {"n6", "STAN", 0},
	12: {"n6", "local time", 0},
	13: {"n4", "local date", 0},
	14: {"n4", "expiry YYMM", 0},
	22: {"n3", "POS entry mode", 0},
	23: {"n3", "card sequence number", 0},
	25: {"n2", "POS condition code", 0},
	35: {"z..37", "track 2", 2},
	37: {"an12", "RRN", 0},
	38: {"an6", "authorization code", 0},
	39: {"an2", "response code", 0},
	41: {"ans8", "TID", 0},
	42: {"ans15", "MID", 0},
	48: {"ans..999", "batch totals", 3},
	49: {"n3", "currency", 0},
	54: {"an..120", "balances", 3},
	60: {"ans..999", "batch number", 3},
	70: {"n3", "network management code", 0},
	90: {"n42", "original data elements", 0},
}

// docMaskChars says which characters of a field value the doc masks: the
// PAN but what cardnum.Mask shows (first 6 and last 4 of the doc's
// 16-digit PANs), field 14, and in track 2 everything after the
// separator. nil: nothing.
func docMaskChars(n int, v string) []bool {
	maskPAN := func(out []bool, pan string) {
		keep := cardnum.Mask(pan)
		for i := range pan {
			out[i] = keep[i] == '*'
		}
	}
	switch n {
	case 2:
		out := make([]bool, len(v))
		maskPAN(out, v)
		return out
	case 14:
		out := make([]bool, len(v))
		for i := range out {
			out[i] = true
		}
		return out
	case 35:
		out := make([]bool, len(v))
		sep := strings.IndexAny(v, "=D")
		if sep < 0 {
			sep = len(v)
		}
		maskPAN(out, v[:sep])
		for i := sep + 1; i < len(v); i++ {
			out[i] = true
		}
		return out
	}
	return nil
}

var docProcCodes = map[string]string{
	"0100/310000": "balance inquiry",
	"0100/000000": "pre-authorization",
	"0200/000000": "purchase",
	"0200/200000": "refund",
	"0200/210000": "load",
	"0200/020000": "void",
	"0220/000000": "completion",
	"0500/920000": "batch close",
	"0500/960000": "batch close after upload",
}

var docResponseCodes = map[string]string{
	"00": "approved",
	"12": "not supported or not allowed",
	"13": "bad amount",
	"25": "original not found",
	"30": "format error",
	"51": "insufficient stored value",
	"58": "terminal not signed on",
	"94": "duplicate",
}

var docBalanceKinds = map[string]string{
	"0001156": "stored value ledger balance",
	"0002156": "stored value available balance",
	"9002999": "points available",
	"9090999": "points earned",
	"9091999": "points debited",
}

func docYuan(digits string) string {
	var v int64
	for _, c := range digits {
		v = v*10 + int64(c-'0')
	}
	return ledger.Amount(v).String()
}

// docDescribe annotates one field value; shown is v with card data masked.
func docDescribe(n int, f docField, v, shown string, m, req *wire.Message, isResp bool) []string {
	head := fmt.Sprintf("field %d (%s, %s): %q", n, f.format, f.name, shown)
	var note string
	switch n {
	case 3:
		key := repeatOf(req.MTI) // the request's, for its response too
		switch {
		case docProcCodes[key+"/"+v] != "":
			note = docProcCodes[key+"/"+v]
		case strings.HasPrefix(key, "04"):
			note = "the original's"
		}
	case 4:
		note = docYuan(v) + " CNY"
	case 7:
		note = fmt.Sprintf("%s-%s %s:%s:%s", v[0:2], v[2:4], v[4:6], v[6:8], v[8:10])
	case 14:
		note = "masked"
	case 22:
		switch v[:2] {
		case "01":
			note = "manual entry"
		case "02":
			note = "magnetic stripe"
		}
	case 35:
		note = "PAN masked, '=' separator, expiry/service code/discretionary data masked"
	case 2:
		note = "masked"
	case 37:
		note = "journal sequence number " + strings.TrimLeft(v, "0")
	case 39:
		note = docResponseCodes[v]
	case 48, 54, 90:
		if docParts(n, v) != nil {
			head = fmt.Sprintf("field %d (%s, %s):", n, f.format, f.name)
		}
	case 49:
		if v == "156" {
			note = "CNY"
		}
	case 60:
		note = "batch " + v
	case 70:
		switch v {
		case "001":
			note = "sign-on"
		case "002":
			note = "sign-off"
		case "101":
			note = "key change"
		case "301":
			note = "echo"
		}
	}
	if note != "" {
		head += " " + note
	}
	if isResp {
		if rv, ok := req.Fields[n]; ok && rv == v {
			head += " (echoed)"
		}
	}
	return []string{head}
}

// docPart is a piece of a structured field: so many characters (digits
// in n fields), and what they are.
type docPart struct {
	chars int
	desc  string
}

// docParts splits fields 48, 54 and 90 into their parts; nil for any
// other field or a value of the wrong shape.
func docParts(n int, v string) []docPart {
	var parts []docPart
	at := 0
	part := func(chars int, format string, args ...any) {
		p := v[at : at+chars]
		parts = append(parts, docPart{chars, fmt.Sprintf("%q ", p) + fmt.Sprintf(format, args...)})
		at += chars
	}
	switch {
	case n == 48 && len(v) == 30:
		part(3, "debit count")
		part(12, "debit amount, %s", docYuan(v[3:15]))
		part(3, "credit count")
		part(12, "credit amount, %s", docYuan(v[18:30]))
	case n == 54 && len(v) > 0 && len(v)%20 == 0:
		for _, e := range balanceEntries(v) {
			kind, ok := docBalanceKinds[e[:7]]
			if !ok {
				return nil
			}
			sign := ""
			if e[7] == 'D' {
				sign = "-"
			}
			amount := docYuan(e[8:])
			if e[:2] == "90" {
				amount = strings.TrimLeft(e[8:], "0")
				if amount == "" {
					amount = "0"
				}
				amount += " points"
			}
			part(20, "%s %s %s %c: %s, %s%s", e[0:2], e[2:4], e[4:7], e[7], kind, sign, amount)
		}
	case n == 90 && len(v) == 42:
		part(4, "original MTI")
		part(6, "original STAN")
		part(10, "original field 7")
		part(22, "zeros")
	default:
		return nil
	}
	return parts
}

// hexDump renders a frame as offset, 16 bytes of hex and an ASCII column,
// masked nibbles as '*'.
func hexDump(frame, mask []byte) string {
	var b strings.Builder
	for off := 0; off < len(frame); off += 16 {
		fmt.Fprintf(&b, "%04x  ", off)
		var ascii strings.Builder
		for i := off; i < off+16; i++ {
			if i == off+8 {
				b.WriteByte(' ')
			}
			if i >= len(frame) {
				b.WriteString("   ")
				continue
			}
			b.WriteString(hexByte(frame[i], mask[i]))
			b.WriteByte(' ')
			c := frame[i]
			switch {
			case mask[i] != 0:
				ascii.WriteByte('*')
			case c >= 0x20 && c <= 0x7e:
				ascii.WriteByte(c)
			default:
				ascii.WriteByte('.')
			}
		}
		fmt.Fprintf(&b, " |%s|\n", ascii.String())
	}
	return b.String()
}

func hexByte(c, mask byte) string {
	const digits = "0123456789ABCDEF"
	hi, lo := digits[c>>4], digits[c&0x0F]
	if mask&maskHi != 0 {
		hi = '*'
	}
	if mask&maskLo != 0 {
		lo = '*'
	}
	return string([]byte{hi, lo})
}

// breakdown renders the segments: offset, up to docHexPerLine bytes of
// hex per line, and what they are.
func breakdown(frame, mask []byte, segs []segment) string {
	var b strings.Builder
	width := docHexPerLine*3 - 1
	for _, s := range segs {
		var hexLines []string
		for i := s.off; i < s.off+s.n; i += docHexPerLine {
			end := min(i+docHexPerLine, s.off+s.n)
			parts := make([]string, 0, docHexPerLine)
			for j := i; j < end; j++ {
				parts = append(parts, hexByte(frame[j], mask[j]))
			}
			hexLines = append(hexLines, strings.Join(parts, " "))
		}
		lines := max(len(hexLines), len(s.desc))
		for i := 0; i < lines; i++ {
			var h, d, o string
			if i < len(hexLines) {
				h = hexLines[i]
			}
			if i < len(s.desc) {
				d = s.desc[i]
			}
			if i == 0 {
				o = fmt.Sprintf("%04x", s.off)
			}
			fmt.Fprintf(&b, "%-4s  %-*s  %s", o, width, h, d)
			b.WriteString("\n")
		}
	}
	// No trailing blanks: the doc is checked byte for byte.
	lines := strings.Split(b.String(), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.Join(lines, "\n")
}
