package rig

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SoftHSMModule is the PKCS#11 library of the Debian package softhsm2.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM is a SoftHSM2 token store private to one test.
type SoftHSM struct {
	Module string // the PKCS#11 library to load
	Conf   string // the config file SOFTHSM2_CONF points at
}

// NewSoftHSM requires softhsm2, makes an empty token directory and config
// file in t.TempDir, and points SOFTHSM2_CONF at it with t.Setenv.
//
// SoftHSM reads SOFTHSM2_CONF when the library is initialised, and the
// environment is the process's: a test using this cannot run in parallel
// (t.Setenv enforces that), and must close every KEK it opens before it
// ends, so that the next test's initialisation reads its own config.
func NewSoftHSM(t testing.TB) *SoftHSM {
	t.Helper()
	Require(t, "softhsm2", "softhsm2-util")
	RequireFile(t, "softhsm2", SoftHSMModule)
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	return &SoftHSM{Module: SoftHSMModule, Conf: conf}
}

// InitToken initialises a new token with a label and the user and SO
// PINs (test values: these tokens hold nothing but test keys).
func (h *SoftHSM) InitToken(t testing.TB, label, userPIN, soPIN string) {
	t.Helper()
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", userPIN, "--so-pin", soPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+h.Conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token %s: %v\n%s", label, err, out)
	}
}
