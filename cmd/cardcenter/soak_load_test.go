//go:build soak

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/terminal"
)

// soak_load_test.go: the soak's mixed load. Each demo terminal is a
// terminal.Terminal (the POS state machine: STANs, batches, voids,
// reversals, completions, batch close with uploads, working keys and
// MACs, PIN blocks) whose exchanges go through a soakExchanger, which
// records each request and its outcome in the model. The terminals
// share two connections, several requests in flight on each.

// soakExchanger is the terminals' connection: the cycle's Client (a new
// one after every restart, the host's port changes), with every exchange
// recorded.
type soakExchanger struct {
	model *soakModel
	mu    sync.Mutex
	c     *terminal.Client
	taks  map[string][]byte // TID → TAK, given again to each new Client
}

func (x *soakExchanger) client() *terminal.Client {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.c
}

// use makes c the connection of the next exchanges.
func (x *soakExchanger) use(c *terminal.Client) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.c = c
	for tid, tak := range x.taks {
		c.SetTAK(tid, tak)
	}
}

func (x *soakExchanger) Do(ctx context.Context, req *wire.Message) (*wire.Message, error) {
	resp, err := x.client().Do(ctx, req)
	// The Client has set the MAC: the clone is the request byte for byte
	// as it went out, what a retransmission must repeat.
	x.model.record(req.Clone(), resp, err)
	return resp, err
}

func (x *soakExchanger) SetTAK(tid string, tak []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.taks[tid] = append([]byte(nil), tak...)
	x.c.SetTAK(tid, tak)
}

// soakTerminal is one terminal of the load and its random source.
type soakTerminal struct {
	t   *terminal.Terminal
	cfg terminal.TerminalConfig // StatePath set: see skipBatch
	rng *rand.Rand
}

// skipBatch moves the terminal to its next batch number, forgetting the
// open batch: what a terminal does when it learns that the host closed
// its batch, here because a batch close the kill cut off was approved
// when retransmitted after the restart. The terminal never got that 00,
// so it still names the closed batch, and the host declines everything
// naming it (12) and refuses to close it again; contract section 6 lets
// a terminal skip numbers. terminal.Terminal has no call for it, so the
// soak edits the terminal's state file (a temporary file of the soak's)
// and loads it again.
func (st *soakTerminal) skipBatch() error {
	raw, err := os.ReadFile(st.cfg.StatePath)
	if err != nil {
		return err
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("state file of %s: %w", st.cfg.TID, err)
	}
	var batch int
	if err := json.Unmarshal(f["batch"], &batch); err != nil {
		return fmt.Errorf("state file of %s: batch: %w", st.cfg.TID, err)
	}
	f["batch"], f["txns"] = json.RawMessage(strconv.Itoa(batch+1)), json.RawMessage("[]")
	if raw, err = json.Marshal(f); err != nil {
		return err
	}
	if err := os.WriteFile(st.cfg.StatePath, raw, 0o600); err != nil {
		return err
	}
	st.t, err = terminal.NewTerminal(st.cfg)
	return err
}

// The mix, in weights: every financial request of contract section 3,
// and now and then a batch close (with uploads when the totals differ,
// as they do after a kill resolved a request the terminal gave up on).
var soakMix = []struct {
	op     terminal.Op
	weight int
}{
	{terminal.OpPurchase, 20}, {terminal.OpBalance, 6}, {terminal.OpLoad, 18},
	{terminal.OpRefund, 8}, {terminal.OpVoid, 8}, {terminal.OpReverse, 6},
	{terminal.OpPreAuth, 8}, {terminal.OpComplete, 8}, {terminal.OpAccrual, 8},
	{terminal.OpRedeem, 8}, {terminal.OpSettle, 2},
}

// run sends requests until one gets no answer (the host was killed) or
// ctx ends.
func (st *soakTerminal) run(ctx context.Context, cards []terminal.Card) {
	total := 0
	for _, m := range soakMix {
		total += m.weight
	}
	for ctx.Err() == nil {
		pick := st.rng.IntN(total)
		op := soakMix[0].op
		for _, m := range soakMix {
			if pick < m.weight {
				op = m.op
				break
			}
			pick -= m.weight
		}
		if len(st.t.Txns()) >= soakMaxBatch {
			op = terminal.OpSettle
		}
		err := st.step(ctx, op, cards)
		if errors.Is(err, terminal.ErrBatchFull) {
			continue // nothing was sent; the batch closes next
		}
		if err != nil {
			return
		}
	}
}

// soakMaxBatch is the open batch at which a soak terminal closes it. The
// close of a batch whose totals differ from the host's (after a kill,
// the host has approvals the terminal never heard of) uploads every
// transaction; a batch left to grow to the terminal's limit (999) makes
// that take longer than the time between kills, so the close never
// finishes and the batch fills up.
const soakMaxBatch = 100

// step sends one operation. An error is a request without an answer (or
// a protocol failure, which the model keeps): the load of this terminal
// ends there, as a terminal's does when its host goes away.
func (st *soakTerminal) step(ctx context.Context, op terminal.Op, cards []terminal.Card) error {
	card := cards[st.rng.IntN(len(cards))]
	amount := terminal.Fen(1 + st.rng.IntN(5000))
	var err error
	switch op {
	case terminal.OpPurchase:
		_, err = st.t.Purchase(ctx, card, amount)
	case terminal.OpBalance:
		_, err = st.t.Balance(ctx, card)
	case terminal.OpLoad:
		_, err = st.t.Load(ctx, card, amount)
	case terminal.OpAccrual:
		_, err = st.t.Accrual(ctx, card, amount)
	case terminal.OpRedeem:
		_, err = st.t.Redeem(ctx, card, 1+amount%500)
	case terminal.OpPreAuth:
		_, err = st.t.PreAuth(ctx, card, amount)
	case terminal.OpSettle:
		_, err = st.t.Settle(ctx)
	default:
		x, ok := st.original(op)
		if !ok {
			return nil
		}
		orig := terminal.Card{PAN: x.PAN, Expiry: x.Expiry, Manual: true}
		switch op {
		case terminal.OpRefund:
			_, err = st.t.Refund(ctx, orig, x.RRN, 1+terminal.Fen(st.rng.Int64N(int64(x.Amount))))
		case terminal.OpVoid:
			_, err = st.t.Void(ctx, x)
		case terminal.OpReverse:
			_, err = st.t.Reverse(ctx, x)
		case terminal.OpComplete:
			_, err = st.t.Complete(ctx, x, 1+terminal.Fen(st.rng.Int64N(int64(x.Amount))))
		}
	}
	return err
}

// original picks a transaction of the open batch that op can name:
// purchases (and completions) for refunds, pre-authorizations for
// completions, anything not yet undone for voids and reversals.
func (st *soakTerminal) original(op terminal.Op) (terminal.Txn, bool) {
	var fit []terminal.Txn
	for _, x := range st.t.Txns() {
		if x.Voided || x.Reversed {
			continue
		}
		switch op {
		case terminal.OpRefund:
			if x.Op == terminal.OpPurchase || x.Op == terminal.OpComplete {
				fit = append(fit, x)
			}
		case terminal.OpComplete:
			if x.Op == terminal.OpPreAuth {
				fit = append(fit, x)
			}
		case terminal.OpVoid:
			if x.Op != terminal.OpVoid && x.Op != terminal.OpPreAuth && x.Op != terminal.OpComplete {
				fit = append(fit, x)
			}
		case terminal.OpReverse:
			fit = append(fit, x)
		}
	}
	if len(fit) == 0 {
		return terminal.Txn{}, false
	}
	return fit[st.rng.IntN(len(fit))], true
}
