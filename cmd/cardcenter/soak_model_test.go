//go:build soak

package main

import (
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// soak_model_test.go: the load generator's own model of what the host
// acknowledged, and the comparisons of the soak (soak_test.go) against
// the journal and the balances. The model knows only what crossed the
// wire: a request, and its response or the lack of one.

// soakReq is one request as it went out (MAC included) and what came back.
type soakReq struct {
	key  string // TID/STAN/field 7: the request's identity, repeats included
	req  *wire.Message
	resp *wire.Message // nil while the outcome is unknown
	rc   string
	// journal: the approval applied something, so the journal must hold
	// exactly one entry for it (set by apply).
	journal bool
}

// soakEffect is what an approved financial request did to its card's
// stored-value ledger balance, and whether a void or reversal undid it.
type soakEffect struct {
	pan    string
	delta  ledger.Amount
	undone bool
	// orig is, for a void, the effect it undid: reversing the void puts
	// that one back.
	orig *soakEffect
}

// soakModel is the client's view of the host. Every method is safe for
// the load's goroutines.
type soakModel struct {
	mu      sync.Mutex
	byKey   map[string]*soakReq
	fresh   []*soakReq // answered since the last restart: all retransmitted
	answers []*soakReq // every answered request, for the sample of older ones
	unknown []*soakReq // sent, no answer: the kill cut them off
	effects map[string]*soakEffect
	delta   map[string]ledger.Amount // PAN → acknowledged change of the ledger balance
	rcs     map[string]int64         // answers by response code
	ops     map[string]int64         // answers by MTI/processing code
	failed  []string                 // protocol failures seen by the load (bad MAC, mismatched MTI)
	// hostErrors are the requests answered 96 since the last look: the
	// soak injects no fault, so each is reported with the host's log.
	hostErrors []string

	acked, resolved int64
}

func newSoakModel() *soakModel {
	return &soakModel{byKey: map[string]*soakReq{}, effects: map[string]*soakEffect{},
		delta: map[string]ledger.Amount{}, rcs: map[string]int64{}, ops: map[string]int64{}}
}

func soakKey(m *wire.Message) string {
	return m.Fields[41] + "/" + m.Fields[11] + "/" + m.Fields[7]
}

// notStored are the answers the contract does not store (section 2's
// first four checks, 94, and 96): a retransmission is decided again, so
// it need not get the same bytes, and nothing was applied.
var notStored = map[string]bool{"03": true, "58": true, "63": true, "94": true, "96": true}

// record notes one exchange of the load: answered (resp, no error), cut
// off (no resp), or a protocol failure (resp with an error).
func (m *soakModel) record(req, resp *wire.Message, err error) {
	if req.MTI == "0800" {
		return // sign-on: not a transaction, and not retransmitted
	}
	r := &soakReq{key: soakKey(req), req: req}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case resp == nil:
		m.byKey[r.key] = r
		m.unknown = append(m.unknown, r)
	case err != nil:
		m.failed = append(m.failed, fmt.Sprintf("%s %s: %v", req.MTI, r.key, err))
	default:
		m.byKey[r.key] = r
		m.answer(r, resp)
		m.fresh = append(m.fresh, r)
	}
}

// answer sets r's outcome and applies it to the model. The caller holds mu.
func (m *soakModel) answer(r *soakReq, resp *wire.Message) {
	r.resp, r.rc = resp, resp.Fields[39]
	m.answers = append(m.answers, r)
	m.acked++
	m.rcs[r.rc]++
	m.ops[r.req.MTI+"/"+r.req.Fields[3]]++
	if r.rc == "96" {
		m.hostErrors = append(m.hostErrors, r.key+" "+r.req.MTI+"/"+r.req.Fields[3])
	}
	if r.rc == "00" {
		m.apply(r)
	}
}

// soakPAN is the card of a request: field 2, or track 2's PAN.
func soakPAN(m *wire.Message) string {
	if p, ok := m.Get(2); ok {
		return p
	}
	t2 := m.Fields[35]
	for i := 0; i < len(t2); i++ {
		if t2[i] == '=' || t2[i] == 'D' {
			return t2[:i]
		}
	}
	return t2
}

