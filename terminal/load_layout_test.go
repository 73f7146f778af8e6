package terminal

import (
	"errors"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// FuzzScanMessage: the load generator's reading of a packed message
// (msgLayout.scan, decodeField, keyOf) agrees with wire's Unpack on any
// input, for every packager: data[0] picks the packager, the rest is the
// message. Either both refuse it, or scan finds the same MTI and
// exactly the fields Unpack finds, each with the value Unpack gives, and
// an answer is matched by the bytes of fields 11 and 41 exactly when
// their values are those of the request.
func FuzzScanMessage(f *testing.F) {
	addSeeds(f, "FuzzScanMessage")
	var pks [3]wire.Packager
	var layouts [3]*msgLayout
	for i, name := range wire.Packagers {
		pks[i] = mustPackager(f, name)
		var err error
		if layouts[i], err = layoutOf(name); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		pk, l, msg := pks[int(data[0])%3], layouts[int(data[0])%3], data[1:]
		m, uerr := pk.Unpack(msg)
		var s scannedMsg
		serr := l.scan(msg, &s)
		if (uerr == nil) != (serr == nil) {
			t.Fatalf("%s: Unpack says %v, scan says %v", pk.Name(), uerr, serr)
		}
		if serr != nil {
			var es *errScan
			if !errors.As(serr, &es) {
				t.Fatalf("scan error %T", serr)
			}
			return
		}
		if string(s.mti[:]) != m.MTI {
			t.Fatalf("%s: MTI %q, Unpack's %q", pk.Name(), s.mti[:], m.MTI)
		}
		for n := 2; n <= 128; n++ {
			v, ok := l.decodeField(msg, &s, n)
			uv, uok := m.Get(n)
			if ok != uok || v != uv {
				t.Fatalf("%s: field %d present %v, Unpack %v; values equal %v", pk.Name(), n, ok, uok, v == uv)
			}
		}
		// Matching: the key of the message equals the key of a request
		// packed with the same 11 and 41, and only then.
		stan, ok11 := m.Get(11)
		tid, ok41 := m.Get(41)
		k, ok := keyOf(msg, &s)
		if ok != (ok11 && ok41 && len(tid) == 8) {
			t.Fatalf("%s: key %v with 11 %v and 41 %v", pk.Name(), ok, ok11, ok41)
		}
		if !ok || !cardDigits(stan) {
			return
		}
		req, err := pk.Pack(wire.NewMessage("0800").Set(11, stan).Set(41, tid).Set(7, "0000000000").Set(70, "301"))
		if err != nil {
			t.Fatal(err)
		}
		var rs scannedMsg
		if err := l.scan(req, &rs); err != nil {
			t.Fatal(err)
		}
		if rk, _ := keyOf(req, &rs); rk != k {
			t.Fatalf("%s: a request with the answer's 11 and 41 has another key", pk.Name())
		}
	})
}

// cardDigits says whether s is decimal digits (a STAN a request can have).
func cardDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// TestScanRefusesWhatUnpackRefuses: the malformations the contract lists
// (section 1) are refused by the answer reader as by Unpack, and named
// without a value.
func TestScanRefusesWhatUnpackRefuses(t *testing.T) {
	pk := mustPackager(t, "ascii")
	l, _ := layoutOf("ascii")
	good, err := pk.Pack(wire.NewMessage("0210").Set(11, "000001").Set(39, "00").Set(41, "T0000001").Set(54, "0001156C000000001000"))
	if err != nil {
		t.Fatal(err)
	}
	var s scannedMsg
	if err := l.scan(good, &s); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"trailing byte":   append(append([]byte{}, good...), '0'),
		"cut short":       good[:len(good)-1],
		"letter in MTI":   append([]byte("02A0"), good[4:]...),
		"unknown field 5": func() []byte { c := append([]byte{}, good...); c[4] |= 0x08; return c }(),
		"bad LLL prefix":  func() []byte { c := append([]byte{}, good...); c[len(c)-23] = 'x'; return c }(),
	} {
		_, uerr := pk.Unpack(b)
		err := l.scan(b, &s)
		if uerr == nil || err == nil {
			t.Errorf("%s: Unpack %v, scan %v", name, uerr, err)
		}
	}
}

// BenchmarkLoadAnswer: an approved purchase's answer read the load
// generator's way (scan, the key, field 39) and unpacked (what the
// Client did).
func BenchmarkLoadAnswer(b *testing.B) {
	pk := mustPackager(b, "ascii")
	l, _ := layoutOf("ascii")
	msg, err := pk.Pack(wire.NewMessage("0210").Set(3, "000000").Set(4, "000000004711").Set(7, "1201101010").Set(11, "004711").
		Set(37, "000000000123").Set(38, "A1B2C3").Set(39, "00").Set(41, "B0000001").Set(42, "BENCH0000000000").
		Set(49, "156").Set(54, "0001156C0000000100000002156C0000000100009002999C000000000125").Set(60, "000001"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		var s scannedMsg
		b.ReportAllocs()
		for b.Loop() {
			if err := l.scan(msg, &s); err != nil {
				b.Fatal(err)
			}
			if _, ok := keyOf(msg, &s); !ok || string(s.field(msg, 39)) != RCApproved {
				b.Fatal("no key or not approved")
			}
		}
	})
	b.Run("unpack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := pk.Unpack(msg)
			if err != nil || m.Fields[39] != RCApproved {
				b.Fatal(err)
			}
		}
	})
}
