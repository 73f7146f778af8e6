package ledger

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/keys"
)

// TestKeyLoadsSealAndAudit: a TMK and an IMK loaded by an operator are
// stored sealed, open to what was loaded, and leave one audit record
// each; a load without an operator, or for a record that does not exist,
// changes nothing.
func TestKeyLoadsSealAndAudit(t *testing.T) {
	kek, err := keys.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	clk := &fixedClock{time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), Options{Now: clk.now, Sealer: kek})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156"}))
	must(t, s.PutMerchant(ctx, Merchant{MID: testMID, ProgramID: "p1", Home: true}))
	must(t, s.PutTerminal(ctx, Terminal{TID: testTID, MID: testMID, Enabled: true}))
	op := Operator{Name: "alice", Reason: "key ceremony"}
	imk := bytes.Repeat([]byte{0x2A, 0x4C}, 8)
	tmk := bytes.Repeat([]byte{0x13, 0x57}, 8)

	if err := s.SetProgramIMK(ctx, "p1", imk, "AAAAAA", Operator{Name: "alice"}); !errors.Is(err, ErrNoOperator) {
		t.Fatalf("no reason: %v", err)
	}
	if err := s.SetProgramIMK(ctx, "p9", imk, "AAAAAA", op); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown program: %v", err)
	}
	if err := s.SetTerminalTMK(ctx, "T9999999", tmk, "BBBBBB", op); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown terminal: %v", err)
	}
	if recs, _ := s.AuditLog(0, 10); len(recs) != 0 {
		t.Fatalf("refused loads left records: %+v", recs)
	}

	must(t, s.SetProgramIMK(ctx, "p1", imk, "AAAAAA", op))
	must(t, s.SetTerminalTMK(ctx, testTID, tmk, "BBBBBB", op))
	p, err := s.Program("p1")
	if err != nil || p.IMKKCV != "AAAAAA" || bytes.Contains(p.IMK, imk[:8]) {
		t.Fatalf("program: %+v %v", p, err)
	}
	if got, err := s.IssuerMasterKey(p); err != nil || !bytes.Equal(got, imk) {
		t.Fatalf("IMK opens to %x, %v", got, err)
	}
	term, _, err := s.Terminal(testTID)
	if err != nil || term.TMKKCV != "BBBBBB" {
		t.Fatalf("terminal: %+v %v", term, err)
	}
	if got, err := s.TerminalMasterKey(term); err != nil || !bytes.Equal(got, tmk) {
		t.Fatalf("TMK opens to %x, %v", got, err)
	}
	// A registry edit without a key keeps the loaded one.
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", Name: "renamed"}))
	if p, _ := s.Program("p1"); p.IMKKCV != "AAAAAA" || p.IMK == nil {
		t.Fatalf("PutProgram dropped the IMK: %+v", p)
	}
	recs, err := s.AuditLog(0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("audit: %+v %v", recs, err)
	}
	if r := recs[0]; r.Action != "program_imk" || r.Target != "p1" || r.Operator != "alice" || r.Reason != "key ceremony" || r.Detail != `kcv "" -> "AAAAAA"` {
		t.Errorf("imk record: %+v", r)
	}
	if r := recs[1]; r.Action != "terminal_tmk" || r.Target != testTID {
		t.Errorf("tmk record: %+v", r)
	}
}

// TestKeyLoadWithoutMasterKey: a store without a host master key refuses
// to take a key at all.
func TestKeyLoadWithoutMasterKey(t *testing.T) {
	s, _ := openTest(t)
	op := Operator{Name: "alice", Reason: "key ceremony"}
	if err := s.SetProgramIMK(context.Background(), "p1", bytes.Repeat([]byte{1, 2}, 8), "AAAAAA", op); !errors.Is(err, ErrNoMasterKey) {
		t.Fatalf("%v", err)
	}
	if p, _ := s.Program("p1"); p.IMK != nil || p.IMKKCV != "" {
		t.Fatalf("changed: %+v", p)
	}
}