// apply books an approval into the model, following contract section 3:
// purchases and completions debit field 4, refunds and loads credit it,
// pre-authorizations, accruals and redemptions leave the stored-value
// ledger balance alone, a void undoes its original, a reversal undoes
// any applied original (a reversed void puts the void's original back).
func (m *soakModel) apply(r *soakReq) {
	req := r.req
	amount, _ := strconv.ParseInt(req.Fields[4], 10, 64)
	a := ledger.Amount(amount)
	pc := req.Fields[3]
	// The original named by field 90: same terminal, its STAN and field 7.
	orig := func() *soakEffect {
		f90 := req.Fields[90]
		if len(f90) < 20 {
			return nil
		}
		return m.effects[req.Fields[41]+"/"+f90[4:10]+"/"+f90[10:20]]
	}
	book := func(pan string, d ledger.Amount, o *soakEffect) {
		m.effects[r.key] = &soakEffect{pan: pan, delta: d, orig: o}
		m.delta[pan] += d
		r.journal = true
	}
	switch mti := req.MTI; {
	case mti == "0200" && pc == "020000": // void
		o := orig()
		if o == nil || o.undone {
			m.failed = append(m.failed, fmt.Sprintf("void %s approved, but its original was not an applied approval", r.key))
			return
		}
		o.undone = true
		book(o.pan, -o.delta, o)
	case mti == "0200" || mti == "0220" || mti == "0221" || mti == "0100" && pc == "000000":
		var d ledger.Amount
		switch {
		case mti == "0220" || mti == "0221" || pc == "000000" && mti == "0200":
			d = -a
		case pc == "200000" || pc == "210000":
			d = a
		}
		book(soakPAN(req), d, nil)
	case mti >= "0400" && mti < "0500": // reversal (or its advice)
		o := orig()
		if o == nil || o.undone {
			return // an original not applied: answered 00, nothing undone
		}
		o.undone = true
		if o.orig != nil {
			o.orig.undone = false
		}
		m.delta[o.pan] -= o.delta
		r.journal = true
	}
}

// takeRetransmits returns what to retransmit after a restart: every
// answer since the last one, a sample of older ones, and the requests the
// kill cut off. It empties fresh and unknown.
func (m *soakModel) takeRetransmits(sample func(n int) int) (check, unknown []*soakReq) {
	m.mu.Lock()
	defer m.mu.Unlock()
	check = append(check, m.fresh...)
	for i := 0; i < 50 && len(m.answers) > 0; i++ {
		check = append(check, m.answers[sample(len(m.answers))])
	}
	unknown = m.unknown
	m.fresh, m.unknown = nil, nil
	return check, unknown
}

// resolve records the answer a cut-off request got when retransmitted
// after the restart: that is its outcome.
func (m *soakModel) resolve(r *soakReq, resp *wire.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answer(r, resp)
	m.resolved++
}

// compareJournal checks a stopped (killed) store against the model:
// every entry a terminal caused is one the client sent, at most once;
// one the client saw declined is not there; one it saw approved is there
// with the RRN and amount it was told. unknown is the number of entries
// of requests cut off by the kill (their outcome is settled after the
// restart).
func (m *soakModel) compareJournal(entries []ledger.Txn) (unknown int, problems []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[string]bool, len(entries))
	for i := range entries {
		tx := &entries[i]
		if tx.TID == "" {
			continue // opening balances and operator entries
		}
		key := tx.TID + "/" + tx.STAN + "/" + tx.Time
		if seen[key] {
			problems = append(problems, fmt.Sprintf("journal holds %s (%s) twice", key, tx.Kind))
			continue
		}
		seen[key] = true
		r := m.byKey[key]
		switch {
		case r == nil:
			problems = append(problems, fmt.Sprintf("journal holds %s %s rrn %s that the client never sent", tx.Kind, key, tx.RRN()))
		case r.resp == nil:
			unknown++
		case r.rc != "00":
			problems = append(problems, fmt.Sprintf("journal holds %s %s rrn %s, but the client saw it declined %s", tx.Kind, key, tx.RRN(), r.rc))
		default:
			if rrn, ok := r.resp.Get(37); ok && rrn != tx.RRN() {
				problems = append(problems, fmt.Sprintf("journal %s: rrn %s, the client was told %s", key, tx.RRN(), rrn))
			}
			if f4, ok := r.req.Get(4); ok && f4 != fmt.Sprintf("%012d", int64(tx.Amount)) {
				problems = append(problems, fmt.Sprintf("journal %s (%s): amount %d, the client sent %s", key, tx.Kind, tx.Amount, f4))
			}
		}
	}
	var missing []string
	for key, r := range m.byKey {
		if r.journal && !seen[key] {
			missing = append(missing, fmt.Sprintf("%s %s/%s approved (rrn %s) is not in the journal", key, r.req.MTI, r.req.Fields[3], r.resp.Fields[37]))
		}
	}
	sort.Strings(missing)
	return unknown, append(problems, missing...)
}

// expectedLedger is a card's opening balance plus every acknowledged
// change to it.
func (m *soakModel) expectedLedger(pan string, opening ledger.Amount) ledger.Amount {
	m.mu.Lock()
	defer m.mu.Unlock()
	return opening + m.delta[pan]
}

// soakBalanceProblem describes a card whose balance differs from the
// model, its PAN masked.
func soakBalanceProblem(pan string, got, want ledger.Amount) string {
	return fmt.Sprintf("card %s: ledger balance %d, the acknowledged requests make it %d", cardnum.Mask(pan), got, want)
}

// takeHostErrors returns the requests answered 96 since the last call.
func (m *soakModel) takeHostErrors() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.hostErrors
	m.hostErrors = nil
	return e
}
