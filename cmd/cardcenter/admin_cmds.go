package main

// The admin verbs: thin clients of the admin API (package admin). Two of
// them can also work without a running host: `import` opens the store and
// applies the file itself, `check` (with --data) opens the store read-only.
// Each says which path it took.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardcenter/cardcenter/admin"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/tlsconf"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/spf13/cobra"
)

// globalFlags are the root command's persistent flags that the admin verbs
// read. The root command binds them (--data, --admin, --token-file).
type globalFlags struct {
	// DataDir is the host's data directory (default defaultDataDir); the
	// ledger is in its "ledger" folder, the admin token in admin.token.
	DataDir string
	// AdminAddr is the admin API, host:port or a URL (default
	// defaultAdminAddr).
	AdminAddr string
	// TokenFile is the admin token file (default <DataDir>/admin.token).
	TokenFile string
	// AdminCA verifies an admin API served over TLS (https:// in
	// AdminAddr); default: the system's roots.
	AdminCA string
	// Operator names who makes changes, for the audit records (default:
	// the login name, see operator).
	Operator string
}

// adminCallTimeout bounds one admin verb's API call (an import may take
// minutes on a big file).
const adminCallTimeout = 5 * time.Minute

// dataDir is --data, else the data directory of the host running from
// here (runningDataDir: var/data, or var/demo while make run runs).
func (g *globalFlags) dataDir() string {
	if g.DataDir != "" {
		return g.DataDir
	}
	return runningDataDir()
}

// adminStoreDir is where the host keeps its ledger inside a data directory.
func adminStoreDir(dataDir string) string { return filepath.Join(dataDir, "ledger") }

// baseURL is --admin, else the admin address in the host file of the data
// directory, else defaultAdminAddr.
func (g *globalFlags) baseURL() string {
	a := g.AdminAddr
	if a == "" {
		if h, err := readHostFile(g.dataDir()); err == nil {
			a = h.Admin
		}
	}
	if a == "" {
		a = defaultAdminAddr
	}
	if strings.Contains(a, "://") {
		return strings.TrimRight(a, "/")
	}
	return "http://" + a
}

// tokenPath resolves the token file: --token-file, else <data>/admin.token.
func (g *globalFlags) tokenPath() string {
	if g.TokenFile != "" {
		return g.TokenFile
	}
	return admin.TokenPath(g.dataDir())
}

// client makes an API client. A token that cannot be read is an error
// that says where it was looked for.
func (g *globalFlags) client() (*admin.Client, error) {
	tok, err := admin.ReadToken(g.tokenPath())
	if err != nil {
		return nil, fmt.Errorf("%w (give --token-file, or --data for the host's data directory)", err)
	}
	c := &admin.Client{BaseURL: g.baseURL(), Token: tok, Operator: g.operator()}
	if g.AdminCA != "" {
		cfg, err := tlsconf.Client{CA: g.AdminCA}.Config()
		if err != nil {
			return nil, fmt.Errorf("--admin-ca: %w", err)
		}
		c.HTTP = &http.Client{Timeout: admin.DefaultClientTimeout, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	return c, nil
}

// adminCommands are the admin verbs: card, merchant, terminal, program,
// import, check, backup, blacklist, audit and mall.
func adminCommands(g *globalFlags) []*cobra.Command {
	return []*cobra.Command{
		newAdminCardCmd(g), newAdminMerchantCmd(g), newAdminTerminalCmd(g), newAdminProgramCmd(g),
		newAdminImportCmd(g), newAdminCheckCmd(g), newBackupCmd(g), newBlacklistCmd(g), newAuditCmd(g), newMallCmd(g),
	}
}

// adminCall runs fn with a client and a bounded context.
func adminCall(cmd *cobra.Command, g *globalFlags, fn func(ctx context.Context, c *admin.Client) error) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
	defer cancel()
	return fn(ctx, c)
}

// adminPANArg checks a PAN argument before it is sent; errors show it masked.
func adminPANArg(pan string) error {
	if err := provision.CheckPAN(pan); err != nil {
		return fmt.Errorf("PAN %v", err)
	}
	return nil
}

func adminPrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func adminDash[T comparable](v T, show string) string {
	var zero T
	if v == zero {
		return "-"
	}
	return show
}

func newAdminMerchantCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List merchants",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				ms, err := c.Merchants(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), admin.MerchantList{Merchants: ms})
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				defer tw.Flush()
				fmt.Fprintln(tw, "MID\tPROGRAM\tHOME\tMDR_BP\tLOAD_BP\tNAME")
				for _, m := range ms {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%d\t%s\n", m.MID, m.ProgramID, m.Home, m.MDRBP, m.LoadCommissionBP, m.Name)
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	cmd := &cobra.Command{Use: "merchant", Short: "Merchants, through the admin API"}
	cmd.AddCommand(list)
	return cmd
}

func newAdminTerminalCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List terminals with their runtime state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				ts, err := c.Terminals(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), admin.TerminalList{Terminals: ts})
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				defer tw.Flush()
				fmt.Fprintln(tw, "TID\tMID\tENABLED\tSIGNED_ON\tOPEN_BATCH")
				for _, t := range ts {
					fmt.Fprintf(tw, "%s\t%s\t%v\t%v\t%s\n", t.TID, t.MID, t.Enabled, t.SignedOn,
						adminDash(t.OpenBatch, fmt.Sprintf("%06d", t.OpenBatch)))
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	cmd := &cobra.Command{Use: "terminal", Short: "Terminals, through the admin API"}
	cmd.AddCommand(list, newTerminalShowCmd(g), newLoadTMKCmd(g))
	return cmd
}

func newAdminProgramCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List programs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return adminCall(cmd, g, func(ctx context.Context, c *admin.Client) error {
				ps, err := c.Programs(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return adminPrintJSON(cmd.OutOrStdout(), admin.ProgramList{Programs: ps})
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				defer tw.Flush()
				fmt.Fprintln(tw, "ID\tCURRENCY\tPOINT_COST_FEN\tREDEMPTION_FEN\tINTERCHANGE_BP\tHOLD_DAYS\tNAME")
				for _, p := range ps {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", p.ID, p.Currency, p.PointCost, p.RedemptionValue, p.InterchangeBP, p.HoldDays, p.Name)
				}
				return nil
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	cmd := &cobra.Command{Use: "program", Short: "Programs, through the admin API"}
	cmd.AddCommand(list, newProgramShowCmd(g), newLoadIMKCmd(g))
	return cmd
}

// adminHostDown reports whether the admin API cannot be reached: either a call
// failed to connect, or there is no token and /healthz does not answer.
func adminHostDown(ctx context.Context, g *globalFlags, err error) bool {
	if errors.Is(err, admin.ErrUnreachable) {
		return true
	}
	hc := &admin.Client{BaseURL: g.baseURL()}
	return errors.Is(hc.Health(ctx), admin.ErrUnreachable)
}

func newAdminImportCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Import a provisioning file (YAML): through the admin API, or straight into the store when no host runs",
		Long: `Import a provisioning file (docs/provisioning.md).

The file is checked here first; every problem is listed with its key and
line. Then it is sent to the admin API. When no host answers, the store in
--data is opened and the file applied directly. Importing a file twice is
safe: opening balances are credited once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			path := args[0]
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := provision.Parse(data)
			if err != nil {
				return fmt.Errorf("%s:\n%w", path, err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
			defer cancel()
			c, err := g.client()
			if err == nil {
				var res *admin.ImportResult
				res, err = c.Import(ctx, data)
				if err == nil {
					fmt.Fprintf(out, "imported %s through the admin API at %s\n%s\n", path, c.BaseURL, res.Summary)
					return nil
				}
			}
			if !adminHostDown(ctx, g, err) {
				return err
			}
			dir := adminStoreDir(g.dataDir())
			fmt.Fprintf(out, "no host answers at %s: importing %s straight into the store in %s\n", g.baseURL(), path, dir)
			// Keys in the file are sealed under the data directory's
			// key file, as serve's default key source does; a host whose
			// KEK is in the environment or an HSM imports through its API.
			kek, err := keys.OpenRing(keys.Config{Source: keys.SourceFile}, g.dataDir())
			if err != nil {
				return fmt.Errorf("host master key: %w", err)
			}
			defer kek.Close()
			st, err := ledger.Open(dir, ledger.Options{Sealer: kek})
			if err != nil {
				return fmt.Errorf("open store (is a host running with another --admin address?): %w", err)
			}
			sum, err := provision.Apply(ctx, st, f)
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "imported %s directly into %s\n%s\n", path, dir, sum)
			return nil
		},
	}
}

func newAdminCheckCmd(g *globalFlags) *cobra.Command {
	var asJSON bool
	var config string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the ledger's consistency: through the admin API, or read-only on --data when no host runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
			defer cancel()
			var (
				res *admin.CheckResult
				how string
			)
			// An explicit --data means that directory: its own host's API
			// when one runs from it, else the store itself (a backup, a
			// stopped host), never another host that happens to answer.
			useAPI := true
			if g.DataDir != "" && g.AdminAddr == "" {
				_, herr := readHostFile(g.DataDir)
				useAPI = herr == nil
			}
			err := errNoHost
			if useAPI {
				var c *admin.Client
				if c, err = g.client(); err == nil {
					res, err = c.Check(ctx)
					how = "through the admin API at " + c.BaseURL
				}
			}
			if err != nil {
				if g.DataDir == "" || (useAPI && !adminHostDown(ctx, g, err)) {
					return err
				}
				dir := adminStoreDir(g.DataDir)
				if _, serr := os.Stat(dir); serr != nil {
					return fmt.Errorf("no host runs from %s, and it holds no store: %w", g.DataDir, serr)
				}
				// The sealed values are opened when the host's master key
				// is at hand (its key file, or what --config names), and
				// only counted when it is not.
				opts := ledger.Options{ReadOnly: true}
				kc, kerr := keysConfig(g, config)
				if kerr != nil {
					return kerr
				}
				if ring, rerr := inspectRing(kc); rerr == nil {
					defer ring.Close()
					opts.Sealer = ring
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "sealed values are counted, not opened: %v\n", rerr)
				}
				st, oerr := ledger.Open(dir, opts)
				if oerr != nil {
					return fmt.Errorf("open store read-only: %w", oerr)
				}
				rep, cerr := st.Check(ctx)
				st.Close()
				if cerr != nil {
					return cerr
				}
				for i, p := range rep.Problems {
					rep.Problems[i] = cardnum.Scrub(p)
				}
				res = &admin.CheckResult{OK: rep.OK(), CheckReport: rep}
				how = "directly on " + dir + " (read-only; no host runs from " + g.DataDir + ")"
				if useAPI {
					how = "directly on " + dir + " (read-only; no host answers at " + g.baseURL() + ")"
				}
			}
			if asJSON {
				if err := adminPrintJSON(out, res); err != nil {
					return err
				}
			} else {
				verdict := "OK"
				if !res.OK {
					verdict = fmt.Sprintf("%d PROBLEMS", len(res.Problems))
				}
				fmt.Fprintf(out, "ledger check %s: %s\n", how, verdict)
				fmt.Fprintf(out, "accounts %d, transfers %d, journal entries %d; money sum %d pending %d; points sum %d pending %d\n",
					res.Accounts, res.Transfers, res.Txns, res.Money.Sum, res.Money.Pending, res.Points.Sum, res.Points.Pending)
				fmt.Fprintf(out, "secrets: %s\n", res.Secrets)
				fmt.Fprintf(out, "outbox: %s\n", res.Outbox)
				for _, p := range res.Problems {
					fmt.Fprintln(out, "  -", p)
				}
			}
			if !res.OK {
				return fmt.Errorf("ledger check found %d problems", len(res.Problems))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringVar(&config, "config", "", "for a check without a host: the host's configuration, for its master key (default: DATA/master.key)")
	return cmd
}
