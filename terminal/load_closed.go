package terminal

import (
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
			lc.run(&stop, budget, nil)
		}()
	}
	wg.Wait()
	return time.Since(start)
}
