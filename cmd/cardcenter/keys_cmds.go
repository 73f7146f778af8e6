package main

// keys_cmds.go: `cardcenter keys status` and `cardcenter keys rotate`,
// the host master key (KEK) that seals every key the store keeps.
//
// A rotation runs offline, with the host stopped, for three reasons:
//
//   - It is then the only process sealing anything, so its closing check
//     ("every value is sealed by the new key") is final: nothing can seal
//     a value under the old key after it looked. Pebble's lock on the
//     store and the refusal of a data directory whose host.json names a
//     live process make sure of it.
//   - A running host's ring is fixed for its life (the store, the gateway
//     and every cached TMK use it); swapping it under traffic would need
//     a mutable sealer and a way to know no one still uses the old one.
//   - Two of the three sources cannot change under a running process
//     anyway: a new CARDCENTER_KEK, or a new key_label, means a restart.
//
// The cost is downtime: the rotation's own run time, a few seconds for
// tens of thousands of terminals with a key file (docs/operations.md has
// the figures). The store's side (ledger.RewrapSecrets) does not rely on
// the host being stopped: it swaps a value only if it is unchanged, so a
// later online rotation could reuse it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/spf13/cobra"
)

func newKeysCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "The host master key (KEK): status and rotation",
	}
	cmd.AddCommand(newKeysStatusCmd(g), newKeysRotateCmd(g))
	return cmd
}

// keysConfig loads the configuration a keys verb needs: its keys section
// and data directory (--data overrides the file's).
func keysConfig(g *globalFlags, path string) (*Config, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if g.DataDir != "" {
		c.DataDir = g.DataDir
	}
	return c, nil
}

