package wire_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/cardcenter/cardcenter/internal/rig"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// TestTsharkReadsASCII is an independent check of the ascii packager and
// len2 framing: Wireshark's ISO 8583 dissector (tshark, apt package
// "tshark") must read the MTI, bitmaps and every field of our frames as we
// meant them. It is skipped where tshark is not installed.
//
// That dissector (4.0) reads field 35 as BCD even in ASCII mode, which
// misaligns what follows, and flags LLLVAR binary fields (55, 62) as
// malformed; the messages here avoid both. It prints fixed binary fields as
// upper-case hex with a stray trailing '`', which is trimmed.
func TestTsharkReadsASCII(t *testing.T) {
	rig.Require(t, "tshark", "tshark", "text2pcap")
	cardNotPresent := wire.NewMessage("0200").
		Set(2, pan).Set(3, "000000").Set(4, "000000001250").Set(7, "1123143015").Set(11, "000126").
		Set(14, "2812").Set(22, "012").Set(25, "00").Set(41, tid).Set(42, mid).Set(49, "156").
		Set(52, pin).Set(60, "000001").Set(64, mac64)
	msgs := []*wire.Message{cardNotPresent, signOn(), approval(), void()}

	p := mustPackager(t, "ascii")
	var dump strings.Builder
	for _, m := range msgs {
		packed, err := p.Pack(m)
		if err != nil {
			t.Fatal(err)
		}
		frame := wire.Framing{Header: "len2"}.AppendFrame(nil, nil, packed)
		for off := 0; off < len(frame); off += 16 { // text2pcap's hex dump: each packet from offset 0
			fmt.Fprintf(&dump, "%06x %s\n", off, spaced(frame[off:min(off+16, len(frame))]))
		}
	}
	dir := t.TempDir()
	txt, pcap := filepath.Join(dir, "frames.txt"), filepath.Join(dir, "frames.pcap")
	if err := os.WriteFile(txt, []byte(dump.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("text2pcap", "-q", "-T", "40000,8583", txt, pcap).CombinedOutput(); err != nil {
		t.Fatalf("text2pcap: %v\n%s", err, out)
	}
	cmd := exec.Command("tshark", "-r", pcap, "-d", "tcp.port==8583,iso8583",
		"-o", "iso8583.len_endian:Big endian", "-o", "iso8583.binencode:Bin data not encoded",
		"-T", "json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var packets []struct {
		Source struct {
			Layers map[string]json.RawMessage `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &packets); err != nil {
		t.Fatalf("tshark JSON: %v", err)
	}
	if len(packets) != len(msgs) {
		t.Fatalf("tshark read %d packets, want %d", len(packets), len(msgs))
	}
	for i, pkt := range packets {
		m := msgs[i]
		if _, bad := pkt.Source.Layers["_ws.malformed"]; bad {
			t.Errorf("message %d (%s): tshark says malformed", i, m.MTI)
		}
		var layer map[string]any
		if err := json.Unmarshal(pkt.Source.Layers["iso8583"], &layer); err != nil {
			t.Fatalf("message %d: no iso8583 layer: %v", i, err)
		}
		got := map[string]string{}
		for k, v := range layer {
			if s, ok := v.(string); ok && strings.HasPrefix(k, "iso8583.") {
				got[strings.TrimPrefix(k, "iso8583.")] = s
			}
		}
		want := map[string]string{"mti": m.MTI, "len": got["len"], "map1": bitmapHex(m, 0)}
		if sec := bitmapHex(m, 1); sec != "0000000000000000" {
			want["map2"] = sec
			want["bit1"] = got["bit1"] // the dissector's flag for it
		}
		for n, v := range m.Fields {
			if n == 52 || n == 64 || n == 128 {
				v = strings.ToUpper(hex.EncodeToString([]byte(v)))
				got[fmt.Sprintf("bit%d", n)] = strings.TrimSuffix(got[fmt.Sprintf("bit%d", n)], "`")
			}
			want[fmt.Sprintf("bit%d", n)] = v
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("message %d (%s): tshark %s = %q, want %q", i, m.MTI, k, got[k], w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("message %d (%s): tshark found %s = %q, which we did not send", i, m.MTI, k, got[k])
			}
		}
	}
}

func spaced(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(s, " ")
}

// bitmapHex computes bitmap w (0 primary, 1 secondary) of m from its field
// numbers alone, in lower-case hex as tshark prints it.
func bitmapHex(m *wire.Message, w int) string {
	var bm [2]uint64
	for n := range m.Fields {
		bm[(n-1)/64] |= 1 << (63 - (n-1)%64)
	}
	if bm[1] != 0 {
		bm[0] |= 1 << 63
	}
	return fmt.Sprintf("%016x", bm[w])
}
