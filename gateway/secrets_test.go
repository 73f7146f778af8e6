package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/rig"
	"github.com/cardcenter/cardcenter/internal/syncbuf"
	"github.com/cardcenter/cardcenter/keys"
	"github.com/rs/zerolog"
)

// scenarioFiles lists the scenario files that run on one ascii/len2
// listener (the framing-specific fault files need their own framing).
func scenarioFiles(t *testing.T) []string {
	files, err := filepath.Glob("../testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	var out []string
	for _, f := range files {
		if b := filepath.Base(f); !strings.Contains(b, "_ascii4") && !strings.Contains(b, "_tpdu") {
			out = append(out, f)
		}
	}
	return out
}

// runScenarioSet runs every scenario file on ascii/len2 with opts, one
// after the other (a PKCS#11 test may not run in parallel).
func runScenarioSet(t *testing.T, opts hostOptions) {
	for _, path := range scenarioFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runScenario(t, path, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"}, opts)
		})
	}
}

// The host master key from each of its sources seals the same fixture and
// runs the same scenarios: a key file made on first start, an environment
// variable, and a PKCS#11 token (SoftHSM2) whose key never leaves it.
func TestScenariosKEKFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	kek, created, err := keys.LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("key file: created=%v %v", created, err)
	}
	defer kek.Close()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st.Mode(), err)
	}
	runScenarioSet(t, hostOptions{kek: kek})
}

func TestScenariosKEKFromEnv(t *testing.T) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CARDCENTER_TEST_KEK", hex.EncodeToString(raw))
	kek, err := keys.FromEnv("CARDCENTER_TEST_KEK")
	if err != nil {
		t.Fatal(err)
	}
	defer kek.Close()
	runScenarioSet(t, hostOptions{kek: kek})
}

func TestScenariosKEKFromPKCS11(t *testing.T) {
	hsm := rig.NewSoftHSM(t)
	hsm.InitToken(t, "cardcenter", "1234", "5678")
	kek, err := keys.OpenPKCS11(keys.PKCS11Config{
		Module: hsm.Module, TokenLabel: "cardcenter", PIN: "1234", KeyLabel: "kek", CreateKey: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer kek.Close()
	if !strings.HasPrefix(kek.ID(), "pkcs11:") {
		t.Fatalf("KEK id %q: want a PKCS#11 key", kek.ID())
	}
	runScenarioSet(t, hostOptions{kek: kek})
}

// secretSet collects, from every request and answer of a scenario run,
// the card data and keys that must never be in a log line: clear PANs,
// track 2, PIN blocks, field 55 and 62, MACs aside (they are not secret).
type secretSet struct {
	mu   sync.Mutex
	seen map[string]string // rendering → what it is
}

func (s *secretSet) add(what string, v []byte) {
	if len(v) < 4 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range []string{string(v), hex.EncodeToString(v), strings.ToUpper(hex.EncodeToString(v)),
		base64.StdEncoding.EncodeToString(v)} {
		if len(r) >= 8 { // shorter renderings match by chance
			s.seen[r] = what
		}
	}
}

func (s *secretSet) exchanged(req, resp *wire.Message) {
	for n, what := range map[int]string{2: "PAN", 35: "track 2", 52: "PIN block", 55: "field 55"} {
		if v, ok := req.Fields[n]; ok {
			s.add(what, []byte(v))
		}
	}
	if _, ok := req.Fields[35]; ok {
		s.add("PAN", []byte(cardPAN(req)))
	}
	for n, what := range map[int]string{55: "field 55 (91)", 62: "field 62"} {
		if v, ok := resp.Fields[n]; ok {
			s.add(what, []byte(v))
		}
	}
}

// TestScenariosLeakNothing runs the whole scenario set with debug logging
// and fails if any log line (decisions, their reasons, which carry every
// error string, refusals, the store's own lines) holds a clear PAN, track
// 2, PIN block, key or field 55 value.
func TestScenariosLeakNothing(t *testing.T) {
	var logs syncbuf.Buffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	secrets := &secretSet{seen: map[string]string{}}
	for _, fc := range fixtureCards {
		secrets.add("PAN", []byte(fc.pan))
	}
	for what, k := range map[string][]byte{"TMK": fixtureTMK, "IMK": fixtureIMK} {
		secrets.add(what, k)
	}
	runScenarioSet(t, hostOptions{log: log, exchanged: secrets.exchanged})

	out := []byte(logs.String())
	if len(out) == 0 {
		t.Fatal("no log lines: the test would prove nothing")
	}
	if !bytes.Contains(out, []byte(`"message":"decision"`)) {
		t.Fatal("no decision lines in the log")
	}
	for r, what := range secrets.seen {
		if i := bytes.Index(out, []byte(r)); i >= 0 {
			line := out[bytes.LastIndexByte(out[:i], '\n')+1:]
			if j := bytes.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("the log holds a %s in clear, in the line of %d bytes starting %.60q", what, len(line), strings.ReplaceAll(string(line), r, "<SECRET>"))
		}
	}
}
