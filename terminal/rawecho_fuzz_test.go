package terminal

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// FuzzRawEcho: whatever a peer sends, the raw echo server answers
// exactly the whole, well-formed len2 frames it sent, in order, up to the
// first frame with a length outside 1..MaxFrameBytes or cut short, and
// then ends the connection; it never panics or answers anything else.
func FuzzRawEcho(f *testing.F) {
	fuzzseed.Add(f, "FuzzRawEcho")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4*(2+wire.MaxFrameBytes) {
			return // a few frames is all a case needs
		}
		served := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			served <- echoFrames(c, time.Minute)
			c.Close()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, _ := io.ReadAll(c) // until the server closes (a reset after bad input ends it too)
		<-served
		if want := wholeFrames(in); !bytes.Equal(got, want) && !bytes.HasPrefix(want, got) {
			t.Fatalf("echoed % x\nwant % x", got, want)
		} else if len(got) < len(want) && validTail(in) {
			t.Fatalf("echoed %d bytes of %d well-formed ones", len(got), len(want))
		}
	})
}

// wholeFrames is the prefix of in made of whole frames of a valid length.
func wholeFrames(in []byte) []byte {
	end := 0
	for rest := in; len(rest) >= 2; {
		n := int(binary.BigEndian.Uint16(rest))
		if n == 0 || n > wire.MaxFrameBytes || len(rest) < 2+n {
			break
		}
		end += 2 + n
		rest = rest[2+n:]
	}
	return in[:end]
}

// validTail: in ends with its last whole frame or a cut one, not with a
// bad length, so the server reads to the end of input (EOF) and must
// have answered every whole frame before closing. (After a bad length it
// closes at once, and the peer may see a reset before every answer.)
func validTail(in []byte) bool {
	rest := in[len(wholeFrames(in)):]
	if len(rest) < 2 {
		return true
	}
	n := int(binary.BigEndian.Uint16(rest))
	return n != 0 && n <= wire.MaxFrameBytes
}
