package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// benchdisk.go: the store disk's own sync, measured in the same run as
// the load (bench prints it before the runs). It is the floor of a
// durable answer's latency, as the raw echo is the ceiling of its
// throughput: every group commit waits for one fsync of the WAL. On a
// virtual disk an fsync also costs CPU, most of it in the kernel (about
// 190 µs a sync on the development machine, for a 300 µs sync), which a
// small group commit pays for a few purchases and a large one for
// hundreds: the probe reports that too.

const (
	// diskProbeTime is how long the probe syncs.
	diskProbeTime = 2 * time.Second
	// diskProbeBlock is what each sync makes durable: a WAL append of
	// a group of a few dozen purchases.
	diskProbeBlock = 4 << 10
	// diskProbeMaxSyncs bounds the probe's syncs, and so its file (80
	// MiB), on a disk that syncs in microseconds (a RAM disk).
	diskProbeMaxSyncs = 20_000
)

// rusageThread is Linux's RUSAGE_THREAD: the calling thread's usage.
const rusageThread = 1

// probeDisk appends diskProbeBlock bytes and fdatasyncs them, again and
// again for d, in a scratch file of dir (removed after), and measures
// each sync and the CPU the thread spent. The thread is locked so that
// its CPU clock is the probe's alone.
func probeDisk(dir string, d time.Duration) (diskProbe, error) {
	f, err := os.CreateTemp(dir, "disk-probe-")
	if err != nil {
		return diskProbe{}, fmt.Errorf("disk probe: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	block := make([]byte, diskProbeBlock)
	var lat []time.Duration
	cpu0, err := threadCPU()
	if err != nil {
		return diskProbe{}, err
	}
	for end := time.Now().Add(d); time.Now().Before(end) && len(lat) < diskProbeMaxSyncs; {
		if _, err := f.Write(block); err != nil {
			return diskProbe{}, fmt.Errorf("disk probe: write %s: %w", filepath.Base(f.Name()), err)
		}
		t := time.Now()
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return diskProbe{}, fmt.Errorf("disk probe: fdatasync %s: %w", filepath.Base(f.Name()), err)
		}
		lat = append(lat, time.Since(t))
	}
	cpu1, err := threadCPU()
	if err != nil {
		return diskProbe{}, err
	}
	return summarize(lat, cpu1-cpu0), nil
}

// threadCPU is the calling thread's user and system CPU time.
func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, fmt.Errorf("disk probe: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// diskProbe is what the probe measured.
type diskProbe struct {
	syncs              int
	p50, p99, p999, mx time.Duration
	cpu                time.Duration // CPU a sync, user and system, the probing thread's
	slowShare          float64       // share of the probe's time spent in syncs over 10 ms
}

// summarize fills the figures from the syncs' latencies and the CPU
// they took.
func summarize(lat []time.Duration, cpu time.Duration) diskProbe {
	p := diskProbe{syncs: len(lat)}
	if len(lat) == 0 {
		return p
	}
	var total, slow time.Duration
	for _, d := range lat {
		total += d
		if d > 10*time.Millisecond {
			slow += d
		}
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	p.p50, p.p99, p.p999, p.mx = at(0.50), at(0.99), at(0.999), lat[len(lat)-1]
	p.cpu = cpu / time.Duration(len(lat))
	if total > 0 {
		p.slowShare = float64(slow) / float64(total)
	}
	return p
}

// String is the probe's line in the bench's output and its Markdown.
func (p diskProbe) String() string {
	if p.syncs == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%d appends of 4 KiB, each fdatasync'd: p50 %s, p99 %s, p99.9 %s, max %s; %s of CPU a sync; %.1f %% of the time in syncs over 10 ms",
		p.syncs, roundUs(p.p50), roundUs(p.p99), roundUs(p.p999), roundUs(p.mx), roundUs(p.cpu), 100*p.slowShare)
}

// roundUs rounds a duration to the microsecond.
func roundUs(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
