package wire_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

var (
	len2      = wire.Framing{Header: "len2"}
	ascii4    = wire.Framing{Header: "ascii4"}
	len2TPDU  = wire.Framing{Header: "len2", TPDU: true}
	ascii4TPD = wire.Framing{Header: "ascii4", TPDU: true}
	tpduReq   = h("60 00 01 00 02") // to 0001 from 0002
)

func TestParseFraming(t *testing.T) {
	for _, c := range []struct {
		in   string
		want wire.Framing
	}{
		{"len2", len2},
		{"ascii4", ascii4},
		{"len2+tpdu", len2TPDU},
		{"ascii4+tpdu", ascii4TPD},
	} {
		got, err := wire.ParseFraming(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseFraming(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.in)
		}
	}
	for _, bad := range []string{"", "tpdu", "+tpdu", "len4", "LEN2", "len2+TPDU", "len2 ", "len2+tpdu+tpdu", "ascii4+", "bcd2"} {
		if f, err := wire.ParseFraming(bad); err == nil {
			t.Errorf("ParseFraming(%q) = %+v, want an error", bad, f)
		}
	}
}

// TestReadFrame: one frame of each framing, written by hand.
func TestReadFrame(t *testing.T) {
	for _, c := range []struct {
		f        wire.Framing
		stream   string
		wantTPDU string
		wantMsg  string
	}{
		{len2, h("00 05") + "hello", "", "hello"},
		{ascii4, "0005hello", "", "hello"},
		{len2TPDU, h("00 0A") + tpduReq + "hello", tpduReq, "hello"},
		{ascii4TPD, "0010" + tpduReq + "hello", tpduReq, "hello"},
		{len2TPDU, h("00 05") + tpduReq, tpduReq, ""}, // TPDU alone: the empty message fails Unpack, not framing
		{len2, h("10 00") + strings.Repeat("x", 4096), "", strings.Repeat("x", 4096)},
		{ascii4, "4096" + strings.Repeat("y", 4096), "", strings.Repeat("y", 4096)},
		{len2, h("00 01") + h("00"), "", h("00")},
	} {
		for _, bufSize := range []int{0, 3, 16, wire.MaxFrameBytes} {
			buf := make([]byte, bufSize)
			tpdu, msg, err := c.f.ReadFrame(strings.NewReader(c.stream), buf)
			if err != nil {
				t.Fatalf("%v %q (buf %d): %v", c.f, c.stream[:min(len(c.stream), 16)], bufSize, err)
			}
			if string(tpdu) != c.wantTPDU || string(msg) != c.wantMsg {
				t.Fatalf("%v (buf %d): tpdu % X msg %q", c.f, bufSize, tpdu, msg[:min(len(msg), 16)])
			}
			if (tpdu == nil) == c.f.TPDU {
				t.Fatalf("%v: tpdu nil = %v", c.f, tpdu == nil)
			}
			// Aliasing: with a buffer big enough, the frame is read into it.
			if n := len(c.wantTPDU) + len(c.wantMsg); bufSize >= n && len(msg) > 0 && &msg[0] != &buf[len(c.wantTPDU)] {
				t.Fatalf("%v (buf %d, frame %d): msg not read into buf", c.f, bufSize, n)
			}
		}
	}
}

// TestReadFrameStream: back-to-back frames, delivered a byte at a time,
// then a clean end.
func TestReadFrameStream(t *testing.T) {
	for _, f := range []wire.Framing{len2, ascii4, len2TPDU, ascii4TPD} {
		var stream []byte
		msgs := []string{"a", "bc", strings.Repeat("d", 300), "e"}
		for _, m := range msgs {
			stream = f.AppendFrame(stream, []byte(tpduReq), []byte(m))
		}
		r := iotest.OneByteReader(bytes.NewReader(stream))
		buf := make([]byte, wire.MaxFrameBytes)
		for _, want := range msgs {
			tpdu, msg, err := f.ReadFrame(r, buf)
			if err != nil || string(msg) != want {
				t.Fatalf("%v: got %q, %v; want %q", f, msg, err, want)
			}
			if f.TPDU && string(tpdu) != tpduReq {
				t.Fatalf("%v: tpdu % X", f, tpdu)
			}
		}
		if _, _, err := f.ReadFrame(r, buf); err != io.EOF {
			t.Fatalf("%v: after the last frame: %v, want io.EOF", f, err)
		}
	}
}

func TestReadFrameErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		f      wire.Framing
		stream string
		want   error
	}{
		{"empty", len2, "", io.EOF},
		{"empty ascii4", ascii4, "", io.EOF},
		{"empty tpdu", len2TPDU, "", io.EOF},
		{"half a len2 header", len2, h("00"), io.ErrUnexpectedEOF},
		{"part of an ascii4 header", ascii4, "00", io.ErrUnexpectedEOF},
		{"no body", len2, h("00 05"), io.ErrUnexpectedEOF},
		{"short body", ascii4, "0005hell", io.ErrUnexpectedEOF},
		{"short TPDU", len2TPDU, h("00 0A 60 00 01"), io.ErrUnexpectedEOF},
		{"TPDU then nothing", ascii4TPD, "0010" + tpduReq, io.ErrUnexpectedEOF},
		{"zero len2", len2, h("00 00") + "hello", wire.ErrZeroLength},
		{"zero ascii4", ascii4, "0000hello", wire.ErrZeroLength},
		{"zero with tpdu", len2TPDU, h("00 00"), wire.ErrZeroLength},
		{"4097 len2", len2, h("10 01") + strings.Repeat("x", 4097), wire.ErrFrameTooLong},
		{"65535 len2", len2, h("FF FF"), wire.ErrFrameTooLong},
		{"4097 ascii4", ascii4, "4097", wire.ErrFrameTooLong},
		{"9999 ascii4 tpdu", ascii4TPD, "9999", wire.ErrFrameTooLong},
		{"ascii4 letter", ascii4, "00a5hello", wire.ErrBadHeader},
		{"ascii4 space", ascii4, " 005hello", wire.ErrBadHeader},
		{"ascii4 plus", ascii4, "+005hello", wire.ErrBadHeader},
		{"ascii4 minus", ascii4, "-005hello", wire.ErrBadHeader},
		{"ascii4 binary", ascii4, h("00 05") + "hello", wire.ErrBadHeader},
		{"ascii4 tpdu letter", ascii4TPD, "001X" + tpduReq, wire.ErrBadHeader},
		{"tpdu frame too short", len2TPDU, h("00 04") + h("60 00 01 00"), wire.ErrBadTPDU},
		{"tpdu frame of 1", ascii4TPD, "0001" + h("60"), wire.ErrBadTPDU},
		{"tpdu first byte 61", len2TPDU, h("00 0A 61 00 01 00 02") + "hello", wire.ErrBadTPDU},
		{"tpdu first byte 00", ascii4TPD, "0010" + h("00 00 01 00 02") + "hello", wire.ErrBadTPDU},
		{"bad tpdu, frame cut short", len2TPDU, h("00 0A 06 00 01 00 02"), wire.ErrBadTPDU},
		{"message where the tpdu should be", len2TPDU, h("00 05") + "0200X", wire.ErrBadTPDU},
	} {
		t.Run(c.name, func(t *testing.T) {
			tpdu, msg, err := c.f.ReadFrame(strings.NewReader(c.stream), make([]byte, wire.MaxFrameBytes))
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.want == io.EOF || c.want == io.ErrUnexpectedEOF {
				if err != c.want { // callers compare these directly
					t.Fatalf("err = %#v, want exactly %v", err, c.want)
				}
			}
			if tpdu != nil || msg != nil {
				t.Fatalf("returned data with an error")
			}
		})
	}
}

