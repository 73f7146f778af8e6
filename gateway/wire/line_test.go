package wire_test

import (
	"bytes"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

func TestParseLineFraming(t *testing.T) {
	for _, s := range []string{"stx-bcd", "stx-binary", "stx-bcd+tpdu", "stx-binary+tpdu"} {
		f, err := wire.ParseLineFraming(s)
		if err != nil || f.String() != s {
			t.Errorf("%s: %v, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "stx", "len2", "stx-ascii", "bcd", "stx-bcd+tpd"} {
		if _, err := wire.ParseLineFraming(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	if f, _ := wire.ParseLineFraming("stx-bcd+tpdu"); f.Stream() != (wire.Framing{Header: "len2", TPDU: true}) {
		t.Errorf("stream framing %v", f.Stream())
	}
}

func TestLineFrameBytes(t *testing.T) {
	bcd, _ := wire.ParseLineFraming("stx-bcd")
	bin, _ := wire.ParseLineFraming("stx-binary")
	payload := bytes.Repeat([]byte{'A'}, 123)
	got := bcd.AppendLineFrame(nil, payload)
	if got[0] != wire.STX || got[1] != 0x01 || got[2] != 0x23 || got[126] != wire.ETX || len(got) != 128 {
		t.Fatalf("bcd frame head % x tail % x", got[:3], got[125:])
	}
	if lrc := wire.LRC(got[1:127]); got[127] != lrc {
		t.Fatalf("LRC %02x, want %02x", got[127], lrc)
	}
	got = bin.AppendLineFrame(nil, payload)
	if got[1] != 0x00 || got[2] != 0x7B {
		t.Fatalf("binary length % x", got[1:3])
	}
}

// TestLineAssemblerNoise: garbage between frames, control bytes, a frame
// cut mid-way then a whole one, a bad LRC, and every split of the stream
// into reads give the same events.
func TestLineAssemblerNoise(t *testing.T) {
	f, _ := wire.ParseLineFraming("stx-bcd")
	one, two := []byte("0800 first"), []byte("0200 second")
	good1, good2 := f.AppendLineFrame(nil, one), f.AppendLineFrame(nil, two)
	bad := f.AppendLineFrame(nil, []byte("corrupted"))
	bad[5] ^= 0x40
	var stream []byte
	stream = append(stream, 'x', 'y', 0xFF)       // 3 garbage
	stream = append(stream, good1...)             // frame
	stream = append(stream, wire.ACK)             // ack
	stream = append(stream, good2[:7]...)         // cut: resync drops its STX and 6 more
	stream = append(stream, good2...)             // frame
	stream = append(stream, bad...)               // bad-lrc
	stream = append(stream, wire.STX, 0xAB, 0x00) // not BCD: dropped
	stream = append(stream, wire.NAK)             // nak
	want := []string{"frame:0800 first/3", "ack/0", "frame:0200 second/7", "bad-lrc/0", "nak/3"}
	for chunk := 1; chunk <= len(stream); chunk++ {
		a := wire.NewLineAssembler(f)
		var got []string
		for i := 0; i < len(stream); i += chunk {
			a.Push(stream[i:min(i+chunk, len(stream))])
			for {
				ev := a.Next()
				if ev.Kind == wire.LineNeedMore {
					if ev.Discarded != 0 {
						got = append(got, "drop/"+itoa(ev.Discarded))
					}
					break
				}
				s := ev.Kind.String()
				if ev.Kind == wire.LineFrame {
					s += ":" + string(ev.Payload)
				}
				got = append(got, s+"/"+itoa(ev.Discarded))
			}
		}
		if got := mergeDrops(got); !equalStrings(got, want) {
			t.Fatalf("chunk %d: %v, want %v", chunk, got, want)
		}
	}
}

// TestLineAssemblerExpire: a cut frame followed by silence is given up on
// by Expire, and the frame after it is found.
func TestLineAssemblerExpire(t *testing.T) {
	f, _ := wire.ParseLineFraming("stx-binary")
	good := f.AppendLineFrame(nil, []byte("after"))
	a := wire.NewLineAssembler(f)
	a.Push([]byte{wire.STX, 0x01, 0x00, 'c', 'u', 't'}) // announces 256 bytes
	if ev := a.Next(); ev.Kind != wire.LineNeedMore || a.Buffered() != 6 {
		t.Fatalf("partial: %v, %d buffered", ev.Kind, a.Buffered())
	}
	a.Push(good)
	if ev := a.Next(); ev.Kind != wire.LineNeedMore {
		t.Fatalf("inside the cut frame's length: %v", ev.Kind)
	}
	if a.Expire() != 1 {
		t.Fatal("Expire dropped nothing")
	}
	ev := a.Next()
	if ev.Kind != wire.LineFrame || string(ev.Payload) != "after" || ev.Discarded != 5 {
		t.Fatalf("after expiry: %v %q discarded %d", ev.Kind, ev.Payload, ev.Discarded)
	}
}

// FuzzLineAssembler: any bytes, pushed in any split, never panic, keep
// the buffer bounded, and every frame found re-encodes to bytes that were
// in the input; a valid frame appended after any noise and a silence
// (Expire until empty) is always found.
func FuzzLineAssembler(f *testing.F) {
	fuzzseed.Add(f, f.Name())
	fr, _ := wire.ParseLineFraming("stx-bcd")
	marker := fr.AppendLineFrame(nil, []byte("0800 marker"))
	f.Fuzz(func(t *testing.T, data []byte) {
		split := 1
		if len(data) > 0 {
			split = int(data[0])%64 + 1
		}
		for _, name := range []string{"stx-bcd", "stx-binary"} {
			lf, _ := wire.ParseLineFraming(name)
			a := wire.NewLineAssembler(lf)
			drain := func() (frames [][]byte) {
				for {
					ev := a.Next()
					if a.Buffered() > wire.MaxLineFrameBytes+64 {
						t.Fatalf("%s: %d bytes buffered", name, a.Buffered())
					}
					switch ev.Kind {
					case wire.LineNeedMore:
						return frames
					case wire.LineFrame:
						enc := lf.AppendLineFrame(nil, ev.Payload)
						if !bytes.Contains(data, enc) && !bytes.Contains(marker, enc) {
							t.Fatalf("%s: frame not in the input", name)
						}
						frames = append(frames, ev.Payload)
					}
				}
			}
			for i := 0; i < len(data); i += split {
				a.Push(data[i:min(i+split, len(data))])
				drain()
			}
			for a.Buffered() > 0 { // the frame timeout passes
				a.Expire()
				drain()
			}
			if name == "stx-bcd" {
				a.Push(marker)
				got := drain()
				if len(got) != 1 || string(got[0]) != "0800 marker" {
					t.Fatalf("frame after noise not found: %q", got)
				}
			}
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// mergeDrops folds "drop/N" (noise reported while waiting for more bytes)
// into the next event's count, so that every read split compares equal.
func mergeDrops(evs []string) []string {
	var out []string
	carry := 0
	for _, e := range evs {
		var name string
		var n int
		for i := len(e) - 1; i >= 0; i-- {
			if e[i] == '/' {
				name = e[:i]
				for _, c := range e[i+1:] {
					n = n*10 + int(c-'0')
				}
				break
			}
		}
		if name == "drop" {
			carry += n
			continue
		}
		out = append(out, name+"/"+itoa(n+carry))
		carry = 0
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
