package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU time per request: throughput on a shared machine moves with
// whatever else runs, the CPU a request costs much less. The bench reads
// the host's CPU time (the child's /proc/PID/stat, or this process's
// rusage when the host runs in it) and the load generator's before and
// after each run.

// cpuClocks reads the CPU time used so far by the host and by the load
// generator; ok is false where it cannot (not Linux).
type cpuClocks func() (host, load time.Duration, ok bool)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// selfCPU is this process's user and system CPU time.
func selfCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// procCPU is process pid's user and system CPU time from /proc.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold blanks; the fields after its
	// closing parenthesis are blank-separated, utime and stime being the
	// 14th and 15th of the line.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// childClocks reads a host in a child process and the load generator here.
func childClocks(pid int) cpuClocks {
	return func() (time.Duration, time.Duration, bool) {
		h, ok1 := procCPU(pid)
		l, ok2 := selfCPU()
		return h, l, ok1 && ok2
	}
}

// inProcessClocks reads both from this process: the host's share is not
// told apart, so it reports the total as the host's.
func inProcessClocks() (time.Duration, time.Duration, bool) {
	t, ok := selfCPU()
	return t, 0, ok
}

// perRequest formats CPU time per answered request.
func perRequest(d time.Duration, n int64) string {
	if n <= 0 {
		return "-"
	}
	return (d / time.Duration(n)).Round(100 * time.Nanosecond).String()
}

// Waiting for a quiet host between runs: Pebble flushes and compacts
// what a run wrote for seconds after it ends, and a run that started
// meanwhile would pay for its predecessor's writes (the second of two
// runs compared would look slower for being second).
const (
	// idleWindow and idleCPU: the host is quiet once it used less than
	// idleCPU over idleWindow (4% of a core).
	idleWindow = 500 * time.Millisecond
	idleCPU    = 20 * time.Millisecond
	// maxIdleWait bounds the wait; a host that never goes quiet is
	// measured as it is.
	maxIdleWait = 30 * time.Second
)

// waitIdle waits until the host is quiet (or maxIdleWait passed) and
// says how long it waited.
func waitIdle(clocks cpuClocks) time.Duration {
	start := time.Now()
	prev, _, ok := clocks()
	for ok && time.Since(start) < maxIdleWait {
		time.Sleep(idleWindow)
		var now time.Duration
		if now, _, ok = clocks(); ok && now-prev < idleCPU {
			break
		}
		prev = now
	}
	return time.Since(start)
}
