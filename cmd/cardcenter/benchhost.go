package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

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
			h, err := startBenchHost(ctx, o.dataDir, o)
			if err != nil {
				return err
			}
			stopProfile, err := startCPUProfile(o.cpuProfile)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready %s\n", h.addr)
			<-ctx.Done()
			stopProfile()
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
	f.BoolVar(&o.security, "security", false, "also provision terminals with master keys and cards with PINs")
	f.BoolVar(&o.loyalty, "loyalty", false, "also provision a program with the demo's loyalty rules")
	cmd.MarkFlagRequired("data")
	return cmd
}

// benchChild is a bench host running as a child process.
type benchChild struct {
	cmd  *exec.Cmd
	addr string
	done chan error
}

const benchChildStartTimeout = 5 * time.Minute

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
	if o.security {
		args = append(args, "--security")
	}
	if o.loyalty {
		args = append(args, "--loyalty")
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
	case <-time.After(benchChildStartTimeout):
		cmd.Process.Kill()
		return nil, fmt.Errorf("bench host not ready after %s", benchChildStartTimeout)
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
