package gateway

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/rig"
)

// BenchmarkSerialRoundTrip: one echo (0800/301) at a time from a terminal
// on a socat pty pair to the host's serial listener and back, each frame
// ACKed: the line's round trip, ledger aside. Reports p50 and p99.
//
//	go test -run '^$' -bench SerialRoundTrip ./gateway/
func BenchmarkSerialRoundTrip(b *testing.B) {
	pair := rig.NewPtyPair(b)
	h, _ := serialHost(b, "stx-bcd", pair)
	defer h.stop()
	c := h.serialConn(pair.POS, "stx-bcd", nil)
	defer c.close()
	echo := func(stan string) {
		m := wire.NewMessage("0800").Set(7, "1123100000").Set(11, stan).Set(41, "T0000101").Set(42, "MALL00000000001").Set(70, "301")
		packed, _ := h.pk.Pack(m)
		raw, closed, err := c.roundTrip(c.frame(packed))
		if err != nil || closed {
			b.Fatalf("echo: %v closed=%v", err, closed)
		}
		if resp, _ := h.pk.Unpack(raw); resp == nil || resp.Fields[39] != "00" {
			b.Fatal("echo not approved")
		}
	}
	echo("000000")
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		echo(fmt.Sprintf("%06d", i%999999+1))
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
