package gateway

import (
	"bytes"
	"io"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// chunkReader returns at most n bytes a read: a terminal's bytes as TCP
// cuts them.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// readInbox reads frames off r the way readLoop does: an idle read of at
// least a byte, then CutFrame and fills until the frame is whole.
func readInbox(t *testing.T, fr wire.Framing, in *inbox, r io.Reader) (frames [][2][]byte, err error) {
	for range 64 {
		if in.empty() {
			if err := in.fill(r, 1); err != nil {
				return frames, err
			}
		}
		tpdu, msg, size, err := fr.CutFrame(in.unread())
		for err == nil && size > len(in.unread()) {
			if err := in.fill(r, size); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return frames, err
			}
			tpdu, msg, size, err = fr.CutFrame(in.unread())
		}
		if err != nil {
			return frames, err
		}
		frames = append(frames, [2][]byte{bytes.Clone(tpdu), bytes.Clone(msg)})
		in.consume(size)
		if in.empty() && (in.big != nil || len(in.buf) != smallReadBytes) {
			t.Fatalf("inbox drained still holds a buffer of %d bytes (big %v)", len(in.buf), in.big != nil)
		}
	}
	return frames, nil
}

// FuzzInbox: a connection's inbox, fed in chunks of any size, yields the
// frames and the error that ReadFrame (the reference) reads from the
// same stream, and holds only its small buffer once drained. data[0]
// picks the framing (bits 0–1) as in FuzzReadFrame, whose seeds it
// shares; data[1] is the largest read.
func FuzzInbox(f *testing.F) {
	fuzzseed.Add(f, "FuzzReadFrame")
	f.Add(append([]byte{0, 0}, bigFrames()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		fr := [4]wire.Framing{{Header: "len2"}, {Header: "ascii4"}, {Header: "len2", TPDU: true}, {Header: "ascii4", TPDU: true}}[data[0]&3]
		chunk := int(data[1])
		if chunk == 0 {
			chunk = 1 << 20 // whatever the buffer holds
		}
		stream := data[2:]
		var want [][2][]byte
		r := bytes.NewReader(stream)
		var werr error
		for range 64 {
			tpdu, msg, err := fr.ReadFrame(r, nil)
			if err != nil {
				werr = err
				break
			}
			want = append(want, [2][]byte{bytes.Clone(tpdu), bytes.Clone(msg)})
		}
		got, gerr := readInbox(t, fr, newInbox(), chunkReader{bytes.NewReader(stream), chunk})
		if len(got) != len(want) {
			t.Fatalf("%d frames, ReadFrame %d (errors %v, %v)", len(got), len(want), gerr, werr)
		}
		for i := range got {
			if !bytes.Equal(got[i][0], want[i][0]) || !bytes.Equal(got[i][1], want[i][1]) {
				t.Fatalf("frame %d differs", i)
			}
		}
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("error %v, ReadFrame %v", gerr, werr)
		}
	})
}

// bigFrames is a len2 stream that needs the big buffer: a frame longer
// than the small one between short ones.
func bigFrames() []byte {
	fr := wire.Framing{Header: "len2"}
	b := fr.AppendFrame(nil, nil, []byte("0800"))
	b = fr.AppendFrame(b, nil, bytes.Repeat([]byte{'x'}, smallReadBytes+100))
	return fr.AppendFrame(b, nil, []byte("0810"))
}

// A connection that read a frame longer than its small buffer gives the
// big one back once the frame is consumed, whatever the cut of its reads.
func TestInboxBorrowsOnlyWhileBusy(t *testing.T) {
	fr := wire.Framing{Header: "len2"}
	for _, chunk := range []int{1, 3, 100, smallReadBytes, 1 << 20} {
		in := newInbox()
		frames, err := readInbox(t, fr, in, chunkReader{bytes.NewReader(bigFrames()), chunk})
		if err != io.EOF || len(frames) != 3 || len(frames[1][1]) != smallReadBytes+100 {
			t.Fatalf("chunks of %d: %d frames, %v", chunk, len(frames), err)
		}
	}
}
