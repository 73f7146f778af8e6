package wire

import (
	"fmt"
	"strings"
)

// line.go: the serial line framing of contract-style POS serial links,
// STX LEN(2) MSG ETX LRC, and the assembler that finds such frames in a
// noisy byte stream. The ACK/NAK link protocol on top is package line.

// Control bytes of the serial line.
const (
	STX = 0x02
	ETX = 0x03
	ACK = 0x06
	NAK = 0x15
)

// Length encodings of the serial line's 2-byte length field.
const (
	LineLengthBCD    = "bcd"    // 4 packed BCD digits: 0x01 0x23 = 123 bytes
	LineLengthBinary = "binary" // unsigned big-endian: 0x00 0x7B = 123 bytes
	lineOverhead     = 5        // STX, 2 length bytes, ETX, LRC
	linePrefix       = "stx-"
)

// MaxLineFrameBytes is the longest serial frame: a MaxFrameBytes message
// with its STX, length, ETX and LRC.
const MaxLineFrameBytes = MaxFrameBytes + lineOverhead

// LineFraming is a serial listener's framing: the encoding of the 2-byte
// length (LineLengthBCD, the default, or LineLengthBinary) and whether a
// 5-byte TPDU precedes the message (as the TCP framings' "+tpdu"). The
// length counts the message, TPDU included; the LRC is the XOR of every
// byte after STX up to and including ETX.
type LineFraming struct {
	Length string
	TPDU   bool
}

// DefaultLineFraming is "stx-bcd": UnionPay-style serial POS terminals
// send a BCD length.
const DefaultLineFraming = "stx-bcd"

// ParseLineFraming parses "stx-bcd", "stx-binary", "stx-bcd+tpdu" or
// "stx-binary+tpdu".
func ParseLineFraming(s string) (LineFraming, error) {
	h, tpdu := strings.CutSuffix(s, tpduSuffix)
	enc, ok := strings.CutPrefix(h, linePrefix)
	if !ok || (enc != LineLengthBCD && enc != LineLengthBinary) {
		return LineFraming{}, fmt.Errorf("wire: unknown serial framing %q (want stx-bcd, stx-binary, stx-bcd+tpdu or stx-binary+tpdu)", s)
	}
	return LineFraming{Length: enc, TPDU: tpdu}, nil
}

// String returns the form ParseLineFraming reads.
func (f LineFraming) String() string {
	s := linePrefix + f.Length
	if f.TPDU {
		s += tpduSuffix
	}
	return s
}

// Stream is the stream framing that carries the same payloads (TPDU and
// message) as len2 records: a serial line handed to code written for
// streams (the gateway's connection loop, the terminal's Client) reads
// and writes those.
func (f LineFraming) Stream() Framing { return Framing{Header: headerLen2, TPDU: f.TPDU} }

// AppendLineFrame appends STX, the length of payload, payload, ETX and
// the LRC to dst. It panics on an empty payload or one longer than
// MaxFrameBytes, which no caller passes (the stream framing below it
// rejects both), and on an invalid LineFraming.
func (f LineFraming) AppendLineFrame(dst, payload []byte) []byte {
	n := len(payload)
	if n == 0 || n > MaxFrameBytes {
		panic("wire: AppendLineFrame: payload of 1..4096 bytes")
	}
	var hi, lo byte
	switch f.Length {
	case LineLengthBCD:
		hi, lo = byte(n/1000<<4|n/100%10), byte(n/10%10<<4|n%10)
	case LineLengthBinary:
		hi, lo = byte(n>>8), byte(n)
	default:
		panic("wire: AppendLineFrame: invalid serial framing")
	}
	start := len(dst)
	dst = append(dst, STX, hi, lo)
	dst = append(dst, payload...)
	dst = append(dst, ETX)
	return append(dst, LRC(dst[start+1:]))
}

