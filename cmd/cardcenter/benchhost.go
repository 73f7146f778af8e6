package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cardcenter/cardcenter/gateway"
	"github.com/cardcenter/cardcenter/internal/metrics"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// The bench host: `cardcenter bench-host` runs the benchmark's host in a
// process of its own and reports its address on stdout; SIGTERM drains it,
// checks the ledger and exits.

func newBenchHostCmd() *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:    "bench-host",
		Short:  "The host side of cardcenter bench (started by it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if o.idleConns > 0 {
				if err := raiseOpenFiles(o.idleConns); err != nil {
					return err
				}
			}
			h, err := startBenchHost(ctx, o.dataDir, o)
			if err != nil {
				return err
			}
			stopProfile, err := startCPUProfile(o.cpuProfile)
			if err != nil {
				return err
			}
			if o.cpuProfileRuns != "" {
				stopProfile = serveRunProfiles(o.cpuProfileRuns)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "raw-echo %s\n", h.raw.Addr())
			fmt.Fprintf(cmd.OutOrStdout(), "metrics %s\n", h.metricsAddr)
			fmt.Fprintf(cmd.OutOrStdout(), "ready %s\n", h.addr)
			<-ctx.Done()
			stopProfile()
			if err := writeHeapProfile(o.memProfile); err != nil {
				fmt.Fprintf(os.Stderr, "bench-host: --memprofile: %v\n", err)
			}
			return h.close(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data", "", "store directory (required, fresh)")
	f.IntVar(&o.terminals, "terminals", 256, "terminals")
	f.IntVar(&o.cards, "cards", 10000, "cards")
	f.StringVar(&o.framing, "framing", "len2", "framing")
	f.StringVar(&o.packager, "packager", "ascii", "packager")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "CPU profile of the host, from ready to stop")
	f.StringVar(&o.memProfile, "memprofile", "", "a heap profile of the host after the last run, its caches still full")
	f.StringVar(&o.cpuProfileRuns, "cpuprofile-runs", "", "a CPU profile of the host in this directory from each SIGUSR1 to the next (host-<n>.prof)")
	f.BoolVar(&o.security, "security", false, "also provision terminals with master keys and cards with PINs")
	f.BoolVar(&o.loyalty, "loyalty", false, "also provision a program with the demo's loyalty rules")
	f.IntVar(&o.idleConns, "idle-conns", 0, "idle connections the gateway must admit beside the load's")
	cmd.MarkFlagRequired("data")
	return cmd
}

// benchChild is a bench host running as a child process.
type benchChild struct {
	cmd     *exec.Cmd
	addr    string
	rawAddr string // the raw echo's
	// metricsAddr is where the host serves its Prometheus metrics.
	metricsAddr string
	done        chan error
}

// benchChildStartTimeout bounds the child's provisioning: a base, and a
// millisecond a card (a million cards took 2–5 minutes on the 2-core
// development machine, depending on what else ran).
func benchChildStartTimeout(cards int) time.Duration {
	return 5*time.Minute + time.Duration(cards)*time.Millisecond
}

func startBenchChild(dir string, o benchOptions, out io.Writer) (*benchChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"bench-host", "--data", filepath.Join(dir, "ledger"),
		"--terminals", strconv.Itoa(o.terminals), "--cards", strconv.Itoa(o.cards),
		"--framing", o.framing, "--packager", o.packager}
	if o.cpuProfile != "" {
		args = append(args, "--cpuprofile", o.cpuProfile)
	}
	if o.cpuProfileRuns != "" {
		args = append(args, "--cpuprofile-runs", o.cpuProfileRuns)
	}
	if o.memProfile != "" {
		args = append(args, "--memprofile", o.memProfile)
	}
	if o.security {
		args = append(args, "--security")
	}
	if o.loyalty {
		args = append(args, "--loyalty")
	}
	if o.idleConns > 0 {
		args = append(args, "--idle-conns", strconv.Itoa(o.idleConns))
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &benchChild{cmd: cmd, done: make(chan error, 1)}
	lines := bufio.NewScanner(stdout)
	ready := make(chan string, 1)
	go func() {
		for lines.Scan() {
			line := lines.Text()
			if addr, ok := strings.CutPrefix(line, "metrics "); ok {
				c.metricsAddr = addr // written before ready is sent, read after
				continue
			}
			if addr, ok := strings.CutPrefix(line, "raw-echo "); ok {
				c.rawAddr = addr // written before ready is sent, read after
				continue
			}
			if addr, ok := strings.CutPrefix(line, "ready "); ok {
				ready <- addr
				continue
			}
			fmt.Fprintln(out, line)
		}
		c.done <- cmd.Wait()
	}()
	select {
	case c.addr = <-ready:
		return c, nil
	case err := <-c.done:
		return nil, fmt.Errorf("bench host exited before it was ready: %v", err)
	case <-time.After(benchChildStartTimeout(o.cards)):
		cmd.Process.Kill()
		return nil, fmt.Errorf("bench host not ready after %s (provisioning %d cards)", benchChildStartTimeout(o.cards), o.cards)
	}
}

