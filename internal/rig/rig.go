// Package rig decides what a test does when a system tool it needs (a
// device rig: tshark, pcscd, socat, softhsm2, …) is missing: outside CI it skips,
// naming the package to install; with the CI environment variable set it
// fails, because CI installs every rig (.ci/run) and a skip there would
// hide a broken install.
package rig

import (
	"os"
	"os/exec"
	"testing"
)

// Require looks up each tool on PATH; pkg names the Debian package that
// provides them.
func Require(t testing.TB, pkg string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("rig missing under CI: %s not found (package %s; scripts/rigs.sh installs it)", tool, pkg)
			}
			t.Skipf("%s not installed (apt-get install %s, or run make test as root)", tool, pkg)
		}
	}
}

// RequireFile is Require for rigs that are files rather than commands
// (a shared library such as a PKCS#11 module).
func RequireFile(t testing.TB, pkg string, paths ...string) {
	t.Helper()
	for _, path := range paths {
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("rig missing under CI: %s not found (package %s; scripts/rigs.sh installs it)", path, pkg)
			}
			t.Skipf("%s not installed (apt-get install %s, or run make test as root)", path, pkg)
		}
	}
}
