package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is the release and commit the commit, set by the Makefile with
// -ldflags "-X main.version=… -X main.commit=…"; without them, "dev" and
// the commit Go's build info recorded.
var (
	version = "dev"
	commit  = ""
)

// buildVersion describes this binary: the release, the commit it was built
// from (with "+dirty" when the tree had changes, and the commit's time),
// and the Go toolchain. The commit comes from the Go build info, which
// records it when the binary is built inside a git checkout.
func buildVersion() string {
	rev, when, dirty := commit, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if dirty {
		rev += "+dirty"
	}
	if when != "" {
		rev += " (" + when + ")"
	}
	return fmt.Sprintf("cardcenter %s\ncommit %s\n%s %s/%s\n", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from, and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), buildVersion())
			return err
		},
	}
}
