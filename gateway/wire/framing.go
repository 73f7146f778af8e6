package wire

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxFrameBytes is the largest length a frame header may announce (the
// bytes after the header, TPDU included). A longer one is ErrFrameTooLong.
const MaxFrameBytes = 4096

const (
	tpduLen = 5    // 60 DDDD SSSS
	tpduID  = 0x60 // first byte of every TPDU

	headerLen2   = "len2"
	headerASCII4 = "ascii4"
	tpduSuffix   = "+tpdu"
)

// Errors of ReadFrame. Each means the peer broke the framing contract; the
// host closes the connection without an answer. Match with errors.Is.
var (
	ErrFrameTooLong = errors.New("wire: frame longer than 4096 bytes")
	ErrZeroLength   = errors.New("wire: frame length is zero")
	ErrBadHeader    = errors.New("wire: ascii4 length is not 4 decimal digits")
	ErrBadTPDU      = errors.New("wire: bad TPDU")
)

// Framing is how a listener delimits messages on a stream: the length
// header (Header "len2": 2-byte big-endian; "ascii4": 4 ASCII decimal
// digits), optionally followed by a 5-byte TPDU (60 DDDD SSSS). The length
// counts everything after the header, TPDU included.
type Framing struct {
	Header string // "len2" | "ascii4"
	TPDU   bool
}

// ParseFraming parses "len2", "ascii4", "len2+tpdu" or "ascii4+tpdu".
func ParseFraming(s string) (Framing, error) {
	h, tpdu := strings.CutSuffix(s, tpduSuffix)
	if h != headerLen2 && h != headerASCII4 {
		return Framing{}, fmt.Errorf("wire: unknown framing %q (want len2, ascii4, len2+tpdu or ascii4+tpdu)", s)
	}
	return Framing{Header: h, TPDU: tpdu}, nil
}

// String returns the form ParseFraming reads.
func (f Framing) String() string {
	if f.TPDU {
		return f.Header + tpduSuffix
	}
	return f.Header
}

func (f Framing) headerLen() int {
	switch f.Header {
	case headerLen2:
		return 2
	case headerASCII4:
		return 4
	}
	return 0
}

// ReadFrame reads one frame from r and returns the message bytes and, with
// TPDU framing, the 5 TPDU bytes (nil without).
//
// Aliasing: when cap(buf) is at least the frame's length, tpdu and msg are
// slices of buf (no allocation); otherwise they are freshly allocated. Either
// way they are valid only until buf is reused, e.g. by the next ReadFrame
// with the same buf. Unpack copies what it keeps, so a Message never aliases
// buf. A buf of MaxFrameBytes always suffices.
//
// Errors: io.EOF when r ends cleanly before a header; io.ErrUnexpectedEOF
// when it ends inside a frame; ErrBadHeader (ascii4 header not 4 digits),
// ErrZeroLength, ErrFrameTooLong (length above MaxFrameBytes), ErrBadTPDU
// (a length below 5 with TPDU framing, or a first TPDU byte other than
// 0x60; checked before the rest of the frame is read); any other error of r
// as it is (e.g. a timeout). The header and TPDU are read before the
// message: wrap a network connection in a bufio.Reader to read a frame with
// one system call.
func (f Framing) ReadFrame(r io.Reader, buf []byte) (tpdu []byte, msg []byte, err error) {
	hl := f.headerLen()
	if hl == 0 {
		return nil, nil, fmt.Errorf("wire: ReadFrame: invalid framing %q", f.String())
	}
	hdr := buf
	if cap(hdr) < hl {
		hdr = make([]byte, hl)
	}
	hdr = hdr[:hl]
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, nil, err // io.EOF before any byte, io.ErrUnexpectedEOF inside
	}
	n, err := f.bodyLen(hdr)
	if err != nil {
		return nil, nil, err
	}

	body := buf
	if cap(body) < n {
		body = make([]byte, n)
	}
	body = body[:n]
	rest := body
	if f.TPDU {
		if err := readBody(r, body[:tpduLen]); err != nil {
			return nil, nil, err
		}
		if err := checkTPDU(body); err != nil {
			return nil, nil, err
		}
		tpdu, rest = body[:tpduLen:tpduLen], body[tpduLen:]
	}
	if err := readBody(r, rest); err != nil {
		return nil, nil, err
	}
	return tpdu, rest, nil
}

