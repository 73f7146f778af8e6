package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
)

func newBackupCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "backup DIR",
		Short: "Write a consistent copy of the running host's store to DIR (a Pebble checkpoint)",
		Long: `Ask the running host for a Pebble checkpoint of its store: a consistent copy,
cheap because immutable tables are hard-linked. DIR is a path on the host's
machine; the copy goes to DIR/ledger (which must not exist), so DIR is a data
directory: verify it with "cardcenter check --data DIR", restore by serving it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), adminCallTimeout)
			defer cancel()
			res, err := c.Checkpoint(ctx, adminStoreDir(dir))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "checkpoint written to %s in %d ms\n", res.Dir, res.TookMs)
			return nil
		},
	}
}
