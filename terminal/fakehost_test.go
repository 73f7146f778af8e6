package terminal

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// fakeHost is a minimal test peer for the client mechanics (framing,
// pipelining, retransmission, TPDU, deadlines) over real loopback TCP. It is
// not a host: it answers whatever its handler says.
type fakeHost struct {
	t       testing.TB
	ln      net.Listener
	framing wire.Framing
	pk      wire.Packager
	handle  func(c *fakeConn, f frameIn)

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []*fakeConn
}

// frameIn is one request frame as the fake host received it.
type frameIn struct {
	tpdu []byte
	raw  []byte
	msg  *wire.Message
}

type fakeConn struct {
	net.Conn
	h   *fakeHost
	wmu sync.Mutex
}

func startFakeHost(t testing.TB, framing wire.Framing, pk wire.Packager, handle func(c *fakeConn, f frameIn)) *fakeHost {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startFakeHostOn(t, ln, framing, pk, handle)
}

// startFakeHostOn serves on ln (a TLS listener, say).
func startFakeHostOn(t testing.TB, ln net.Listener, framing wire.Framing, pk wire.Packager, handle func(c *fakeConn, f frameIn)) *fakeHost {
	h := &fakeHost{t: t, ln: ln, framing: framing, pk: pk, handle: handle}
	h.wg.Add(1)
	go h.accept()
	t.Cleanup(h.stop)
	return h
}

func (h *fakeHost) addr() string { return h.ln.Addr().String() }

func (h *fakeHost) stop() {
	h.ln.Close()
	h.mu.Lock()
	for _, c := range h.conns {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *fakeHost) accept() {
	defer h.wg.Done()
	for {
		nc, err := h.ln.Accept()
		if err != nil {
			return
		}
		c := &fakeConn{Conn: nc, h: h}
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.mu.Unlock()
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			buf := make([]byte, wire.MaxFrameBytes)
			for {
				tpdu, msg, err := h.framing.ReadFrame(br, buf)
				if err != nil {
					return
				}
				m, err := h.pk.Unpack(msg)
				if err != nil {
					h.t.Errorf("fake host: unpack: %v", err)
					return
				}
				h.handle(c, frameIn{tpdu: append([]byte(nil), tpdu...), raw: append([]byte(nil), msg...), msg: m})
			}
		}()
	}
}

// send packs m and writes it with tpdu (already swapped by the caller).
func (c *fakeConn) send(tpdu []byte, m *wire.Message) {
	b, err := c.h.pk.Pack(m)
	if err != nil {
		c.h.t.Errorf("fake host: pack: %v", err)
		return
	}
	c.sendMsgBytes(tpdu, b)
}

func (c *fakeConn) sendMsgBytes(tpdu, b []byte) {
	c.writeRaw(c.h.framing.AppendFrame(nil, tpdu, b))
}

func (c *fakeConn) writeRaw(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.Write(b); err != nil && !errors.Is(err, net.ErrClosed) {
		c.h.t.Logf("fake host: write: %v", err)
	}
}

// answer sends the usual response to f: response MTI, the echoed fields,
// field 39 = rc, and extra fields.
func (c *fakeConn) answer(f frameIn, rc string, extra map[int]string) {
	var tpdu []byte
	if c.h.framing.TPDU {
		tpdu = wire.SwapTPDU(f.tpdu)
	}
	c.send(tpdu, response(f.msg, rc, extra))
}

func response(req *wire.Message, rc string, extra map[int]string) *wire.Message {
	resp := wire.NewMessage(wire.ResponseMTI(req.MTI))
	for _, n := range []int{3, 4, 7, 11, 41, 42, 49, 60, 70} {
		if v, ok := req.Get(n); ok {
			resp.Set(n, v)
		}
	}
	resp.Set(39, rc)
	for n, v := range extra {
		resp.Set(n, v)
	}
	return resp
}