// LRC is the XOR of b.
func LRC(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

// lineLength decodes a length field; ok is false for a non-BCD nibble.
func (f LineFraming) lineLength(hi, lo byte) (int, bool) {
	if f.Length == LineLengthBinary {
		return int(hi)<<8 | int(lo), true
	}
	n := 0
	for _, nib := range [4]byte{hi >> 4, hi & 0xF, lo >> 4, lo & 0xF} {
		if nib > 9 {
			return 0, false
		}
		n = n*10 + int(nib)
	}
	return n, true
}

// LineEventKind is what the assembler found next.
type LineEventKind int

// Kinds of LineEvent.
const (
	LineNeedMore LineEventKind = iota // no complete item buffered
	LineFrame                         // a well-formed frame: ACK it
	LineBadLRC                        // a frame whose LRC is wrong: NAK it
	LineACK                           // an ACK byte between frames
	LineNAK                           // a NAK byte between frames
)

func (k LineEventKind) String() string {
	return [...]string{"need-more", "frame", "bad-lrc", "ack", "nak"}[k]
}

// LineEvent is one step of the assembler. Discarded counts the bytes
// dropped as line noise before it (bytes outside frames, a false STX with
// an impossible length or no ETX where the length says). Payload (for
// LineFrame) is a fresh copy: TPDU and message.
type LineEvent struct {
	Kind      LineEventKind
	Payload   []byte
	Discarded int
}

// LineAssembler cuts a serial byte stream into frames and control bytes.
// It buffers at most MaxLineFrameBytes plus what one Push adds; a
// partial frame waits for more bytes until the owner calls Expire (the
// frame timeout). Resynchronisation: whenever a candidate frame cannot
// be one (a length that is not BCD, zero or above MaxFrameBytes, no ETX
// where the length ends), its STX is dropped as noise and the search
// for the next STX starts at the byte after it, so a frame cut mid-way
// and followed by a whole one loses only the cut one.
type LineAssembler struct {
	f   LineFraming
	buf []byte
}

// NewLineAssembler returns an empty assembler for framing f.
func NewLineAssembler(f LineFraming) *LineAssembler {
	return &LineAssembler{f: f, buf: make([]byte, 0, 2*MaxLineFrameBytes)}
}

// Push appends bytes read from the line. The caller drains with Next
// after every Push, which keeps the buffer within its bound.
func (a *LineAssembler) Push(b []byte) { a.buf = append(a.buf, b...) }

// Buffered is the number of bytes held (a partial frame, when not zero
// after Next returned LineNeedMore).
func (a *LineAssembler) Buffered() int { return len(a.buf) }

// Reset drops everything buffered (after the device was reopened).
func (a *LineAssembler) Reset() { a.buf = a.buf[:0] }

// Expire gives up on the partial frame at the head of the buffer: its STX
// is dropped as noise (counted in the next event's Discarded, along with
// what Next then skips) and the rest is searched again.
func (a *LineAssembler) Expire() int {
	if len(a.buf) == 0 {
		return 0
	}
	a.consume(1)
	return 1
}

func (a *LineAssembler) consume(n int) {
	k := copy(a.buf, a.buf[n:])
	a.buf = a.buf[:k]
}

// Next returns the next item in the buffer, or LineNeedMore.
func (a *LineAssembler) Next() LineEvent {
	dropped := 0
	for len(a.buf) > 0 {
		switch a.buf[0] {
		case ACK:
			a.consume(1)
			return LineEvent{Kind: LineACK, Discarded: dropped}
		case NAK:
			a.consume(1)
			return LineEvent{Kind: LineNAK, Discarded: dropped}
		case STX:
		default:
			i := 1
			for i < len(a.buf) && a.buf[i] != STX && a.buf[i] != ACK && a.buf[i] != NAK {
				i++
			}
			a.consume(i)
			dropped += i
			continue
		}
		if len(a.buf) < 3 {
			break
		}
		n, ok := a.f.lineLength(a.buf[1], a.buf[2])
		if !ok || n == 0 || n > MaxFrameBytes {
			a.consume(1)
			dropped++
			continue
		}
		total := n + lineOverhead
		if len(a.buf) < total {
			break // a partial frame: more bytes, or Expire
		}
		if a.buf[3+n] != ETX {
			a.consume(1)
			dropped++
			continue
		}
		if LRC(a.buf[1:4+n]) != a.buf[4+n] {
			a.consume(total)
			return LineEvent{Kind: LineBadLRC, Discarded: dropped}
		}
		p := append([]byte(nil), a.buf[3:3+n]...)
		a.consume(total)
		return LineEvent{Kind: LineFrame, Payload: p, Discarded: dropped}
	}
	return LineEvent{Kind: LineNeedMore, Discarded: dropped}
}
