package wire_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// Seed corpora live in the repository's shared testdata/fuzz/<FuzzName>
// (house rule 10), in Go's corpus file format. Go reads testdata/fuzz only
// inside the package directory, so the targets add them with f.Add; new
// failures found by `go test -fuzz` still land in ./testdata/fuzz here and
// belong in the shared directory once fixed.
//
// TestFuzzSeeds checks that the seeds derived from the vectors are there;
// `go test ./gateway/wire -run TestFuzzSeeds -write-fuzz-seeds` rewrites them.

var writeSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed corpora under testdata/fuzz")

const corpusRoot = "../../testdata/fuzz"

func FuzzUnpackASCII(f *testing.F)     { fuzzUnpack(f, "ascii") }
func FuzzUnpackHexBitmap(f *testing.F) { fuzzUnpack(f, "ascii-hexbitmap") }
func FuzzUnpackBCD(f *testing.F)       { fuzzUnpack(f, "bcd") }

// fuzzUnpack: Unpack never panics; its errors are ErrMalformed in the safe
// vocabulary; whatever unpacks packs, and Unpack→Pack→Unpack is stable;
// UnpackInto a message that held another gives what Unpack gives.
func fuzzUnpack(f *testing.F, name string) {
	fuzzseed.Add(f, f.Name())
	p := mustPackager(f, name)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := p.Unpack(data)
		if err != nil {
			if m != nil || !errors.Is(err, wire.ErrMalformed) || !safeError.MatchString(err.Error()) {
				t.Fatalf("Unpack error %q (message %v)", err, m != nil)
			}
			if err := p.UnpackInto(data, wire.NewMessage("0800").Set(11, "000001")); err == nil {
				t.Fatal("UnpackInto accepted what Unpack refused")
			}
			return
		}
		reused := wire.NewMessage("9999").Set(2, "stale").Set(11, "stale").Set(128, "stale")
		if err := p.UnpackInto(data, reused); err != nil || !equalMessages(m, reused) {
			t.Fatalf("UnpackInto into a used message differs from Unpack (%v)", err)
		}
		if m.Has(1) || len(m.MTI) != 4 {
			t.Fatalf("Unpack gave MTI %q, field 1 %v", m.MTI, m.Has(1))
		}
		b, err := p.Pack(m)
		if err != nil {
			t.Fatalf("Pack of an unpacked message: %v", err)
		}
		m2, err := p.Unpack(b)
		if err != nil {
			t.Fatalf("Unpack of a repacked message: %v", err)
		}
		if !equalMessages(m, m2) {
			t.Fatalf("Unpack→Pack→Unpack changed the message")
		}
		if b2, err := p.Pack(m2); err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("Pack is not stable (%v)", err)
		}
		// In ascii every byte survives, but for an empty secondary
		// bitmap, which Pack drops.
		if name == "ascii" && !bytes.Equal(b, data) && !(data[4]&0x80 != 0 && bytes.Equal(data[12:20], make([]byte, 8))) {
			t.Fatalf("ascii repack differs from the input")
		}
	})
}

var fuzzFramings = [4]wire.Framing{
	{Header: "len2"}, {Header: "ascii4"}, {Header: "len2", TPDU: true}, {Header: "ascii4", TPDU: true},
}

// FuzzReadFrame: data[0] picks the framing (bits 0–1) and a buffer too
// small for most frames (bit 2); the rest is the stream. Frames read until
// an error never panic, re-frame to exactly the bytes consumed, and the
// errors are the documented ones.
func FuzzReadFrame(f *testing.F) {
	fuzzseed.Add(f, f.Name())
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		fr := fuzzFramings[data[0]&3]
		buf := make([]byte, wire.MaxFrameBytes)
		if data[0]&4 != 0 {
			buf = make([]byte, 8)
		}
		stream := data[1:]
		r := bytes.NewReader(stream)
		for range 64 {
			start := len(stream) - r.Len()
			tpdu, msg, err := fr.ReadFrame(r, buf)
			if err != nil {
				switch {
				case err == io.EOF:
					if start != len(stream) {
						t.Fatalf("io.EOF with %d bytes unread", len(stream)-start)
					}
				case err == io.ErrUnexpectedEOF,
					errors.Is(err, wire.ErrFrameTooLong), errors.Is(err, wire.ErrZeroLength),
					errors.Is(err, wire.ErrBadHeader), errors.Is(err, wire.ErrBadTPDU):
				default:
					t.Fatalf("undocumented error %v", err)
				}
				return
			}
			n := len(tpdu) + len(msg)
			if n == 0 || n > wire.MaxFrameBytes || (fr.TPDU && (len(tpdu) != 5 || tpdu[0] != 0x60)) || (!fr.TPDU && tpdu != nil) {
				t.Fatalf("frame of %d bytes, tpdu % X", n, tpdu)
			}
			consumed := stream[start : len(stream)-r.Len()]
			if again := fr.AppendFrame(nil, tpdu, msg); !bytes.Equal(again, consumed) {
				t.Fatalf("re-framed % X, read % X", again, consumed)
			}
		}
	})
}

