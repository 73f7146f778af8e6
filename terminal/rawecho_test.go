package terminal

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

func startRawEcho(t *testing.T) *RawEchoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := ServeRawEcho(ln)
	t.Cleanup(func() { s.Close() })
	return s
}

func len2(payload []byte) []byte {
	b := make([]byte, 2, 2+len(payload))
	binary.BigEndian.PutUint16(b, uint16(len(payload)))
	return append(b, payload...)
}

// TestRawEchoRoundTrip: frames of 1 byte, a purchase's size and the
// largest a frame may be come back byte for byte, also several written
// at once (pipelined).
func TestRawEchoRoundTrip(t *testing.T) {
	s := startRawEcho(t)
	rc, err := DialRaw(context.Background(), TCPDialer(s.Addr().String()), wire.Framing{Header: "len2"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var all []byte
	var want [][]byte
	for _, n := range []int{1, 150, wire.MaxFrameBytes} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		want = append(want, p)
		all = append(all, len2(p)...)
	}
	if err := rc.Write(all); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		_, got, err := rc.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if string(got) != string(w) {
			t.Fatalf("frame %d: %d bytes back, want %d, equal=%v", i, len(got), len(w), string(got) == string(w))
		}
	}
}

// TestRawEchoClosesBadFrames: a zero length or one above the frame
// limit closes that connection, without an answer; others go on.
func TestRawEchoClosesBadFrames(t *testing.T) {
	s := startRawEcho(t)
	for _, hdr := range [][]byte{{0, 0}, {0x10, 0x01}} { // 0, 4097
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(append(hdr, 'x'))
		if n, err := c.Read(make([]byte, 8)); !errors.Is(err, io.EOF) {
			t.Fatalf("length %x: read %d, %v; want EOF", hdr, n, err)
		}
		c.Close()
	}
	rep, err := RunRawEcho(context.Background(), RawEchoConfig{Dial: TCPDialer(s.Addr().String()), Size: 10, Requests: 5})
	if err != nil || rep.Approved != 5 {
		t.Fatalf("after bad frames: %+v %v", rep, err)
	}
}

// TestRawEchoPeerClosed: a client that closes mid-frame ends its
// connection's goroutine (Close does not hang on it), and a closed
// server fails a run with an error, not a hang.
func TestRawEchoPeerClosed(t *testing.T) {
	s := startRawEcho(t)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0, 100, 'a', 'b'}) // 100 announced, 2 sent
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = RunRawEcho(context.Background(), RawEchoConfig{Dial: TCPDialer(s.Addr().String()), Size: 10, Requests: 5})
	if err == nil || !strings.HasPrefix(err.Error(), "raw echo: dial") {
		t.Fatalf("run against a closed server: %v", err)
	}
}

// TestRunRawEcho: a run with frames in flight on several connections
// counts every frame it sent as answered.
func TestRunRawEcho(t *testing.T) {
	s := startRawEcho(t)
	rep, err := RunRawEcho(context.Background(), RawEchoConfig{
		Dial: TCPDialer(s.Addr().String()), Connections: 3, InFlight: 4, Size: 180, Requests: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 1000 || rep.Approved != 1000 || rep.Errors != 0 || rep.Latency.Count() != 1000 || rep.Throughput <= 0 {
		t.Fatalf("%+v", rep)
	}
	if !strings.Contains(FormatReport(rep), "raw echo (len2, 180 bytes)") {
		t.Fatal(FormatReport(rep))
	}
	// A duration ends a run too.
	rep, err = RunRawEcho(context.Background(), RawEchoConfig{Dial: TCPDialer(s.Addr().String()), InFlight: 2, Size: 8, Duration: 20 * time.Millisecond})
	if err != nil || rep.Requests == 0 || rep.Approved != rep.Requests {
		t.Fatalf("%+v %v", rep, err)
	}
}

func TestRawEchoChecks(t *testing.T) {
	dial := TCPDialer("127.0.0.1:1")
	for name, cfg := range map[string]RawEchoConfig{
		"no dial":     {Size: 1, Requests: 1},
		"size 0":      {Dial: dial, Requests: 1},
		"size big":    {Dial: dial, Size: wire.MaxFrameBytes + 1, Requests: 1},
		"no limit":    {Dial: dial, Size: 1},
		"conns":       {Dial: dial, Size: 1, Requests: 1, Connections: maxLoadConnections + 1},
		"in flight":   {Dial: dial, Size: 1, Requests: 1, InFlight: -1},
		"too long":    {Dial: dial, Size: 1, Duration: 2 * maxLoadDuration},
		"neg request": {Dial: dial, Size: 1, Requests: -1, Duration: time.Second},
	} {
		if _, err := RunRawEcho(context.Background(), cfg); err == nil || !strings.HasPrefix(err.Error(), "raw echo: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkRawEcho is the raw echo's cost per frame on one connection,
// one in flight: the floor under any host round trip on this machine.
func BenchmarkRawEcho(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := ServeRawEcho(ln)
	defer s.Close()
	b.ReportAllocs()
	rep, err := RunRawEcho(context.Background(), RawEchoConfig{Dial: TCPDialer(s.Addr().String()), Size: 150, Requests: int64(b.N)})
	if err != nil || rep.Approved != int64(b.N) {
		b.Fatalf("%+v %v", rep, err)
	}
}
