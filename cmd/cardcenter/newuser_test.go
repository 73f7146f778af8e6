package main

// What a new user does first: `make run`, then the README's commands as
// written, in another terminal. These tests do the same in-process, in a
// temporary working directory laid out like the repository, with the demo
// on ephemeral ports (which the CLI finds through var/demo/host.json).

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/provision"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"
)

// cliRun runs the whole CLI (the root command) in-process.
func cliRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// exitCode is the status main would exit with.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// watchBuf is an output sink that says when a marker has been written.
type watchBuf struct {
	syncbuf.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func newWatchBuf(marker string) *watchBuf {
	return &watchBuf{marker: marker, seen: make(chan struct{})}
}

func (w *watchBuf) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	if strings.Contains(w.Buffer.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

// newUserDir makes a working directory with the repository's demo files and
// a config that puts the demo on ephemeral ports, and changes into it.
func newUserDir(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"testdata/demo.yaml", "testdata/pos/demo.pos"} {
		raw, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o700); err != nil {
			t.Fatal(err)
		}
		adminWriteFile(t, filepath.Join(dir, f), string(raw))
	}
	adminWriteFile(t, filepath.Join(dir, "ports.yaml"),
		"gateway:\n  listeners:\n    - addr: 127.0.0.1:0\nadmin:\n  addr: 127.0.0.1:0\n")
	t.Chdir(dir)
}

func TestNewUserREADMEAfterMakeRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	newUserDir(t)
	demo := []string{"demo", "--config", "ports.yaml", "--log-level", "error"}

	// The first run imports the demo; a second says it continues.
	out, err := cliRun(t, append(demo, "--exit")...)
	if err != nil || !strings.Contains(out, "new store in var/demo") || !strings.Contains(out, "stopped cleanly") {
		t.Fatalf("first demo run: %v\n%s", err, out)
	}
	// The demo shows contract section 7: keys at sign-on, MACs, a PIN
	// purchase and a wrong PIN, chip purchases whose ARPC verified.
	for _, want := range []string{"keys=ok", "mac=ok", "55 wrong or missing PIN     pin=entered mac=ok",
		"150.00  00 approved", "pin=entered mac=ok", "atc=1 arpc=ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("first demo run does not show %q:\n%s", want, out)
		}
	}
	demoShowsLoyalty(t, "first demo run", out)
	out, err = cliRun(t, append(demo, "--exit")...)
	if err != nil || !strings.Contains(out, "continuing the existing store in var/demo: 14 cards, ") ||
		!strings.Contains(out, "rm -rf var/demo") {
		t.Fatalf("second demo run: %v\n%s", err, out)
	}
	// A rerun finds the money and the points again; alice stays Ruby
	// (her upgrade is the first run's).
	demoShowsLoyalty(t, "second demo run", out)
	if _, err := os.Stat("var/demo/" + hostFileName); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host file left behind after a clean stop: %v", err)
	}

	// The third keeps serving until "Ctrl-C" (the context's end).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := newWatchBuf("Ctrl-C stops it")
	done := make(chan error, 1)
	go func() {
		root := newRootCmd()
		root.SetOut(live)
		root.SetErr(live)
		root.SetArgs(demo)
		done <- root.ExecuteContext(ctx)
	}()
	select {
	case <-live.seen:
	case err := <-done:
		t.Fatalf("demo ended: %v\n%s", err, live.String())
	}

	f, err := provision.Load("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := f.Alias("alice")
	var all strings.Builder
	step := func(wantCode int, want string, args ...string) {
		t.Helper()
		out, err := cliRun(t, args...)
		all.WriteString(out)
		if err != nil {
			all.WriteString(err.Error())
		}
		if got := exitCode(err); got != wantCode {
			t.Errorf("%s: exit %d, want %d: %v\n%s", strings.Join(args, " "), got, wantCode, err, out)
		}
		if text := out + errString(err); !strings.Contains(text, want) {
			t.Errorf("%s: %q not in\n%s", strings.Join(args, " "), want, text)
		}
	}
	// The README's commands, as written: the demo's batch 1 is closed, the
	// purchase goes into the batch the demo terminal moved on to.
	step(0, "00 approved", "pos", "purchase", "--card", "alice", "--amount", "12.50")
	step(0, "arpc=ok", "pos", "purchase", "--card", "alice", "--amount", "8.00", "--entry", "chip")
	step(0, "pin=entered mac=ok", "pos", "purchase", "--card", "mei", "--amount", "150.00")
	step(1, "purchase answered 55: wrong or missing PIN", "pos", "purchase", "--card", "mei", "--amount", "150.00", "--pin", "0000")
	step(0, "balance  ", "card", "show", alice.PAN)
	step(0, cardnum.Mask(alice.PAN), "card", "show", "alice")
	step(0, "Pearl -> Ruby", "card", "loyalty", "alice")
	step(0, "tote-bag", "mall", "reward", "list", "mallcoalition")
	step(0, "1 × tote-bag, 1500 points, placed", "mall", "order", "place", "alice", "--reward", "tote-bag", "--note", "demo")
	step(0, "through the admin API", "check")
	step(0, "checkpoint written to", "backup", "var/backup")
	// An explicit --data is that directory, even while a host runs.
	step(0, "ledger check directly on var/backup/ledger (read-only; no host runs from var/backup): OK", "check", "--data", "var/backup")

	// Declines exit 1 with the code; --expect makes them 0; no host is 2.
	step(1, "purchase answered 51: insufficient funds", "pos", "purchase", "--card", "alice", "--amount", "90000.00")
	step(0, "51 insufficient funds", "pos", "purchase", "--card", "alice", "--amount", "90000.00", "--expect", "51")
	step(1, "want 00, got 51", "pos", "purchase", "--card", "alice", "--amount", "90000.00", "--expect", "00")
	step(1, "purchase answered 58: terminal T0000199 is disabled on the host", "pos", "purchase", "--tid", "T0000199", "--card", "alice", "--amount", "1.00", "--state-dir", "var/pos199")
	step(1, "58 terminal disabled", "pos", "signon", "--tid", "T0000199", "--state-dir", "var/pos199")
	step(1, "purchase answered 58: terminal T0000301 is not signed on", "pos", "purchase", "--tid", "T0000301", "--card", "alice", "--amount", "1.00", "--state-dir", "var/pos301")
	step(2, "amount", "pos", "purchase", "--card", "alice", "--amount", "1.234")
	step(2, "unknown flag", "pos", "purchase", "--crad", "alice")
	step(2, "connection refused", "pos", "echo", "--addr", adminClosedAddr(t))

	// Cards by name or PAN; anything else says what to give.
	step(1, `no card "alicia": give a PAN (12 to 19 digits) or a card name from testdata/demo.yaml`, "card", "show", "alicia")
	// Adjustment errors speak yuan, as the operator typed.
	step(1, "credit 99999.00 yuan would bring the balance", "card", "adjust", "alice", "99999.00", "--note", "x")
	step(1, "above its maximum 5000.00 yuan", "card", "adjust", "alice", "99999.00", "--note", "x")
	step(1, "debit 99999.00 yuan above available", "card", "adjust", "alice", "99999.00", "--debit", "--note", "x")
	adminNoClearPAN(t, f, all.String())

	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo after Ctrl-C: %v", err)
	}
	if text := live.String(); !strings.Contains(text, "stopping: draining in-flight requests") || !strings.Contains(text, "stopped cleanly") {
		t.Errorf("Ctrl-C is not answered:\n%s", text)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

// demoShowsLoyalty checks a demo run's loyalty lines by their markers,
// not their figures (December's double, say, depends on the date): points
// earned, a redemption paid with points and one refused (51), the demo's
// catalog, and alice's member view with her tier and its history.
func demoShowsLoyalty(t *testing.T, run, out string) {
	t.Helper()
	for _, want := range []string{
		`points mall: 2 rewards in mallcoalition's catalog`,
		`purchase  621000\*{6}0011 +12\.50  00 approved .* points=\d+ earned=\d+ mac=ok`,
		`purchase  621000\*{6}0011 +3182\.00  00 approved .* earned=\d+ mac=ok`,
		`redeem    621000\*{6}0011 +5\.00  00 approved .* debited=500 mac=ok`,
		`redeem    621000\*{6}0037 +50\.00  51 insufficient funds .* points=0 mac=ok`,
		`alice's loyalty after the script \(bin/cardcenter card loyalty alice\):\ntier +Ruby +multiplier 120\.00 %`,
		`points +\d+ +available \d+, \d+ lots\n  lot \d{12}`,
		`tier history:\n  \S+ +Pearl -> Ruby +upgrade \d{12}`,
		`earned=N +points the request earned`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("%s does not show %s:\n%s", run, want, out)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConfigExampleIsEveryKeyWithItsDefault(t *testing.T) {
	const sample = "../../cardcenter.example.yaml"
	got, err := LoadConfig(sample)
	if err != nil {
		t.Fatal(err)
	}
	want, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s is not the defaults:\n got %+v\nwant %+v", sample, got, want)
	}
	raw, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	have := yamlKeyPaths(t, raw)
	for _, k := range configKeyPaths(reflect.TypeOf(Config{}), "") {
		if !have[k] {
			t.Errorf("%s lacks the key %s", sample, k)
		}
	}
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ yaml, want string }{
		{"log:\n  levle: info\n", "log.levle: unknown key; want one of format, level (line 2)"},
		{"gateway:\n  read_timeout: 30\n", "gateway.read_timeout: want a duration such as 30s or 5m, got a single value (line 2)"},
		{"gateway:\n  listeners:\n    - {addr: x, framng: len2}\n", "gateway.listeners[0].framng: unknown key; want one of kind, addr, framing, packager, serial, tls (line 3)"},
		{"data_dri: x\n", "data_dri: unknown key; want one of data_dir, log, business, gateway, admin, queue_limit, hot_cards, keys (line 1)"},
		{"business:\n  cutoff_hour: 24\n", "business.cutoff_hour 24: want 0..23"},
	} {
		path := filepath.Join(dir, "c.yaml")
		adminWriteFile(t, path, tc.yaml)
		_, err := LoadConfig(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "struct {") {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := cliRun(t, "version")
	if err != nil || !strings.HasPrefix(out, "cardcenter ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %v\n%s", err, out)
	}
}

// configKeyPaths lists the leaf keys of a config type ("log.level",
// "gateway.listeners.addr": list items are not numbered).
func configKeyPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "-" { // not a key of the file
			continue
		}
		k := prefix + name
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			out = append(out, configKeyPaths(ft, k+".")...)
			continue
		}
		out = append(out, k)
	}
	return out
}

// yamlKeyPaths lists the key paths a YAML document sets, in the same form.
func yamlKeyPaths(t *testing.T, raw []byte) map[string]bool {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := prefix + n.Content[i].Value
				have[k] = true
				walk(n.Content[i+1], k+".")
			}
		}
	}
	walk(&root, "")
	return have
}