// TestReadFrameReaderError: an error of the reader is returned as it is.
func TestReadFrameReaderError(t *testing.T) {
	boom := errors.New("i/o timeout")
	r := io.MultiReader(strings.NewReader(h("00 05")+"he"), iotest.ErrReader(boom))
	if _, _, err := len2.ReadFrame(r, nil); err != boom {
		t.Fatalf("err = %v, want %v", err, boom)
	}
	if _, _, err := (wire.Framing{Header: "len3"}).ReadFrame(strings.NewReader("0005hello"), nil); err == nil {
		t.Fatal("invalid framing read a frame")
	}
}

func TestReadFrameAllocs(t *testing.T) {
	frame := len2TPDU.AppendFrame(nil, []byte(tpduReq), []byte("0800 and some bytes"))
	r := bytes.NewReader(frame)
	buf := make([]byte, wire.MaxFrameBytes)
	n := testing.AllocsPerRun(100, func() {
		r.Reset(frame)
		if _, _, err := len2TPDU.ReadFrame(r, buf); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("ReadFrame into a big enough buf allocates %v times", n)
	}
}

func TestAppendFrame(t *testing.T) {
	msg := []byte("hello")
	for _, c := range []struct {
		f    wire.Framing
		want string
	}{
		{len2, h("00 05") + "hello"},
		{ascii4, "0005hello"},
		{len2TPDU, h("00 0A") + tpduReq + "hello"},
		{ascii4TPD, "0010" + tpduReq + "hello"},
	} {
		got := c.f.AppendFrame([]byte("prefix"), []byte(tpduReq), msg)
		if string(got) != "prefix"+c.want {
			t.Errorf("%v: % X, want % X", c.f, got, "prefix"+c.want)
		}
		_, back, err := c.f.ReadFrame(bytes.NewReader(got[len("prefix"):]), nil)
		if err != nil || string(back) != "hello" {
			t.Errorf("%v: read back %q, %v", c.f, back, err)
		}
	}
	big := bytes.Repeat([]byte{0xAB}, 300)
	if got := len2.AppendFrame(nil, nil, big); got[0] != 0x01 || got[1] != 0x2C || len(got) != 302 {
		t.Errorf("len2 of 300: % X", got[:2])
	}
	if got := ascii4.AppendFrame(nil, nil, big[:123]); string(got[:4]) != "0123" {
		t.Errorf("ascii4 of 123: %q", got[:4])
	}
}

func TestAppendFramePanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    wire.Framing
		tpdu []byte
		msg  []byte
	}{
		{"tpdu missing", len2TPDU, nil, []byte("x")},
		{"tpdu too short", ascii4TPD, []byte{0x60, 0, 1, 0}, []byte("x")},
		{"len2 overflow", len2, nil, make([]byte, 0x10000)},
		{"ascii4 overflow", ascii4, nil, make([]byte, 10000)},
		{"invalid framing", wire.Framing{}, nil, []byte("x")},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if s, _ := r.(string); !strings.HasPrefix(s, "wire: ") {
					t.Fatalf("panic %v", r)
				}
			}()
			c.f.AppendFrame(nil, c.tpdu, c.msg)
		})
	}
}

func TestSwapTPDU(t *testing.T) {
	in := []byte(h("60 12 34 AB CD"))
	got := wire.SwapTPDU(in)
	if want := h("60 AB CD 12 34"); string(got) != want {
		t.Fatalf("SwapTPDU = % X, want % X", got, want)
	}
	if string(in) != h("60 12 34 AB CD") {
		t.Fatal("SwapTPDU changed its input")
	}
	got[0] = 0
	if in[0] != 0x60 {
		t.Fatal("SwapTPDU result aliases its input")
	}
	// The response to a framed request: read, swap, frame, and the peer
	// reads its own addresses back, swapped.
	_, msg, err := len2TPDU.ReadFrame(bytes.NewReader(len2TPDU.AppendFrame(nil, in, []byte("0800"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := len2TPDU.AppendFrame(nil, wire.SwapTPDU(in), msg)
	if want := h("00 09 60 AB CD 12 34") + "0800"; string(resp) != want {
		t.Fatalf("response frame % X, want % X", resp, want)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("SwapTPDU of 4 bytes did not panic")
		}
	}()
	wire.SwapTPDU(in[:4])
}
