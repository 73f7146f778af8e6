package terminal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// load_closed.go: the closed-loop driver. Each connection keeps
// InFlight requests out, sending the next as soon as one is answered,
// so the offered load is whatever the host can answer: it measures the
// ceiling, and its latency is Little's law's
// connections × InFlight / throughput. The open loop (load_open.go)
// measures latency at a chosen rate instead.

// runClosed runs every connection's loop until the duration passes or
// the request budget is spent and the answers are in, and says how
// long they ran.
func runClosed(cfg *LoadConfig, lcs []*loadConn) time.Duration {
	var budget *atomic.Int64
	if cfg.Requests > 0 {
		budget = new(atomic.Int64)
		budget.Store(cfg.Requests)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	if cfg.Duration > 0 {
		timer := time.AfterFunc(cfg.Duration, func() { stop.Store(true) })
		defer timer.Stop()
	}
	for _, lc := range lcs {
		if len(lc.terms) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc.runClosed(&stop, budget)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// runClosed is one connection's closed loop, in one goroutine: send a
// request from every free slot (one write for all of them), read what
// has been answered, and again, until stop or the budget ends the
// sending and every answer is in (or the connection ends).
func (lc *loadConn) runClosed(stop *atomic.Bool, budget *atomic.Int64) {
	sending := true
	if err := lc.conn.SetReadDeadline(time.Now().Add(lc.cfg.ResponseTimeout)); err != nil {
		lc.markDead(fmt.Errorf("read deadline: %w", err))
		return
	}
	for {
		sending = sending && lc.alive()
		for sending && len(lc.freeList) > 0 {
			if stop.Load() || lc.ctx.Err() != nil || (budget != nil && budget.Add(-1) < 0) {
				sending = false
				break
			}
			i := lc.freeList[len(lc.freeList)-1]
			lc.freeList = lc.freeList[:len(lc.freeList)-1]
			lc.add(i)
			if len(lc.wbuf) >= loadMaxWriteBytes {
				lc.flush()
			}
		}
		lc.flush()
		if lc.inFlight() == 0 && (!sending || !lc.alive()) {
			return
		}
		if lc.inFlight() > 0 && !lc.readAnswers() {
			return
		}
	}
}
