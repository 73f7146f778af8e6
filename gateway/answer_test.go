package gateway

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/ledger"
)

// TestWriteInlineShortWrites: when the ledger goroutine's non-blocking
// write of an answer (writeInline) takes only part of it, or nothing
// (EAGAIN), the writer goroutine writes the rest: every answer arrives
// whole and in order, and each purchase is booked once.
func TestWriteInlineShortWrites(t *testing.T) {
	var calls atomic.Int32
	short := func(fd int, b []byte) (int, error) {
		switch calls.Add(1) % 3 {
		case 1:
			return syscall.Write(fd, b[:len(b)/2])
		case 2:
			return 0, syscall.EAGAIN
		}
		return syscall.Write(fd, b)
	}
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	h := startHost(t, t.TempDir(), clk, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"},
		hostOptions{rawWrite: short})
	provisionFixture(t, h.store)
	defer h.stop()
	c := h.dial()
	defer c.close()
	signOn(t, h, c, "T0000101")
	const n = 9
	for i := 1; i <= n; i++ {
		if rc := purchaseRC(t, h, c, "T0000101", fmt.Sprintf("%06d", i), 100); rc != "00" {
			t.Fatalf("purchase %d: rc %s", i, rc)
		}
	}
	if got, want := aliceLedger(t, h), ledger.Amount(100000-100*n); got != want {
		t.Fatalf("alice's ledger %d, want %d (each purchase once)", got, want)
	}
	// The sign-on's answer and each purchase's: one request in flight
	// each time, so every answer was first tried inline.
	if got := calls.Load(); got < n+1 {
		t.Fatalf("%d inline writes tried, want at least %d", got, n+1)
	}
}