// FuzzCutFrame: CutFrame, which cuts frames out of bytes in memory,
// agrees with ReadFrame, the reference, over the same stream (data as in
// FuzzReadFrame, whose seeds it shares): the same frames and errors, and
// on every prefix of a frame either a need beyond the prefix or, once the
// prefix shows it, the same error or frame.
func FuzzCutFrame(f *testing.F) {
	fuzzseed.Add(f, "FuzzReadFrame")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		fr := fuzzFramings[data[0]&3]
		stream := data[1:]
		r := bytes.NewReader(stream)
		for range 64 {
			start := len(stream) - r.Len()
			tpdu, msg, err := fr.ReadFrame(r, make([]byte, wire.MaxFrameBytes))
			rest := stream[start:]
			for k := 0; k <= len(rest); k++ {
				ct, cm, size, cerr := fr.CutFrame(rest[:k])
				switch {
				case cerr != nil:
					if err == nil || cerr.Error() != err.Error() {
						t.Fatalf("CutFrame of %d bytes: %v; ReadFrame: %v", k, cerr, err)
					}
				case size > k:
					if ct != nil || cm != nil {
						t.Fatalf("CutFrame of %d bytes: incomplete (size %d) with a frame", k, size)
					}
					if k == len(rest) && err != io.EOF && err != io.ErrUnexpectedEOF {
						t.Fatalf("CutFrame wants %d of %d bytes; ReadFrame: %v", size, k, err)
					}
				default:
					if err != nil || !bytes.Equal(ct, tpdu) || (ct == nil) != (tpdu == nil) || !bytes.Equal(cm, msg) {
						t.Fatalf("CutFrame of %d bytes: frame of %d bytes; ReadFrame: %v", k, size, err)
					}
					if consumed := len(rest) - r.Len(); size != consumed {
						t.Fatalf("CutFrame size %d, ReadFrame consumed %d", size, consumed)
					}
				}
				if cerr != nil || size <= k {
					break // what the prefix shows does not change with more bytes
				}
			}
			if err != nil {
				return
			}
		}
	})
}

// seeds returns the seed corpora: name of target → file name → value.
func seeds(t *testing.T) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	targets := map[string]string{"ascii": "FuzzUnpackASCII", "ascii-hexbitmap": "FuzzUnpackHexBitmap", "bcd": "FuzzUnpackBCD"}
	for _, v := range vectors {
		target := targets[v.packager]
		if out[target] == nil {
			out[target] = map[string][]byte{}
		}
		out[target]["vector-"+v.name] = v.want
		out[target]["truncated-"+v.name] = v.want[:len(v.want)/2]
		out[target]["trailing-"+v.name] = append(append([]byte(nil), v.want...), '0')
	}
	out["FuzzUnpackASCII"]["letter-in-n-field"] = cat(a("0200"), h("00 20 00 00 00 00 00 00"), a("00012A"))
	out["FuzzUnpackASCII"]["unknown-field-5"] = cat(a("0200"), h("08 00 00 00 00 00 00 00"), a("000000000000"))
	out["FuzzUnpackASCII"]["empty-secondary-bitmap"] = cat(a("0800"), h("A0 00 00 00 00 00 00 00"), h("00 00 00 00 00 00 00 00"), a("000000"))
	out["FuzzUnpackHexBitmap"]["lower-case-bitmap"] = cat(a("0200"), a("0000000000c00000"), a(tid), a(mid))
	out["FuzzUnpackBCD"]["hex-nibbles"] = cat(h("02 00"), h("00 00 00 00 20 00 00 00"), h("05"), h("12 DE 4F"))
	out["FuzzUnpackBCD"]["bad-lll-prefix"] = cat(h("02 10"), h("00 00 00 00 00 00 04 00"), h("0A 00"))

	fr := map[string][]byte{}
	msg, err := mustPackager(t, "ascii").Pack(purchase())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fuzzFramings {
		two := f.AppendFrame(f.AppendFrame(nil, []byte(tpduReq), msg), []byte(tpduReq), []byte("0800"))
		fr["two-frames-"+strings.ReplaceAll(f.String(), "+", "-")] = append([]byte{byte(i)}, two...)
		fr["small-buf-"+strings.ReplaceAll(f.String(), "+", "-")] = append([]byte{byte(i) | 4}, two...)
	}
	fr["zero-length"] = cat(h("00"), h("00 00"))
	fr["too-long"] = cat(h("01"), a("4097"))
	fr["bad-ascii4"] = cat(h("01"), a("00a5hello"))
	fr["bad-tpdu"] = cat(h("02"), h("00 0A 61 00 01 00 02"), a("hello"))
	fr["short-tpdu-frame"] = cat(h("03"), a("0004"), h("60 00 01 00"))
	fr["cut-mid-frame"] = cat(h("00"), h("00 20"), a("0200"))
	out["FuzzReadFrame"] = fr
	return out
}

func TestFuzzSeeds(t *testing.T) {
	for target, files := range seeds(t) {
		dir := filepath.Join(corpusRoot, target)
		if *writeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, data := range files {
			path := filepath.Join(dir, name)
			if *writeSeeds {
				if err := os.WriteFile(path, []byte(fuzzseed.Format(data)), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			content, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run with -write-fuzz-seeds)", err)
				continue
			}
			got, err := fuzzseed.Parse(string(content))
			if b, ok := got.([]byte); err != nil || !ok || !bytes.Equal(b, data) {
				t.Errorf("%s: stale seed (%v); run with -write-fuzz-seeds", path, err)
			}
		}
	}
}
