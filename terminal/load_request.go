package terminal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_request.go: one request of a load run, built, sent and counted.
// The closed-loop driver (load_closed.go) and the open-loop driver
// (load_open.go) differ only in when they call loadWorker.one.

// loadWorker keeps one request in flight at a time; a connection has
// InFlight of them. Everything it counts is its own until the run ends.
type loadWorker struct {
	cfg    *LoadConfig
	client *Client
	terms  []*loadTerm
	next   int
	tracks []string
	rng    *rand.Rand
	msg    *wire.Message // reused for every request

	f7Sec                      int64
	f7                         string
	hist                       Histogram
	requests, approved, errors int64
	late                       int64 // open loop: sent more than LateAfter after their slot
	declined                   map[string]int64
	byOp                       map[Op]int64
	errSample                  []string
}

func newLoadWorker(cfg *LoadConfig, client *Client, terms []*loadTerm, tracks []string, c, k int) *loadWorker {
	return &loadWorker{
		cfg: cfg, client: client, terms: terms, next: k, tracks: tracks,
		rng:      rand.New(rand.NewPCG(cfg.Seed, uint64(c)<<32|uint64(k))),
		msg:      wire.NewMessage("0800"),
		declined: map[string]int64{},
		byOp:     map[Op]int64{},
	}
}

func (w *loadWorker) field7() string {
	now := w.cfg.Now()
	if s := now.Unix(); s != w.f7Sec || w.f7 == "" {
		w.f7Sec, w.f7 = s, field7(now)
	}
	return w.f7
}

func (w *loadWorker) amount() Fen {
	lo, hi := w.cfg.MinAmount, w.cfg.MaxAmount
	return lo + Fen(w.rng.Int64N(int64(hi-lo)+1))
}

func (w *loadWorker) pickOp() Op {
	if w.cfg.EchoOnly {
		return OpEcho
	}
	m := w.cfg.Mix
	total := m.Purchase + m.Balance + m.Load + m.Refund
	if total == 0 {
		return OpPurchase
	}
	r := w.rng.IntN(total)
	switch {
	case r < m.Purchase:
		return OpPurchase
	case r < m.Purchase+m.Balance:
		return OpBalance
	case r < m.Purchase+m.Balance+m.Load:
		return OpLoad
	}
	return OpRefund
}

// nextTerminal is the terminal of the worker's next request: its
// connection's terminals in turn.
func (w *loadWorker) nextTerminal() *loadTerm {
	lt := w.terms[w.next%len(w.terms)]
	w.next++
	return lt
}

// one builds, sends and accounts one request of terminal lt. Its latency
// counts from scheduled when that is set (the open loop: the time the
// request should have gone out, so that waiting to be sent is counted),
// else from the moment it is sent.
func (w *loadWorker) one(ctx context.Context, lt *loadTerm, scheduled time.Time) {
	op := w.pickOp()
	m := w.msg
	card := -1
	var amount Fen
	var refundOf *refundable
	if op == OpRefund {
		if refundOf, amount = w.takeRefund(lt); refundOf == nil {
			op = OpPurchase // nothing to refund yet
		} else {
			card = refundOf.card
		}
	}
	if op != OpEcho && card < 0 {
		card = w.rng.IntN(len(w.cfg.Cards))
	}
	if (op == OpPurchase || op == OpLoad) && amount == 0 {
		amount = w.amount()
	}
	var c Card
	if card >= 0 {
		c = w.cfg.Cards[card]
	}
	fillLoadRequest(m, op, lt, w.field7(), c, w.trackOf(card), amount, refundOf)
	w.requests++
	w.byOp[op]++
	start := w.latencyOrigin(scheduled, time.Now())
	resp, err := w.client.Do(ctx, m)
	lat := time.Since(start)
	if err != nil {
		w.errors++
		if len(w.errSample) < maxLoadErrorSamples {
			w.errSample = append(w.errSample, err.Error())
		}
		return
	}
	w.hist.Record(lat)
	rc, _ := resp.Get(39)
	if rc != RCApproved {
		w.declined[rc]++
		if refundOf != nil {
			w.giveBack(lt, *refundOf, amount)
		}
		return
	}
	w.approved++
	if op == OpPurchase {
		if rrn, ok := resp.Get(37); ok {
			lt.mu.Lock()
			r := refundable{rrn: rrn, card: card, remaining: amount}
			if len(lt.refundable) < maxRefundablePerTerminal {
				lt.refundable = append(lt.refundable, r)
			} else {
				lt.refundable[w.rng.IntN(len(lt.refundable))] = r
			}
			lt.mu.Unlock()
		}
	}
}

