package terminal

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// load_closed.go: the closed-loop driver. Each connection has InFlight
// workers, each sending its next request as soon as the previous one is
// answered, so the offered load is whatever the host can answer: it
// measures the ceiling, and its latency is Little's law's
// connections × InFlight / throughput. The open loop (load_open.go)
// measures latency at a chosen rate instead.

// runClosed runs the workers of every connection until the duration
// passes or the request budget is spent, and says how long they ran.
func runClosed(ctx context.Context, cfg *LoadConfig, clients []*Client, perConn [][]*loadTerm, tracks []string) ([]*loadWorker, time.Duration) {
	var budget *atomic.Int64
	if cfg.Requests > 0 {
		budget = new(atomic.Int64)
		budget.Store(cfg.Requests)
	}
	stop := make(chan struct{})
	var workers []*loadWorker
	var wg sync.WaitGroup
	start := time.Now()
	for c, terms := range perConn {
		if len(terms) == 0 {
			continue
		}
		for k := 0; k < cfg.InFlight; k++ {
			w := newLoadWorker(cfg, clients[c], terms, tracks, c, k)
			workers = append(workers, w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.runClosed(ctx, stop, budget)
			}()
		}
	}
	var timer *time.Timer
	if cfg.Duration > 0 {
		timer = time.AfterFunc(cfg.Duration, func() { close(stop) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if timer != nil {
		timer.Stop() // if it has not fired, stop stays open: no one waits on it any more
	}
	return workers, elapsed
}

func (w *loadWorker) runClosed(ctx context.Context, stop <-chan struct{}, budget *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if budget != nil && budget.Add(-1) < 0 {
			return
		}
		w.one(ctx, w.nextTerminal(), time.Time{})
	}
}
