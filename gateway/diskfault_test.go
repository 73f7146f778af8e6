package gateway

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// A disk whose syncs fail, end to end over TCP: the terminal gets 96
// for what could not be made durable, on a connection that stays up;
// once the disk is back the host answers 00 again without a restart,
// the retransmission of a purchase answered 96 is decided afresh, and
// the store holds exactly what was answered 00.
func TestDiskFaultAnswers96OverTCP(t *testing.T) {
	fault := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			return errorfs.ErrInjected
		}
		return nil
	})}
	clk := &testClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	h := startHost(t, t.TempDir(), clk, ListenerConfig{Addr: "127.0.0.1:0", Framing: "len2", Packager: "ascii"},
		hostOptions{fs: errorfs.Wrap(vfs.Default, fault)})
	provisionFixture(t, h.store)
	c := h.dial()
	defer c.close()
	signOn(t, h, c, "T0000101")
	send := func(stan string, amount int) *wire.Message {
		t.Helper()
		packed, _ := h.pk.Pack(purchase("T0000101", stan, amount))
		raw, closed, err := c.roundTrip(c.frame(packed))
		if err != nil || closed {
			t.Fatalf("stan %s: %v closed=%v", stan, err, closed)
		}
		resp, err := h.pk.Unpack(raw)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if rc := send("000001", 100).Fields[39]; rc != "00" {
		t.Fatalf("before the fault: rc %s", rc)
	}

	fault.On()
	for _, stan := range []string{"000002", "000003"} {
		if rc := send(stan, 50).Fields[39]; rc != "96" {
			t.Fatalf("stan %s while syncs fail: rc %s, want 96", stan, rc)
		}
	}
	if err := h.store.Health(); !errors.Is(err, ledger.ErrHost) {
		t.Fatalf("Healthy while syncs fail: %v", err)
	}

	fault.Off()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := h.store.WaitHealthy(ctx); err != nil {
		t.Fatal(err)
	}
	if resp := send("000002", 50); resp.Fields[39] != "00" || resp.Fields[37] == "" {
		t.Fatalf("retransmission after recovery: rc %s rrn %q, want a fresh 00", resp.Fields[39], resp.Fields[37])
	}
	fc, _ := cardByName("alice")
	if b, err := h.store.CardBalances(fc.pan); err != nil || b.Ledger != 100000-150 {
		t.Fatalf("balance after recovery: %+v %v", b, err)
	}
	if rep, err := h.store.Check(ctx); err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
	h.stop()

	// Durable: what the terminal was answered 00 for, and only that.
	st, err := ledger.Open(h.dir, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var stans []string
	st.ScanJournal(ctx, func(tx *ledger.Txn) error {
		if tx.Kind == ledger.KindPurchase {
			stans = append(stans, tx.STAN)
		}
		return nil
	})
	if len(stans) != 2 || stans[0] != "000001" || stans[1] != "000002" {
		t.Fatalf("purchases in the journal after a restart: %v, want 000001 and 000002", stans)
	}
}