func (w *loadWorker) trackOf(card int) string {
	if card < 0 {
		return ""
	}
	return w.tracks[card]
}

// takeRefund picks a remembered purchase of lt to refund and an amount
// of what is left of it; nil when lt has none.
func (w *loadWorker) takeRefund(lt *loadTerm) (*refundable, Fen) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := len(lt.refundable)
	if n == 0 {
		return nil, 0
	}
	i := w.rng.IntN(n)
	r := lt.refundable[i]
	amount := r.remaining
	if amount > 1 {
		amount = 1 + Fen(w.rng.Int64N(int64(amount)))
	}
	r.remaining -= amount
	if r.remaining == 0 {
		lt.refundable[i] = lt.refundable[n-1]
		lt.refundable = lt.refundable[:n-1]
	} else {
		lt.refundable[i] = r
	}
	return &r, amount
}

// fillLoadRequest sets m (cleared first) to op from terminal lt with
// card c (its track 2 in track) and amount; refundOf names the purchase
// a refund returns. It is the one place a load request's fields are
// chosen, so that PurchaseRequestSize measures what the run sends.
func fillLoadRequest(m *wire.Message, op Op, lt *loadTerm, f7 string, c Card, track string, amount Fen, refundOf *refundable) {
	clear(m.Fields)
	m.Set(41, lt.tid).Set(42, lt.mid).Set(11, lt.nextSTAN()).Set(7, f7)
	switch op {
	case OpEcho:
		m.MTI = "0800"
		m.Set(70, "301")
		return
	case OpBalance:
		m.MTI = "0100"
		m.Set(3, pcBalance)
	case OpPurchase, OpLoad, OpRefund:
		m.MTI = "0200"
		m.Set(4, zeroPad(int64(amount), 12)).Set(49, currencyCNY)
		switch op {
		case OpPurchase:
			m.Set(3, pcGoods)
		case OpLoad:
			m.Set(3, pcLoad)
		case OpRefund:
			m.Set(3, pcRefund).Set(37, refundOf.rrn)
		}
	}
	if c.Manual {
		m.Set(2, c.PAN).Set(14, c.Expiry).Set(22, "012")
	} else {
		m.Set(35, track).Set(22, "021")
	}
	m.Set(25, "00").Set(60, lt.batch)
	if c.PIN != "" && lt.tpk != nil {
		if blk, err := cardcrypto.EncryptPINBlockWith(lt.tpk, c.PIN, c.PAN); err == nil {
			m.Set(52, string(blk))
		}
	}
}

// PurchaseRequestSize is the packed size in bytes (without framing) of a
// load run's purchase from terminal t with card c: the message size a
// raw echo should carry to be compared with purchases.
func PurchaseRequestSize(p wire.Packager, t LoadTerminal, c Card) (int, error) {
	if err := c.check(); err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	lt := &loadTerm{tid: t.TID, mid: t.MID, batch: zeroPad(int64(max(t.Batch, 1)), 6), stan: new(atomic.Uint32)}
	m := wire.NewMessage("0200")
	fillLoadRequest(m, OpPurchase, lt, field7(time.Now()), c, trackOf(c), defaultLoadMaxAmount, nil)
	b, err := p.Pack(m)
	if err != nil {
		return 0, fmt.Errorf("load: packing a sample purchase: %w", err)
	}
	return len(b), nil
}

// trackOf is card c's track 2 as a load run sends it.
func trackOf(c Card) string {
	svc := c.ServiceCode
	if svc == "" {
		svc = defaultServiceCode
	}
	return c.PAN + "=" + c.Expiry + svc + c.Discretionary
}

// giveBack returns the amount of a declined refund to its purchase, if the
// purchase is still remembered.
func (w *loadWorker) giveBack(lt *loadTerm, r refundable, amount Fen) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for i := range lt.refundable {
		if lt.refundable[i].rrn == r.rrn {
			lt.refundable[i].remaining += amount
			return
		}
	}
	if len(lt.refundable) < maxRefundablePerTerminal {
		r.remaining = amount
		lt.refundable = append(lt.refundable, r)
	}
}
