// Command cardcenter is the card-transaction host for customer-loyalty
// programs, and its tools: one binary with subcommands.
//
//	cardcenter serve                    run the host
//	cardcenter demo                     run the host with demo data and drive it with the POS simulator
//	cardcenter pos run FILE | pos OP …  act as a POS terminal
//	cardcenter bench                    measure durable authorizations per second
//	cardcenter import FILE | check | backup DIR | card … | merchant … | terminal … | program …
//	cardcenter keys status | keys rotate the host master key: progress, rotation (host stopped)
//	cardcenter version                  version, commit, Go version
//
// See README.md and docs/operations.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// defaultGCPercent trades memory for CPU: the host's live heap is small
// (caches of a few hundred MB), and every GC cycle is time the single
// ledger writer does not decide. GOGC in the environment overrides it.
const defaultGCPercent = 400

func main() {
	privateUmask()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cardcenter:", err)
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		os.Exit(code)
	}
}

// exitError carries an exit status other than 1 (the pos commands use 2
// for "could not run", docs/operations.md).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// hostFlags are the flags of commands that run a host.
type hostFlags struct {
	config   string
	logLevel string
	logFmt   string
}

func newRootCmd() *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:           "cardcenter",
		Short:         "Card-transaction host for customer-loyalty programs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.DataDir, "data", "", "data directory (default: the config file's; for the CLI verbs var/data, or var/demo while make run runs)")
	root.PersistentFlags().StringVar(&g.AdminAddr, "admin", "", "admin API address (default: the running host's, from DATA/host.json, else 127.0.0.1:8580)")
	root.PersistentFlags().StringVar(&g.TokenFile, "token-file", "", "admin token file (default DATA/admin.token)")
	root.PersistentFlags().StringVar(&g.AdminCA, "admin-ca", "", "CA (PEM) that signed the admin API's certificate, for --admin https://…")
	root.PersistentFlags().StringVar(&g.Operator, "operator", "", "who you are, for the audit records of changes (default: your login name)")
	root.AddCommand(newServeCmd(&g), newDemoCmd(&g), newPOSCmd(&g), newReaderCmd(&g), newBenchCmd(), newBenchHostCmd(), newVersionCmd())
	root.AddCommand(adminCommands(&g)...)
	root.AddCommand(newKeysCmd(&g), newLoyaltyCmd(&g), newSettleCmd(&g), newReconcileCmd(&g), newReportCmd(&g))
	addLoyaltyVerbs(root, newReviewTiersCmd(&g))
	return root
}

func (h *hostFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&h.config, "config", "", "configuration file (YAML, docs/operations.md)")
	cmd.Flags().StringVar(&h.logLevel, "log-level", "", "debug, info, warn or error (overrides the config)")
	cmd.Flags().StringVar(&h.logFmt, "log-format", "", "json or console (overrides the config)")
}

// load reads the configuration and applies the command-line overrides.
func (h *hostFlags) load(g *globalFlags) (*Config, error) {
	c, err := LoadConfig(h.config)
	if err != nil {
		return nil, err
	}
	if g.DataDir != "" {
		c.DataDir = g.DataDir
	}
	if g.AdminAddr != "" {
		c.Admin.Addr = g.AdminAddr
	}
	if h.logLevel != "" {
		c.Log.Level = h.logLevel
	}
	if h.logFmt != "" {
		c.Log.Format = h.logFmt
	}
	return c, c.validate()
}

// setup loads the configuration and builds the host's logger (stderr).
func (h *hostFlags) setup(g *globalFlags) (*Config, zerolog.Logger, error) {
	c, err := h.load(g)
	if err != nil {
		return nil, zerolog.Nop(), err
	}
	log, err := NewLogger(c, os.Stderr)
	return c, log, err
}

func newServeCmd(g *globalFlags) *cobra.Command {
	var h hostFlags
	var demoFile, readyFile string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the host: ISO 8583 gateway, ledger and admin API",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, log, err := h.setup(g)
			if err != nil {
				return err
			}
			m := &Main{Config: c, Log: log, DemoFile: demoFile}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := m.Run(ctx); err != nil {
				m.Close()
				return err
			}
			if readyFile != "" {
				if err := writeHostInfo(readyFile, hostInfoOf(m)); err != nil {
					m.Close()
					return err
				}
			}
			<-ctx.Done()
			log.Info().Msg("shutting down: draining in-flight requests")
			return m.Close()
		},
	}
	h.register(cmd)
	cmd.Flags().StringVar(&demoFile, "demo-file", "", "provisioning file to import when the store is new")
	cmd.Flags().StringVar(&readyFile, "ready-file", "", "write the bound addresses (JSON) here once listening")
	return cmd
}
