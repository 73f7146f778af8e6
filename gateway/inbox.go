package gateway

import (
	"io"
	"sync"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// inbox.go: a connection's read buffer, small while the connection is
// idle and big only while it has bytes to handle.

// Sizes of a connection's read buffer. Every connection holds a small
// one for its life: the read that waits for a terminal's next request
// lands there, and a request fits (a purchase is about 116 bytes framed,
// a chip purchase about 350, eight pipelined purchases about 930). A
// frame, or a run of pipelined frames, that does not fit borrows a big
// buffer from bigReadPool until its last byte is consumed. So an idle
// connection holds smallReadBytes, not the 8 KiB of a bufio.Reader and
// the 4 KiB frame buffer it had before.
const (
	smallReadBytes = 1024
	// bigReadBytes holds the largest frame (a 4-byte header and
	// wire.MaxFrameBytes) and many small ones: one read takes what a
	// pipelining terminal sent.
	bigReadBytes = 2 * wire.MaxFrameBytes
)

var bigReadPool = sync.Pool{New: func() any { b := make([]byte, bigReadBytes); return &b }}

// inbox is the bytes read from a connection and not yet consumed,
// buf[r:w]; buf is small or, while borrowed, *big. Only the connection's
// reader uses it.
type inbox struct {
	small []byte
	big   *[]byte
	buf   []byte
	r, w  int
}

func newInbox() *inbox {
	small := make([]byte, smallReadBytes)
	return &inbox{small: small, buf: small}
}

// unread is the bytes read and not consumed; valid until the next fill
// or consume.
func (in *inbox) unread() []byte { return in.buf[in.r:in.w] }

func (in *inbox) empty() bool { return in.r == in.w }

// consume drops the first n unread bytes. Once none are left the big
// buffer goes back to the pool: the connection may now be idle for
// minutes.
func (in *inbox) consume(n int) {
	in.r += n
	if in.r == in.w {
		in.release()
	}
}

// release returns the big buffer, if borrowed, and forgets what is
// unread (nothing, when called from consume; on close, whatever the
// peer sent last).
func (in *inbox) release() {
	in.r, in.w = 0, 0
	if in.big != nil {
		bigReadPool.Put(in.big)
		in.big, in.buf = nil, in.small
	}
}

// fill reads from rd until at least need bytes are unread (need is at
// most a whole frame: a header and wire.MaxFrameBytes). Each read takes
// all the room there is, so frames a terminal sent together come in one
// system call. An error is returned only when fewer than need bytes are
// unread.
func (in *inbox) fill(rd io.Reader, need int) error {
	if need > len(in.buf)-in.r {
		in.makeRoom(need)
	}
	for in.w-in.r < need {
		n, err := rd.Read(in.buf[in.w:])
		in.w += n
		if err != nil && in.w-in.r < need {
			return err
		}
	}
	return nil
}

// makeRoom moves the unread bytes to the front of a buffer that can hold
// need of them: the small one when it can, else the big one, borrowed.
func (in *inbox) makeRoom(need int) {
	dst := in.buf
	if need > len(in.small) && in.big == nil {
		in.big = bigReadPool.Get().(*[]byte)
		dst = *in.big
	}
	n := copy(dst, in.buf[in.r:in.w])
	in.buf, in.r, in.w = dst, 0, n
}
