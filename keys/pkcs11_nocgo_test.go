//go:build !cgo

package keys

import (
	"strings"
	"testing"
)

func TestPKCS11WithoutCgo(t *testing.T) {
	_, err := Open(Config{Source: SourcePKCS11}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "without cgo") {
		t.Fatalf("err %v, want one saying the binary lacks cgo", err)
	}
}
