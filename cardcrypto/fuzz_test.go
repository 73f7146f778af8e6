package cardcrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// FuzzParseICC: ParseICC never panics, fails only with ErrBadICC, and what
// it accepts encodes to bytes that parse to the same objects.
func FuzzParseICC(f *testing.F) {
	fuzzseed.Add(f, "FuzzParseICC")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseICC(b)
		if err != nil {
			if !errors.Is(err, ErrBadICC) {
				t.Fatalf("error %v does not wrap ErrBadICC", err)
			}
			return
		}
		enc := c.Encode()
		if len(enc) > len(b) {
			t.Fatalf("encoding grew: %d > %d", len(enc), len(b))
		}
		back, err := ParseICC(enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(back.Objects(), c.Objects()) {
			t.Fatal("round trip changed the objects")
		}
		if again, err := EncodeICC(c.Objects()); err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("EncodeICC: %v", err)
		}
		if len(c.Missing()) == 0 {
			if d, err := c.ARQCData(); err != nil || len(d) != 37 {
				t.Fatalf("ARQCData: %d bytes, %v", len(d), err)
			}
		}
	})
}

// fuzzTPK is the TPK the PIN block fuzz target decrypts under.
var fuzzTPK = []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}

// FuzzDecryptPINBlock: the input is an 8-byte block followed by a PAN.
// DecryptPINBlock never panics, fails only with ErrBadPIN and without any
// PAN or block in the message, and a PIN it returns encrypts back to the block.
func FuzzDecryptPINBlock(f *testing.F) {
	fuzzseed.Add(f, "FuzzDecryptPINBlock")
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < PINBlockLen {
			return
		}
		block, pan := in[:PINBlockLen], string(in[PINBlockLen:])
		pin, err := DecryptPINBlock(fuzzTPK, block, pan)
		if err != nil {
			if !errors.Is(err, ErrBadPIN) || pin != "" {
				t.Fatalf("%q, %v", pin, err)
			}
			msg := strings.ToUpper(err.Error())
			if len(pan) >= 4 && strings.Contains(msg, strings.ToUpper(pan)) || strings.Contains(msg, strings.ToUpper(hex.EncodeToString(block))) {
				t.Fatalf("error carries the PAN or the block: %v", err)
			}
			return
		}
		again, err := EncryptPINBlock(fuzzTPK, pin, pan)
		if err != nil || !bytes.Equal(again, block) {
			t.Fatalf("PIN does not encrypt back to its block: %v", err)
		}
	})
}

// FuzzOpenWorkingKeys: field 62 from a host is never trusted. Whatever
// opens re-seals to the same bytes.
func FuzzOpenWorkingKeys(f *testing.F) {
	fuzzseed.Add(f, "FuzzOpenWorkingKeys")
	tmk := fuzzTPK
	f.Fuzz(func(t *testing.T, b []byte) {
		tpk, tak, err := OpenWorkingKeys(tmk, b)
		if err != nil {
			return
		}
		again, err := SealWorkingKeys(tmk, tpk, tak)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("opened field 62 does not seal back: %v", err)
		}
	})
}

// FuzzParseCardTLV: a card's response is never trusted. ParseCardTLV never
// panics, fails only with ErrBadICC, keeps at most MaxCardTLVObjects
// objects, and each object it keeps, written back as one primitive object,
// parses to itself.
func FuzzParseCardTLV(f *testing.F) {
	fuzzseed.Add(f, "FuzzParseCardTLV")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCardTLV(b)
		if err != nil {
			if !errors.Is(err, ErrBadICC) {
				t.Fatalf("error %v does not wrap ErrBadICC", err)
			}
			return
		}
		if c.Len() == 0 || c.Len() > MaxCardTLVObjects {
			t.Fatalf("%d objects", c.Len())
		}
		for _, o := range c.objs {
			if o.Tag <= 0xFF && byte(o.Tag)&0x20 != 0 || o.Tag > 0xFF && byte(o.Tag>>8)&0x20 != 0 {
				t.Fatalf("constructed tag %s kept as an object", o.Tag)
			}
			back, err := ParseCardTLV(AppendTLV(nil, o.Tag, o.Value))
			if err != nil || back.Len() != 1 || !bytes.Equal(back.objs[0].Value, o.Value) {
				t.Fatalf("tag %s does not round-trip: %v", o.Tag, err)
			}
		}
	})
}
