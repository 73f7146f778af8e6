package terminal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_raw.go: the closed loop against a raw echo (RawEchoServer): the
// same connections, depth and message size as a run against the host,
// with nothing but len2 frames, so that the host's figures can be put
// as a ratio to what the sockets alone move on the same machine in the
// same minute.

// RawEchoConfig configures RunRawEcho. Dial is required, and Duration or
// Requests (or both; the first reached ends the run).
type RawEchoConfig struct {
	Dial        DialFunc
	Connections int           // default 1, at most maxLoadConnections
	InFlight    int           // frames in flight per connection, default 1
	Size        int           // bytes after the length, 1..wire.MaxFrameBytes (a purchase's: PurchaseRequestSize)
	Duration    time.Duration // at most an hour
	Requests    int64         // at most 10^9
	Timeout     time.Duration // per read and write, default 5 s
}

func (cfg *RawEchoConfig) check() error {
	bad := func(format string, a ...any) error { return fmt.Errorf("raw echo: "+format, a...) }
	if cfg.Connections == 0 {
		cfg.Connections = 1
	}
	if cfg.InFlight == 0 {
		cfg.InFlight = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultLoadResponseTimout
	}
	if cfg.Dial == nil {
		return bad("Dial is required")
	}
	if err := checkRunShape(cfg.Connections, cfg.InFlight, cfg.Duration, cfg.Requests); err != nil {
		return bad("%v", err)
	}
	if cfg.Size < 1 || cfg.Size > wire.MaxFrameBytes {
		return bad("size %d outside 1..%d", cfg.Size, wire.MaxFrameBytes)
	}
	return nil
}

// RunRawEcho keeps InFlight frames of Size bytes in flight on each of
// Connections connections until Duration passes or Requests were sent,
// then waits for the outstanding answers, and reports like RunLoad (an
// answer of the right length counts as approved).
func RunRawEcho(ctx context.Context, cfg RawEchoConfig) (LoadReport, error) {
	if err := cfg.check(); err != nil {
		return LoadReport{}, err
	}
	conns, err := dialAll(ctx, cfg.Connections, cfg.Dial)
	defer closeAll(conns)
	if err != nil {
		return LoadReport{}, fmt.Errorf("raw echo: dial: %w", err)
	}
	var budget *atomic.Int64
	if cfg.Requests > 0 {
		budget = new(atomic.Int64)
		budget.Store(cfg.Requests)
	}
	var stop atomic.Bool
	hists := make([]Histogram, len(conns))
	sent := make([]int64, len(conns))
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	start := time.Now()
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, func() { stop.Store(true) })
		defer timer.Stop()
	}
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i], errs[i] = rawEchoConn(ctx, c, &cfg, &stop, budget, &hists[i])
		}()
	}
	wg.Wait()
	rep := LoadReport{
		Mode: fmt.Sprintf("raw echo (len2, %d bytes)", cfg.Size), Connections: cfg.Connections, Terminals: cfg.Connections,
		InFlight: cfg.InFlight, Elapsed: time.Since(start), Declined: map[string]int64{}, ByOp: map[Op]int64{},
		Latency: new(Histogram),
	}
	for i := range conns {
		rep.Requests += sent[i]
		rep.Latency.Merge(&hists[i])
		if errs[i] != nil && len(rep.ErrorSample) < maxLoadErrorSamples {
			rep.ErrorSample = append(rep.ErrorSample, errs[i].Error())
		}
	}
	rep.Approved = int64(rep.Latency.Count())
	rep.Errors = rep.Requests - rep.Approved
	rep.summarize()
	return rep, ctx.Err()
}

// rawEchoConn is one connection's closed loop: InFlight frames out,
// then a new one for every answer, until stop or the budget; then the
// outstanding answers are read. Answers come back in order, so the
// send times are a ring.
func rawEchoConn(ctx context.Context, c Conn, cfg *RawEchoConfig, stop *atomic.Bool, budget *atomic.Int64, h *Histogram) (sent int64, err error) {
	frame := make([]byte, 2+cfg.Size)
	binary.BigEndian.PutUint16(frame, uint16(cfg.Size))
	for i := range frame[2:] {
		frame[2+i] = '0' + byte(i%10)
	}
	in := make([]byte, 2+wire.MaxFrameBytes)
	br := bufio.NewReaderSize(c, rawEchoBufBytes)
	ring := make([]time.Time, cfg.InFlight)
	head, tail, outstanding := 0, 0, 0
	send := func() error {
		if stop.Load() || ctx.Err() != nil || (budget != nil && budget.Add(-1) < 0) {
			return errStopSending
		}
		c.SetWriteDeadline(time.Now().Add(cfg.Timeout))
		ring[tail] = time.Now()
		if _, err := c.Write(frame); err != nil {
			return err
		}
		tail = (tail + 1) % len(ring)
		outstanding++
		sent++
		return nil
	}
	sending := true
	for k := 0; k < cfg.InFlight && sending; k++ {
		if err := send(); err != nil {
			if !errors.Is(err, errStopSending) {
				return sent, err
			}
			sending = false
		}
	}
	for outstanding > 0 {
		if br.Buffered() < 2 {
			c.SetReadDeadline(time.Now().Add(cfg.Timeout))
		}
		if _, err := io.ReadFull(br, in[:2]); err != nil {
			return sent, err
		}
		n := int(binary.BigEndian.Uint16(in[:2]))
		if n != cfg.Size {
			return sent, fmt.Errorf("raw echo: answer of %d bytes to a frame of %d", n, cfg.Size)
		}
		if _, err := io.ReadFull(br, in[2:2+n]); err != nil {
			return sent, err
		}
		h.Record(time.Since(ring[head]))
		head = (head + 1) % len(ring)
		outstanding--
		if sending {
			if err := send(); err != nil {
				if !errors.Is(err, errStopSending) {
					return sent, err
				}
				sending = false
			}
		}
	}
	return sent, nil
}

var errStopSending = errors.New("stop sending")
