package main

import (
	"fmt"

	"github.com/cardcenter/cardcenter/terminal"
)

// The raw echo runs: the bench's ceiling. A len2 frame of a purchase's
// size is echoed by terminal.RawEchoServer in the host's process (no ISO
// 8583, no ledger), over the same connections and at the same depth as
// the runs it is compared with, in the same invocation: every run's
// throughput is printed as a ratio to the raw echo at its depth. The
// host's own 0800/301 echo (the older baseline) measures the message
// path; the raw echo measures the machine.

// runRaw measures the raw echo at k frames in flight per connection,
// frames of size bytes.
func (b *benchRun) runRaw(k, size int) error {
	name := fmt.Sprintf("raw echo (len2, %d bytes, a purchase's size), %d in flight per connection", size, k)
	rep, err := b.measure(name, func() (terminal.LoadReport, error) {
		return terminal.RunRawEcho(b.ctx, terminal.RawEchoConfig{
			Dial: terminal.TCPDialer(b.h.rawAddr), Connections: b.o.connections, InFlight: k,
			Size: size, Duration: b.o.duration,
		})
	})
	if err != nil {
		return err
	}
	if rep.Errors > 0 {
		return fmt.Errorf("raw echo: %d of %d frames without an answer: %v", rep.Errors, rep.Requests, rep.ErrorSample)
	}
	b.raw[k] = rep
	return nil
}