// stop drains the child (it checks the ledger on its way out).
func (c *benchChild) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		if err != nil {
			return fmt.Errorf("bench host: %w", err)
		}
		return nil
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		return fmt.Errorf("bench host did not stop within a minute")
	}
}

// benchHost is a host for benchmarks: a fresh store, provisioned, behind
// a gateway on an ephemeral port, no logs.
type benchHost struct {
	st   *ledger.Store
	srv  *gateway.Server
	addr string
	// raw is the raw len2 echo the bench measures its ceiling with, in
	// the host's process so that it runs where the host runs.
	raw *terminal.RawEchoServer
	// metrics serves the host's Prometheus metrics on a loopback port of
	// its own (no admin token: the bench's, for the bench to read its
	// group commits run by run, benchledger.go).
	metrics     *http.Server
	metricsAddr string
}

func startBenchHost(ctx context.Context, dir string, o benchOptions) (*benchHost, error) {
	// A production host always has a master key and runs the security
	// step; the bench does too (an ephemeral key: the store is thrown
	// away), whether or not it provisions keys.
	ring, err := ephemeralRing()
	if err != nil {
		return nil, err
	}
	// The metrics a production host keeps (host.go), so that the bench
	// measures their cost too; the bench reads them before and after
	// each run.
	mx := metrics.New()
	// The whole population hot, as an operator sizes hot_cards to the
	// cards active in a day.
	st, err := ledger.Open(dir, ledger.Options{Logger: zerolog.Nop(), Sealer: ring, Observer: mx,
		HotCards: max(o.cards, ledger.DefaultHotCards)})
	if err != nil {
		return nil, err
	}
	err = provisionBench(ctx, st, o.terminals, o.cards, o.security)
	if err == nil && o.security {
		err = provisionBenchSecurity(ctx, st, o.terminals, o.cards)
	}
	if err == nil && o.loyalty {
		err = provisionBenchLoyalty(ctx, st, o.terminals, o.cards)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	// Every load connection comes from 127.0.0.1: the per-source limit
	// must admit them all (the load's connections, the idle ones of
	// --idle-conns and a few for sign-ons' redials), and the total as
	// well.
	conns := o.terminals + o.idleConns + 64
	srv, err := gateway.New(gateway.Config{
		Listeners:               []gateway.ListenerConfig{{Addr: "127.0.0.1:0", Framing: o.framing, Packager: o.packager}},
		MaxConnections:          max(gateway.DefaultMaxConnections, conns),
		MaxConnectionsPerSource: conns,
		Logger:                  zerolog.Nop(),
		Keys:                    st,
		Observer:                mx,
	}, st)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	mx.WatchStore(st)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Shutdown(context.Background())
		st.Close()
		return nil, err
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		srv.Shutdown(context.Background())
		st.Close()
		return nil, err
	}
	h := &benchHost{st: st, srv: srv, addr: srv.Addrs()[0].String(), raw: terminal.ServeRawEcho(ln), metricsAddr: mln.Addr().String()}
	h.metrics = &http.Server{Handler: mx.Handler(), ReadHeaderTimeout: benchScrapeTimeout, ReadTimeout: benchScrapeTimeout,
		WriteTimeout: benchScrapeTimeout, IdleTimeout: time.Minute}
	go h.metrics.Serve(mln)
	return h, nil
}

// close drains the gateway, checks the ledger and closes it.
func (h *benchHost) close(out io.Writer) error {
	h.raw.Close()
	h.metrics.Close()
	h.srv.Shutdown(context.Background())
	defer h.st.Close()
	rep, err := h.st.Check(context.Background())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nledger check: %d accounts, %d transfers, %d journal entries, consistent=%v\n",
		rep.Accounts, rep.Transfers, rep.Txns, rep.OK())
	if !rep.OK() {
		return fmt.Errorf("ledger inconsistent after the load: %v", rep.Problems)
	}
	return nil
}
