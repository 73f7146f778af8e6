package keys

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKey is a fixed key for tests whose expectations depend on it (the
// fuzz seeds). It protects nothing.
var testKey = bytes.Repeat([]byte{0x5c}, KeyBytes)

func mustSoftware(t testing.TB, key []byte) KEK {
	t.Helper()
	k, err := NewSoftware(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func mustEphemeral(t testing.TB) KEK {
	t.Helper()
	k, err := Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// assertNoSecret fails when an error message holds a secret, raw or in
// hex of either case.
func assertNoSecret(t testing.TB, err error, secrets ...[]byte) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		h := hex.EncodeToString(s)
		if strings.Contains(msg, string(s)) || strings.Contains(strings.ToLower(msg), h) {
			t.Errorf("error %q holds a secret", msg)
		}
	}
}
