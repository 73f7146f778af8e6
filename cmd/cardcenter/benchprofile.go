package main

// benchprofile.go: the host's CPU profile one run at a time (bench
// --cpuprofile-runs DIR). A profile of the host's whole life
// (--cpuprofile) is dominated by what ran longest — provisioning, or
// the million-purchase warm-up of a large population — so a run's own
// costs could not be read from it. With --cpuprofile-runs the bench
// signals the host (SIGUSR1) before each run and the host starts a new
// profile, DIR/host-<n>.prof for the n-th run, stopping the previous.

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// writeHeapProfile writes the heap profile, after a GC, to path ("":
// none): what is live then is what every GC cycle marks.
func writeHeapProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runProfiles is the host side: a new profile file on each next.
type runProfiles struct {
	dir  string
	n    int
	stop func()
}

// runProfilePath is the n-th run's profile in dir (n from 1).
func runProfilePath(dir string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("host-%d.prof", n))
}

// next stops the current profile and starts the next run's.
func (p *runProfiles) next() error {
	p.close()
	p.n++
	stop, err := startCPUProfile(runProfilePath(p.dir, p.n))
	if err != nil {
		return err
	}
	p.stop = stop
	return nil
}

func (p *runProfiles) close() {
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
}

// serveRunProfiles starts a new profile in dir on each SIGUSR1 until
// the returned func is called, which stops the last one.
func serveRunProfiles(dir string) (stop func()) {
	p := &runProfiles{dir: dir}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sig {
			if err := p.next(); err != nil {
				fmt.Fprintf(os.Stderr, "bench-host: --cpuprofile-runs: %v\n", err)
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(sig)
		<-done
		p.close()
	}
}
