package wire_test

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// A typical 0200 purchase (the purchase vector: 12 fields with track 2 and
// a MAC), per packager.

func BenchmarkPack(b *testing.B) {
	for _, name := range wire.Packagers {
		b.Run(name, func(b *testing.B) {
			p := mustPackager(b, name)
			m := purchase()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Pack(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnpack(b *testing.B) {
	for _, name := range wire.Packagers {
		b.Run(name, func(b *testing.B) {
			p := mustPackager(b, name)
			in, err := p.Pack(purchase())
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Unpack(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadFrame reads len2+tpdu frames from a buffered stream into a
// reused buffer, as a connection loop does.
func BenchmarkReadFrame(b *testing.B) {
	f := wire.Framing{Header: "len2", TPDU: true}
	msg, _ := mustPackager(b, "bcd").Pack(purchase())
	frame := f.AppendFrame(nil, []byte{0x60, 0, 1, 0, 2}, msg)
	stream := bytes.Repeat(frame, 1000)
	buf := make([]byte, wire.MaxFrameBytes)
	rd := bytes.NewReader(stream)
	br := bufio.NewReader(rd)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			rd.Reset(stream)
			br.Reset(rd)
		}
		if _, _, err := f.ReadFrame(br, buf); err != nil {
			b.Fatal(err)
		}
	}
}
