package terminal

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_request.go: what one request of a load run is (its operation,
// terminal, card and amount, chosen as loadSlot.choose says) and the
// reference for its bytes, fillLoadRequest. The connections
// (load_conn.go) send it from a template (load_template.go); the
// template is made, and checked in tests, by fillLoadRequest.

// loadRequest is one request of a load run, chosen.
type loadRequest struct {
	op       Op
	lt       *loadTerm
	stan     uint32 // 1..999999
	f7       string
	card     Card   // not for an echo
	cardIdx  int    // the card's index in LoadConfig.Cards, -1 for an echo
	track    string // the card's track 2 as trackOf makes it
	amount   Fen    // purchases, loads and refunds
	refundOf *refundable
	pinBlock []byte // field 52, nil for none
}

// choose picks the slot's next request: its terminal in turn, an
// operation by the mix, a card at random or, with sweep, the run's next
// (a refund's is its purchase's) and an amount. It takes what a refund
// returns from the purchase it names; the caller gives it back when the
// refund is declined.
func (s *loadSlot) choose(cfg *LoadConfig, terms []*loadTerm, tracks []string, sweep *atomic.Int64) loadRequest {
	lt := terms[s.next%len(terms)]
	s.next++
	r := loadRequest{op: pickOp(cfg, s.rng), lt: lt, cardIdx: -1}
	if r.op == OpRefund {
		if r.refundOf, r.amount = takeRefund(lt, s.rng); r.refundOf == nil {
			r.op = OpPurchase // nothing to refund yet
		} else {
			r.cardIdx = r.refundOf.card
		}
	}
	if r.op != OpEcho && r.cardIdx < 0 {
		if sweep != nil {
			r.cardIdx = int((sweep.Add(1) - 1) % int64(len(cfg.Cards)))
		} else {
			r.cardIdx = s.rng.IntN(len(cfg.Cards))
		}
	}
	if (r.op == OpPurchase || r.op == OpLoad) && r.amount == 0 {
		lo, hi := cfg.MinAmount, cfg.MaxAmount
		r.amount = lo + Fen(s.rng.Int64N(int64(hi-lo)+1))
	}
	if r.cardIdx >= 0 {
		r.card, r.track = cfg.Cards[r.cardIdx], tracks[r.cardIdx]
		if r.card.PIN != "" && lt.tpk != nil {
			if blk, err := cardcrypto.EncryptPINBlockWith(lt.tpk, r.card.PIN, r.card.PAN); err == nil {
				r.pinBlock = blk
			}
		}
	}
	return r
}

func pickOp(cfg *LoadConfig, rng *rand.Rand) Op {
	if cfg.EchoOnly {
		return OpEcho
	}
	m := cfg.Mix
	total := m.Purchase + m.Balance + m.Load + m.Refund
	if total == 0 {
		return OpPurchase
	}
	r := rng.IntN(total)
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

// takeRefund picks a remembered purchase of lt to refund and an amount
// of what is left of it; nil when lt has none.
func takeRefund(lt *loadTerm, rng *rand.Rand) (*refundable, Fen) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := len(lt.refundable)
	if n == 0 {
		return nil, 0
	}
	i := rng.IntN(n)
	r := lt.refundable[i]
	amount := r.remaining
	if amount > 1 {
		amount = 1 + Fen(rng.Int64N(int64(amount)))
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

// remember keeps an approved purchase of lt (its RRN) for refunds.
func remember(lt *loadTerm, rng *rand.Rand, r refundable) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if len(lt.refundable) < maxRefundablePerTerminal {
		lt.refundable = append(lt.refundable, r)
	} else {
		lt.refundable[rng.IntN(len(lt.refundable))] = r
	}
}

// fillLoadRequest sets m (cleared first) to the request r. It is the
// one place a load request's fields are chosen: the templates are made
// from it, and PurchaseRequestSize measures what it makes.
func fillLoadRequest(m *wire.Message, r *loadRequest) {
	clear(m.Fields)
	lt := r.lt
	m.Set(41, lt.tid).Set(42, lt.mid).Set(11, zeroPad(int64(r.stan), 6)).Set(7, r.f7)
	switch r.op {
	case OpEcho:
		m.MTI = "0800"
		m.Set(70, "301")
		return
	case OpBalance:
		m.MTI = "0100"
		m.Set(3, pcBalance)
	case OpPurchase, OpLoad, OpRefund:
		m.MTI = "0200"
		m.Set(4, zeroPad(int64(r.amount), 12)).Set(49, currencyCNY)
		switch r.op {
		case OpPurchase:
			m.Set(3, pcGoods)
		case OpLoad:
			m.Set(3, pcLoad)
		case OpRefund:
			m.Set(3, pcRefund).Set(37, r.refundOf.rrn)
		}
	}
	c := r.card
	if c.Manual {
		m.Set(2, c.PAN).Set(14, c.Expiry).Set(22, "012")
	} else {
		m.Set(35, r.track).Set(22, "021")
	}
	m.Set(25, "00").Set(60, lt.batch)
	if r.pinBlock != nil {
		m.Set(52, string(r.pinBlock))
	}
}

// PurchaseRequestSize is the packed size in bytes (without framing) of a
// load run's purchase from terminal t with card c: the message size a
// raw echo should carry to be compared with purchases.
func PurchaseRequestSize(p wire.Packager, t LoadTerminal, c Card) (int, error) {
	if err := c.check(); err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	lt := &loadTerm{tid: t.TID, mid: t.MID, batch: zeroPad(int64(max(t.Batch, 1)), 6)}
	m := wire.NewMessage("0200")
	fillLoadRequest(m, &loadRequest{op: OpPurchase, lt: lt, stan: 1, f7: field7(time.Now()), card: c, track: trackOf(c), amount: defaultLoadMaxAmount})
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
func giveBack(lt *loadTerm, r refundable, amount Fen) {
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
