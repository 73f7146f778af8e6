package gateway

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// BenchmarkUnbatched: 0800/301 echoes over 32 TCP connections, one in
// flight on each, through the gateway and a ledger: the unbatched path
// the bench's echo run measures, without the bench's other runs and
// processes. It reports the process's CPU (user and system, this
// process holds host and terminals both) per request, which is steadier
// than the rate on a shared machine; the terminals' part is the same
// for every build, so a difference between two builds is the host's.
//
//	go test -run '^$' -bench Unbatched -benchtime 100000x ./gateway/
func BenchmarkUnbatched(b *testing.B) {
	const conns = 32
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	h := startHost(b, b.TempDir(), clk, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"}, hostOptions{})
	provisionFixture(b, h.store)
	defer h.stop()
	first := h.dial()
	signOn(b, h, first, "T0000101")
	first.close()
	packed, _ := h.pk.Pack(wire.NewMessage("0800").Set(7, "1123100000").Set(11, "000001").
		Set(41, "T0000101").Set(42, terminalMID("T0000101")).Set(70, "301"))
	tcs := make([]*termConn, conns)
	for i := range tcs {
		tcs[i] = h.dial()
		defer tcs[i].close()
		tcs[i].nc.SetDeadline(time.Now().Add(10 * time.Minute))
	}
	frame := tcs[0].frame(packed)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	b.ResetTimer()
	before := cpuTime()
	for i, tc := range tcs {
		n := b.N / conns
		if i < b.N%conns {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var hdr [2]byte
			body := make([]byte, wire.MaxFrameBytes)
			for range n {
				if _, err := tc.nc.Write(frame); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(tc.nc, hdr[:]); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(tc.nc, body[:binary.BigEndian.Uint16(hdr[:])]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	used := cpuTime() - before
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(used.Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
