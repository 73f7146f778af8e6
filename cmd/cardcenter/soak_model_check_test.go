//go:build soak

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// TestSoakModel: the soak's comparisons can fail. The model books
// purchases, refunds, voids and a reversed void as contract section 3
// says, and compareJournal reports an approval missing from the journal,
// an entry twice, a declined request in the journal, an entry nobody
// sent, and a wrong RRN; a cut-off request's entry is only counted.
func TestSoakModel(t *testing.T) {
	const pan, tid, f7 = "6210000000000029", "T0000101", "1201000000"
	msg := func(mti, pc, stan, amount, f90 string) *wire.Message {
		m := wire.NewMessage(mti).Set(3, pc).Set(4, amount).Set(7, f7).Set(11, stan).Set(41, tid).Set(2, pan)
		if f90 != "" {
			m.Set(90, f90)
		}
		return m
	}
	answer := func(rc, rrn string) *wire.Message {
		a := wire.NewMessage("0210").Set(39, rc)
		if rrn != "" {
			a.Set(37, rrn)
		}
		return a
	}
	m := newSoakModel()
	m.record(msg("0200", "000000", "000001", "000000001000", ""), answer("00", "000000000001"), nil)
	m.record(msg("0200", "200000", "000002", "000000000300", ""), answer("00", "000000000002"), nil)
	m.record(msg("0200", "020000", "000003", "000000000300", "0200000002"+f7), answer("00", "000000000003"), nil)
	m.record(msg("0400", "020000", "000004", "000000000300", "0200000003"+f7), answer("00", ""), nil)
	m.record(msg("0200", "000000", "000005", "000000009999", ""), answer("51", ""), nil)
	m.record(msg("0200", "210000", "000006", "000000000500", ""), nil, errors.New("connection reset"))
	if got := m.expectedLedger(pan, 10000); got != 10000-1000+300 {
		t.Fatalf("model balance %d, want %d (purchase 1000, refund 300 voided and the void reversed)", got, 10000-1000+300)
	}

	entry := func(stan string, seq uint64, amount ledger.Amount) ledger.Txn {
		return ledger.Txn{TID: tid, STAN: stan, Time: f7, Seq: seq, Amount: amount}
	}
	good := []ledger.Txn{entry("000001", 1, 1000), entry("000002", 2, 300), entry("000003", 3, 300),
		entry("000004", 4, 300), entry("000006", 5, 500), {Seq: 6, Amount: 7}}
	cut, problems := m.compareJournal(good)
	if cut != 1 || len(problems) != 0 {
		t.Fatalf("a journal that matches: %d cut off, problems %v; want 1 and none", cut, problems)
	}
	for name, tc := range map[string]struct {
		journal []ledger.Txn
		want    string
	}{
		"missing":   {good[1:], "000001/" + f7 + " 0200/000000 approved"},
		"twice":     {append(good, entry("000002", 7, 300)), "twice"},
		"declined":  {append(good, entry("000005", 7, 9999)), "declined 51"},
		"never":     {append(good, entry("000099", 7, 1)), "never sent"},
		"wrong rrn": {append([]ledger.Txn{entry("000001", 9, 1000)}, good[1:]...), "rrn 000000000009, the client was told 000000000001"},
	} {
		_, problems := m.compareJournal(tc.journal)
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: problems %q, want one saying %q", name, problems, tc.want)
		}
	}
}