func newKeysRotateCmd(g *globalFlags) *cobra.Command {
	var config string
	var batch int
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every key of a stopped host's store under a new master key, verify, retire the old one",
		Long: `Rotate the host master key (KEK) of the data directory, with its host stopped.

Key file (keys.source: file): the first run makes master.key.next, the new
key; every sealed value is re-sealed under it, the store is checked, and
master.key.next is renamed over master.key, which destroys the old key.
Copy master.key away first if backups taken before the rotation must stay
readable. A run that finds master.key.next resumes that rotation; a run
that does not starts a new one.

Environment (keys.source: env): put the new key in CARDCENTER_KEK and the
old one in CARDCENTER_KEK_OLD, run this, then drop CARDCENTER_KEK_OLD.

PKCS#11 (keys.source: pkcs11): set keys.pkcs11.key_label to the new label
(with create_key: true, or a key made with the token's tools) and
old_key_label to the old one, run this, then remove old_key_label.

A run killed at any point leaves every value sealed by the old key or the
new one; running it again finishes the rotation. See docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := keysConfig(g, config)
			if err != nil {
				return err
			}
			return runKeysRotate(cmd.Context(), c, cmd.OutOrStdout(), batch)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration file (its keys and data_dir)")
	cmd.Flags().IntVar(&batch, "batch", ledger.DefaultRewrapBatch, "values re-sealed per ledger change")
	return cmd
}

// keysCacheBytes is Pebble's block cache for the keys verbs: each reads
// the store once, in key order, so a host's cache would buy nothing.
const keysCacheBytes = 16 << 20

// errHostRunning refuses an offline operation on a live host's data.
var errHostRunning = errors.New("a host is running from this data directory")

// refuseRunningHost fails when host.json names a live host.
func refuseRunningHost(dataDir string) error {
	if h, err := readHostFile(dataDir); err == nil {
		return fmt.Errorf("%w (pid %d, admin %s): stop it first; the key rotation runs with the host stopped (docs/operations.md, Rotating the host master key)",
			errHostRunning, h.PID, h.Admin)
	}
	return nil
}

// storeDirOf is the ledger of a data directory, which must exist: the
// keys verbs never make a store.
func storeDirOf(dataDir string) (string, error) {
	dir := adminStoreDir(dataDir)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("no store in %s: %w", dataDir, err)
	}
	return dir, nil
}

// inspectRing opens the ring of a configuration for reading a store: like
// the host, but a missing key file is an error, never made.
func inspectRing(c *Config) (*keys.Ring, error) {
	if c.Keys.Source == keys.SourceFile || c.Keys.Source == "" {
		path := keyFileOf(c)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
	}
	return keys.OpenRing(c.Keys, c.DataDir)
}

func keyFileOf(c *Config) string {
	if c.Keys.File != "" {
		return c.Keys.File
	}
	return keys.KeyFilePath(c.DataDir)
}

// checkSealed opens the store read-only with ring and checks its sealed
// values. Problems name records only; a PAN cannot be in them, and they
// are scrubbed anyway.
func checkSealed(ctx context.Context, dir string, ring *keys.Ring) (ledger.SecretsReport, []string, error) {
	st, err := ledger.Open(dir, ledger.Options{ReadOnly: true, Sealer: ring, CacheBytes: keysCacheBytes})
	if err != nil {
		return ledger.SecretsReport{}, nil, fmt.Errorf("open store read-only: %w", err)
	}
	defer st.Close()
	rep, probs, err := st.CheckSecrets(ctx)
	for i, p := range probs {
		probs[i] = cardnum.Scrub(p)
	}
	return rep, probs, err
}

func problemsError(what string, probs []string) error {
	return fmt.Errorf("%s: %d problems:\n  - %s", what, len(probs), strings.Join(probs, "\n  - "))
}

// runKeysRotate is `cardcenter keys rotate`.
func runKeysRotate(ctx context.Context, c *Config, out io.Writer, batch int) error {
	if err := refuseRunningHost(c.DataDir); err != nil {
		return err
	}
	dir, err := storeDirOf(c.DataDir)
	if err != nil {
		return err
	}
	fileSource := c.Keys.Source == keys.SourceFile || c.Keys.Source == ""

	// Before anything changes: every value must open under the keys as
	// configured now (a rotation cannot re-seal what it cannot open).
	ring, err := inspectRing(c)
	if err != nil {
		return fmt.Errorf("config keys: %w", err)
	}
	before, probs, err := checkSealed(ctx, dir, ring)
	configured := ring.IDs()
	ring.Close()
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		hint := ""
		if !fileSource && len(configured) == 1 {
			hint = " (a rotation under way? give the old key: CARDCENTER_KEK_OLD, or keys.pkcs11.old_key_label)"
		}
		return problemsError("nothing changed: the store's sealed values do not all open"+hint, probs)
	}
	if !fileSource && len(configured) == 1 {
		// No old key configured: there is nothing to move to.
		fmt.Fprintf(out, "%s\nnothing to rotate: every value is sealed by the current key %s; to rotate, configure the new key and the old one (docs/operations.md)\n", before, configured[0])
		return nil
	}

	// The ring of the rotation: new (current) and old.
	if fileSource {
		path := keyFileOf(c)
		if _, err := os.Stat(keys.NextKeyFile(path)); err == nil {
			fmt.Fprintf(out, "resuming the rotation begun earlier (%s exists)\n", keys.NextKeyFile(path))
		} else if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(out, "starting a rotation: the new key goes to %s\n", keys.NextKeyFile(path))
		}
		ring, err = keys.BeginFileRotation(path)
	} else {
		ring, err = keys.OpenRing(c.Keys, c.DataDir)
	}
	if err != nil {
		return fmt.Errorf("config keys: %w", err)
	}
	defer ring.Close()
	before.CurrentKEK = ring.CurrentID() // the counts, labelled for this ring
	fmt.Fprintf(out, "new key %s, old %s\nbefore: %s\n", ring.CurrentID(), strings.Join(ring.IDs()[1:], ", "), before)

	st, err := ledger.Open(dir, ledger.Options{Sealer: ring, PruneInterval: -1, CacheBytes: keysCacheBytes})
	if err != nil {
		return fmt.Errorf("open store %s: %w", dir, err)
	}
	todo := before.Values - before.ByKEK[ring.CurrentID()]
	step, last := max(1, todo/100), 0
	prog, err := st.RewrapSecrets(ctx, ring.Rewrap, ledger.RewrapOptions{Batch: batch, Progress: func(p ledger.RewrapProgress) {
		if p.Rewrapped-last >= step {
			fmt.Fprintf(out, "re-sealed %d of %d\n", p.Rewrapped, todo)
			last = p.Rewrapped
		}
	}})
	if err != nil {
		st.Close()
		return fmt.Errorf("re-seal (run again to resume): %w", err)
	}
	fmt.Fprintf(out, "re-sealed %d of %d (%d values looked at)\n", prog.Rewrapped, todo, prog.Visited)
	after, probs, err := st.CheckSecrets(ctx)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for i, p := range probs {
		probs[i] = cardnum.Scrub(p)
	}
	if len(probs) > 0 {
		return problemsError("the old key is kept: the check after re-sealing failed", probs)
	}
	fmt.Fprintf(out, "after: %s\n", after)
	if !after.Settled() {
		return fmt.Errorf("the old key is kept: %d of %d values are not sealed by %s; run keys rotate again",
			after.Values-after.ByKEK[after.CurrentKEK], after.Values, after.CurrentKEK)
	}

	// Verified: only now is the old key retired.
	old := strings.Join(ring.IDs()[1:], ", ")
	switch {
	case fileSource:
		if err := keys.FinishFileRotation(keyFileOf(c), ring.CurrentID()); err != nil {
			return err
		}
		fmt.Fprintf(out, "rotation finished: %s now holds %s; the old key %s is destroyed\n", keyFileOf(c), ring.CurrentID(), old)
	case c.Keys.Source == keys.SourceEnv:
		fmt.Fprintf(out, "rotation finished: every value is sealed by %s; unset %s_OLD (the old key %s: keep it offline only if backups taken before now must stay readable), then start the host\n",
			ring.CurrentID(), envNameOf(c), old)
	default:
		fmt.Fprintf(out, "rotation finished: every value is sealed by %s; remove keys.pkcs11.old_key_label from the configuration, start the host, and destroy the old key %s with the token's tools once no backup needs it\n",
			ring.CurrentID(), old)
	}
	return nil
}

func envNameOf(c *Config) string {
	if c.Keys.Env != "" {
		return c.Keys.Env
	}
	return keys.DefaultEnv
}

func newKeysStatusCmd(g *globalFlags) *cobra.Command {
	var config string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The current master key and how many sealed values each key holds (through the running host, else read-only on the store)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := keysConfig(g, config)
			if err != nil {
				return err
			}
			return runKeysStatus(cmd.Context(), g, c, cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "the host's configuration file (its keys and data_dir)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// keysStatus is what `keys status --json` prints.
type keysStatus struct {
	ledger.SecretsReport
	// Rotating: the key file has a successor (file source), or the ring
	// holds an old key (env, pkcs11).
	Rotating bool     `json:"rotating"`
	Problems []string `json:"problems"`
	Via      string   `json:"via"`
}

func runKeysStatus(ctx context.Context, g *globalFlags, c *Config, out io.Writer, asJSON bool) error {
	var st keysStatus
	if _, err := readHostFile(c.DataDir); err == nil {
		// The running host's own checker: its ring, its live store.
		gg := *g
		gg.DataDir = c.DataDir // its token and address, when --config named it
		cl, err := gg.client()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
		defer cancel()
		res, err := cl.Check(ctx)
		if err != nil {
			return err
		}
		st.SecretsReport, st.Via = res.Secrets, "the running host at "+cl.BaseURL
		for _, p := range res.Problems {
			if strings.HasPrefix(p, "sealed ") {
				st.Problems = append(st.Problems, p)
			}
		}
	} else {
		dir, err := storeDirOf(c.DataDir)
		if err != nil {
			return err
		}
		ring, err := inspectRing(c)
		if err != nil {
			return fmt.Errorf("config keys: %w", err)
		}
		defer ring.Close()
		st.SecretsReport, st.Problems, err = checkSealed(ctx, dir, ring)
		if err != nil {
			return err
		}
		st.Via = "the store " + dir + " (read-only; no host runs)"
	}
	st.Rotating = len(st.ByKEK) > 1 || !st.Settled()
	if c.Keys.Source == keys.SourceFile || c.Keys.Source == "" {
		if _, err := os.Stat(keys.NextKeyFile(keyFileOf(c))); err == nil {
			st.Rotating = true
		}
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "current master key: %s (from %s)\n", st.CurrentKEK, st.Via)
		for _, id := range st.KEKs() {
			mark := ""
			if id == st.CurrentKEK {
				mark = "  (current)"
			}
			fmt.Fprintf(out, "  %-24s %8d%s\n", id, st.ByKEK[id], mark)
		}
		fmt.Fprintf(out, "%s\n", st.SecretsReport)
		if st.Rotating {
			fmt.Fprintln(out, "a rotation is under way: stop the host and run \"cardcenter keys rotate\" to finish it")
		}
		for _, p := range st.Problems {
			fmt.Fprintln(out, "  -", p)
		}
	}
	if len(st.Problems) > 0 {
		return fmt.Errorf("%d sealed values have problems", len(st.Problems))
	}
	return nil
}
