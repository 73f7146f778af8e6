package cardcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// Test components only; 0123…3210 is the classic test key whose KCV,
// 08D7B4, is published in every HSM manual.
const (
	testKeyHex = "0123456789ABCDEFFEDCBA9876543210"
	testKCV    = "08D7B4"
)

func TestKCVHexKnownAnswer(t *testing.T) {
	key, _ := hex.DecodeString(testKeyHex)
	if got, err := KCVHex(key); err != nil || got != testKCV {
		t.Fatalf("KCVHex = %q, %v; want %s", got, err, testKCV)
	}
}

func TestParseComponent(t *testing.T) {
	key, err := ParseComponent("c", testKeyHex, testKCV)
	if err != nil || hex.EncodeToString(key) != strings.ToLower(testKeyHex) {
		t.Fatalf("%x, %v", key, err)
	}
	if _, err := ParseComponent("c", strings.ToLower(testKeyHex), strings.ToLower(testKCV)); err != nil {
		t.Fatalf("lower case: %v", err)
	}
	for _, tc := range []struct{ name, key, kcv, field string }{
		{"no key", "", testKCV, "c.key"},
		{"short key", testKeyHex[:30], testKCV, "c.key"},
		{"long key", testKeyHex + "00", testKCV, "c.key"},
		{"not hex", "X" + testKeyHex[1:], testKCV, "c.key"},
		{"no kcv", testKeyHex, "", "c.kcv"},
		{"short kcv", testKeyHex, "08D7B", "c.kcv"},
		{"kcv not hex", testKeyHex, "08D7BG", "c.kcv"},
		{"wrong kcv", testKeyHex, "08D7B5", "c.kcv"},
	} {
		_, err := ParseComponent("c", tc.key, tc.kcv)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.name == "wrong kcv" != errors.Is(err, ErrKCVMismatch) {
			t.Errorf("%s: ErrKCVMismatch is %v", tc.name, errors.Is(err, ErrKCVMismatch))
		}
		if tc.key != "" && strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(tc.key[:16])) {
			t.Errorf("%s: error echoes the key: %v", tc.name, err)
		}
	}
}

func TestLoadComponents(t *testing.T) {
	c1 := "11111111111111112222222222222222"
	c2 := "0123456789ABCDEF0123456789ABCDEF"
	c3 := "FEDCBA9876543210FEDCBA9876543210"
	kcv := func(h string) string {
		b, _ := hex.DecodeString(h)
		k, _ := KCVHex(b)
		return k
	}
	want := make([]byte, KeyLen)
	for _, h := range []string{c1, c2, c3} {
		b, _ := hex.DecodeString(h)
		for i := range want {
			want[i] ^= b[i]
		}
	}
	AdjustParity(want)
	key, gotKCV, err := LoadComponents("components", [][2]string{{c1, kcv(c1)}, {c2, kcv(c2)}, {c3, kcv(c3)}})
	if err != nil || !bytes.Equal(key, want) {
		t.Fatalf("%x, %v", key, err)
	}
	if wantKCV, _ := KCVHex(want); gotKCV != wantKCV {
		t.Fatalf("kcv %s, want %s", gotKCV, wantKCV)
	}
	for _, tc := range []struct {
		name  string
		comps [][2]string
		field string
	}{
		{"one", [][2]string{{c1, kcv(c1)}}, "components"},
		{"four", [][2]string{{c1, kcv(c1)}, {c2, kcv(c2)}, {c3, kcv(c3)}, {testKeyHex, testKCV}}, "components"},
		{"second kcv wrong", [][2]string{{c1, kcv(c1)}, {c2, kcv(c3)}}, "components[1].kcv"},
		{"twice among three", [][2]string{{c1, kcv(c1)}, {c2, kcv(c2)}, {c1, kcv(c1)}}, "components[2].key"},
		{"equal halves", [][2]string{{c2, kcv(c2)}, {c3, kcv(c3)}}, "components"}, // c2^c3 = FFFF…: halves equal
	} {
		_, _, err := LoadComponents("components", tc.comps)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// FuzzParseComponent: the input is "KEY KCV" (a custodian's line).
// ParseComponent never panics, fails only with a *FieldError wrapping
// ErrBadKey that does not echo the key or check value, and a component it
// accepts is 16 bytes whose check value is the one given.
func FuzzParseComponent(f *testing.F) {
	fuzzseed.Add(f, "FuzzParseComponent")
	f.Fuzz(func(t *testing.T, line string) {
		hexKey, kcvHex, _ := strings.Cut(line, " ")
		key, err := ParseComponent("components[0]", hexKey, kcvHex)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrBadKey) || key != nil {
				t.Fatalf("%x, %v", key, err)
			}
			if fe.Field != "components[0].key" && fe.Field != "components[0].kcv" {
				t.Fatalf("field %q", fe.Field)
			}
			msg := strings.ToUpper(err.Error())
			if len(hexKey) >= 8 && strings.Contains(msg, strings.ToUpper(hexKey)) ||
				len(kcvHex) >= 6 && strings.Contains(msg, strings.ToUpper(kcvHex)) {
				t.Fatalf("error echoes its input: %v", err)
			}
			return
		}
		if len(key) != KeyLen {
			t.Fatalf("%d bytes", len(key))
		}
		kcv, err := KCVHex(key)
		if err != nil || !strings.EqualFold(kcv, kcvHex) {
			t.Fatalf("accepted check value %q for a key whose check value is %q (%v)", kcvHex, kcv, err)
		}
		if !strings.EqualFold(hex.EncodeToString(key), hexKey) {
			t.Fatal("the component is not the key as typed")
		}
	})
}