// CutFrame cuts the first frame off b, bytes of a stream already in
// memory (a connection's read buffer): the same frames, checks and
// errors as ReadFrame, without a copy.
//
// size is what the frame needs of b, header included. When b holds all
// of it (len(b) >= size), tpdu (nil without TPDU framing) and msg are
// slices of b and the next frame starts at b[size:]. Otherwise tpdu and
// msg are nil and size is how much of b the next step needs: the header
// first, then (with TPDU framing) the TPDU, then the whole frame, so
// that, as with ReadFrame, a bad header or TPDU is an error before the
// rest of the frame is waited for.
func (f Framing) CutFrame(b []byte) (tpdu, msg []byte, size int, err error) {
	hl := f.headerLen()
	if hl == 0 {
		return nil, nil, 0, fmt.Errorf("wire: CutFrame: invalid framing %q", f.String())
	}
	if len(b) < hl {
		return nil, nil, hl, nil
	}
	n, err := f.bodyLen(b[:hl])
	if err != nil {
		return nil, nil, 0, err
	}
	body := b[hl:]
	if f.TPDU {
		if len(body) < tpduLen {
			return nil, nil, hl + tpduLen, nil
		}
		if err := checkTPDU(body); err != nil {
			return nil, nil, 0, err
		}
	}
	if len(body) < n {
		return nil, nil, hl + n, nil
	}
	body = body[:n:n]
	if f.TPDU {
		return body[:tpduLen:tpduLen], body[tpduLen:], hl + n, nil
	}
	return nil, body, hl + n, nil
}

// bodyLen is the length a frame header announces (hdr is the whole
// header), checked against the framing's limits.
func (f Framing) bodyLen(hdr []byte) (int, error) {
	var n int
	if f.Header == headerLen2 {
		n = int(hdr[0])<<8 | int(hdr[1])
	} else {
		for _, c := range hdr {
			if c < '0' || c > '9' {
				return 0, ErrBadHeader
			}
			n = n*10 + int(c-'0')
		}
	}
	switch {
	case n == 0:
		return 0, ErrZeroLength
	case n > MaxFrameBytes:
		return 0, fmt.Errorf("%w (%d)", ErrFrameTooLong, n)
	case f.TPDU && n < tpduLen:
		return 0, fmt.Errorf("%w: frame of %d bytes cannot hold one", ErrBadTPDU, n)
	}
	return n, nil
}

// checkTPDU checks the first byte of a TPDU (b starts with it).
func checkTPDU(b []byte) error {
	if b[0] != tpduID {
		return fmt.Errorf("%w: first byte is not 0x60", ErrBadTPDU)
	}
	return nil
}

// readBody fills b; an end of stream is unexpected there.
func readBody(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendFrame appends the header, the TPDU (with TPDU framing) and msg to
// dst and returns the extended slice. Without TPDU framing tpdu is ignored.
//
// It panics on misuse that no peer input can cause: an invalid Framing, a
// tpdu that is not 5 bytes with TPDU framing, or a length the header cannot
// express (above 65535 for len2, 9999 for ascii4). It does not enforce
// MaxFrameBytes, which limits what the host accepts.
func (f Framing) AppendFrame(dst []byte, tpdu []byte, msg []byte) []byte {
	n := len(msg)
	if f.TPDU {
		if len(tpdu) != tpduLen {
			panic("wire: AppendFrame: TPDU framing needs a 5-byte tpdu")
		}
		n += tpduLen
	}
	switch f.Header {
	case headerLen2:
		if n > 0xFFFF {
			panic("wire: AppendFrame: message too long for a len2 header")
		}
		dst = append(dst, byte(n>>8), byte(n))
	case headerASCII4:
		if n > 9999 {
			panic("wire: AppendFrame: message too long for an ascii4 header")
		}
		dst = append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
	default:
		panic("wire: AppendFrame: invalid framing")
	}
	if f.TPDU {
		dst = append(dst, tpdu...)
	}
	return append(dst, msg...)
}

// SwapTPDU returns the TPDU of a response to a request with tpdu: 60 DDDD
// SSSS becomes 60 SSSS DDDD, in a new slice. It panics if tpdu is not 5
// bytes (ReadFrame never returns another size).
func SwapTPDU(tpdu []byte) []byte {
	if len(tpdu) != tpduLen {
		panic("wire: SwapTPDU: a TPDU is 5 bytes")
	}
	return []byte{tpdu[0], tpdu[3], tpdu[4], tpdu[1], tpdu[2]}
}
