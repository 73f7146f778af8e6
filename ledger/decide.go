package ledger

// decide.go: the order in which every request is answered (identity,
// state, retransmission, then run's dispatch by kind), and the helpers
// every flow shares. Each flow lives in its own file.

import (
	"errors"
	"fmt"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// decide answers one request in the contract's order (terminal-protocol.md
// section 2): terminal identity (03), terminal state (58), MAC (63),
// retransmission (stored response or 94), mandatory fields (30), the
// card, the chip data (63), the PIN (55, 75), then the business rules.
// Answers from the first four steps are not stored and carry no MAC;
// every later answer but a chip 63 and a host error is stored under the
// request's identity together with whatever the decision changed, in one
// batch. own, when not nil, is where the answer's parts are made (the
// op's: decision.spareBalances, spareTier).
func (s *Store) decide(t *tx, r *Request, own *answerParts) Result {
	now := s.opts.Now()
	res := Result{At: now}
	te := s.terminalEntry(r.TID, r.MID)
	t.te = te
	m, term, err := t.terminalRecords(te)
	if err != nil {
		return hostError(res, err)
	}
	if m == nil {
		res.Err = fmt.Errorf("mid %q: %w", r.MID, ErrUnknownMerchant)
		return res
	}
	if term == nil || term.MID != r.MID {
		res.Err = fmt.Errorf("tid %q at mid %q: %w", r.TID, r.MID, ErrUnknownTerminal)
		return res
	}
	ts := &s.op.ts // absent: zero, a terminal never signed on
	if _, err := getRecordInto(t, te.stateKey, ts); err != nil {
		return hostError(res, err)
	}
	if !term.Enabled {
		res.Err = fmt.Errorf("tid %q: %w", r.TID, ErrTerminalDisabled)
		return res
	}
	if !ts.SignedOn && !r.Kind.Network() {
		res.Err = fmt.Errorf("tid %q: %w", r.TID, ErrNotSignedOn)
		return res
	}
	if err := macFault(r.TID, ts, &r.Security); err != nil {
		res.Err = err
		return res
	}
	// From here on every answer to a terminal with keys is MACed.
	res.MACKeyGen = macKeyGen(ts, &r.Security)

	if r.STAN == "" || r.Time == "" {
		// No identity to store an answer under: the validator's 30
		// stands alone, and a resend is checked again.
		res.Err = r.Invalid
		if res.Err == nil {
			res.Err = fmt.Errorf("stan or field 7 missing: %w", ErrInvalidField)
		}
		return res
	}
	idemKey := keyIdem(r.TID, r.STAN, r.Time)
	var prev *IdemRecord
	if s.idents.MayContain(idemKey) {
		var err error
		if prev, err = getRecord[IdemRecord](t, idemKey); err != nil {
			return hostError(res, err)
		}
	}
	reversedFirst := false
	if prev != nil && prev.Tombstone {
		// Not an answer: a reversal of this identity came first. Its
		// original is declined 05 (a business rule, decided below); any
		// other request of this identity is new.
		reversedFirst = prev.MTI == r.MTI
		prev = nil
	}
	if prev != nil {
		if prev.Fingerprint != r.Fingerprint {
			res.Err = fmt.Errorf("tid %q stan %s: %w", r.TID, r.STAN, ErrDuplicate)
			return res
		}
		return Result{
			Err: errorFromCode(prev.Code), RRN: prev.RRN, AuthCode: prev.AuthCode,
			Balances: prev.Balances, Replayed: true, Stored: true, At: time.Unix(0, prev.At),
			Field62: prev.Field62, ChipAccepted: prev.ChipAccepted, MACKeyGen: res.MACKeyGen,
			Tier: prev.Tier, LoyaltyInfo: prev.LoyaltyInfo,
		}
	}

	d := &s.op.decision
	*d = decision{s: s, t: t, r: r, m: m, term: term, te: te, ts: ts, now: now, reversedFirst: reversedFirst,
		spareTxn: &s.op.txn, spareAccounts: &s.op.accounts, spareCampaigns: s.op.campaigns[:0],
		spareMembership: &s.op.membership}
	if own != nil {
		d.spareBalances, d.spareTier = &own.balances, &own.tier
	}
	s.op.accounts.used = 0
	mark := t.mark()
	d.run()
	if d.ioErr != nil {
		d.err = fmt.Errorf("%w: %v", ErrHost, d.ioErr)
	} else if d.refused != nil && !errors.Is(d.err, ErrHost) {
		d.err = d.refused
	}
	if errors.Is(d.err, ErrHost) || errors.Is(d.err, ErrSecurity) {
		// A host error changes nothing and is not stored: a resend is
		// decided afresh, not answered 96 for ever. Nor is a chip 63
		// (contract section 2: 63 is never stored).
		t.rollbackTo(mark)
		return Result{Err: d.err, At: now, MACKeyGen: res.MACKeyGen}
	}
	if d.err != nil {
		t.rollbackTo(mark)
		if d.balancesOnDecline == nil {
			d.bal = nil
		} else {
			d.bal = d.balancesOnDecline
		}
		d.rrn, d.auth, d.txnKey = "", "", ""
		d.seq = 0
		d.field62 = nil
		d.tier = nil
		// What the contract makes stand although the request is
		// declined: a batch it opened, a 95's mismatch state.
		for _, w := range d.survivors {
			t.set(w.key, w.val)
		}
	}
	rec := &s.op.idem
	*rec = IdemRecord{
		Fingerprint: r.Fingerprint, MTI: r.MTI, Kind: r.Kind, Code: errorCode(d.err),
		RRN: d.rrn, AuthCode: d.auth, Balances: d.bal, Seq: d.seq, Batch: r.Batch, At: now.UnixNano(),
		Field62: d.field62, ChipAccepted: d.chipAccepted, Tier: d.tier, LoyaltyInfo: term.LoyaltyInfo,
	}
	t.put(idemKey, rec)
	res.Err, res.RRN, res.AuthCode, res.Balances, res.Stored = d.err, d.rrn, d.auth, d.bal, true
	res.Field62, res.ChipAccepted = d.field62, d.chipAccepted
	res.Tier, res.LoyaltyInfo = d.tier, term.LoyaltyInfo
	if d.field62 != nil {
		res.KeyGen = d.ts.KeyGen
	}
	return res
}

func hostError(res Result, err error) Result {
	res.Err = fmt.Errorf("%w: %v", ErrHost, err)
	return res
}

// decision carries one request through the steps after the
// retransmission check.
type decision struct {
	s    *Store
	t    *tx
	r    *Request
	m    *Merchant
	term *Terminal
	// te is the terminal's entry: the keys its requests name, its
	// records, its state and batch (terminals.go). Nil in a decision no
	// terminal asked for.
	te  *terminalEntry
	ts  *TerminalState
	now time.Time

	card  *Card
	batch *Batch
	// spareTxn, when not nil, is the block the decision's first new
	// journal entry is made in (newTxn) instead of a fresh one: a
	// request's, which the writer reuses from request to request
	// (opScratch.txn). An entry is encoded by put before the request's
	// op is done, and nothing keeps the Txn itself.
	spareTxn *newTxnBlock
	// spareAccounts, when not nil, holds the accounts a request's
	// decision reads (newAccount), reused from request to request
	// (opScratch.accounts): an account is encoded by put when it is
	// written and nothing keeps it past the op.
	spareAccounts *accountScratch
	// spareBalances, when not nil, is where the decision's first
	// balances are made (balancesOf): a request's, in its op
	// (op.answer), which lives as long as the Result that points to it.
	spareBalances *Balances
	// spareTier, when not nil, is where the decision's first tier is
	// made (tierInfo), as spareBalances.
	spareTier *TierInfo
	// spareCampaigns, when not nil, is the array an earning's list of
	// campaigns is made in (loyalty.EarnAppend): a request's
	// (opScratch.campaigns), whose journal entry is encoded before the
	// next request is decided.
	spareCampaigns []string
	// spareMembership, when not nil, is the membership the card's is
	// decoded into (membership): a request's (opScratch.membership),
	// encoded when stored (storeLoyalty) and kept by nothing.
	spareMembership *Membership
	// batchClosed: the request names a closed batch (→ 12, checked last).
	batchClosed bool
	// survivors are writes kept when the request is declined.
	survivors []kv
	// ioErr is the first storage error met; it turns the answer into 96.
	ioErr error
	// refused is the first change refused as out of range (a posting, a
	// total, a counter); it turns the answer into a decline (13).
	refused error
	// reversedFirst: a reversal of this request arrived before it.
	reversedFirst bool

	// cardSec is the card's PIN and chip state, read on first use.
	cardSec *CardSecurity
	// chipAccepted: the ARQC and ATC were accepted (tag 91 is owed).
	chipAccepted bool
	// field62 is a sign-on's working keys under the TMK.
	field62 []byte

	err               error
	bal               *Balances
	balancesOnDecline *Balances
	rrn, auth         string
	seq               uint64
	txnKey            string // keyTxn(seq) (journalKey)
	// tier is the member's tier after an approved card request of a
	// program with rules (field 63 for an opted-in terminal).
	tier *TierInfo

	// lv is the card's loyalty record, read on first use
	// (cardloyalty.go).
	lv loyaltyView

	// prog is the program programOf read (progID, progRead): one per
	// decision, asked for by the rules, the rates, holds and the PIN
	// policy.
	prog     *Program
	progID   string
	progRead bool
}

// takeSpare is the spare *p, which it takes (a later call gets a new
// one: what a decision makes twice is two objects), or a new T when
// there is none.
func takeSpare[T any](p **T) *T {
	if spare := *p; spare != nil {
		*p = nil
		return spare
	}
	return new(T)
}

// programOf reads program id once per decision (nil when absent).
func (d *decision) programOf(id string) (*Program, error) {
	if d.progRead && d.progID == id {
		return d.prog, nil
	}
	p, err := registryGet[Program](d.t, d.s.keys.of(prefixProgram, id))
	if err != nil {
		return nil, err
	}
	d.prog, d.progID, d.progRead = p, id, true
	return p, nil
}

func (d *decision) run() {
	r := d.r
	if r.Invalid != nil {
		d.err = r.Invalid
		return
	}
	switch r.Kind {
	case KindSignOn, KindSignOff, KindKeyChange, KindEcho:
		d.network()
		return
	case KindUnsupported, KindNetworkOther:
		d.err = fmt.Errorf("%s %s: %w", r.MTI, r.ProcCode, ErrUnsupported)
		return
	case KindAccrual, KindRedeem:
		// A program without loyalty rules answers points requests 12
		// before any card check, as it did before it had rules.
		p, err := d.programOf(d.m.ProgramID)
		if err != nil {
			d.hostErr(err)
			return
		}
		if p == nil || p.Loyalty == nil {
			d.err = fmt.Errorf("%s %s: program %s has no loyalty rules: %w", r.MTI, r.ProcCode, d.m.ProgramID, ErrUnsupported)
			return
		}
	case KindBatchClose, KindBatchCloseAfterUpload:
		d.closeBatch()
		return
	case KindBatchUpload:
		d.upload()
		return
	}
	if d.err = d.checkCard(); d.err != nil {
		return
	}
	if d.err = d.checkChip(); d.err != nil {
		return
	}
	if d.err = d.checkPIN(); d.err != nil {
		return
	}
	if r.Kind != KindReversal {
		if d.err = d.openBatch(); d.err != nil {
			return
		}
	}
	switch r.Kind {
	case KindBalance:
		d.balance()
	case KindPurchase:
		d.purchase()
	case KindPreAuth:
		d.preAuth()
	case KindCompletion:
		d.completion()
	case KindRefund:
		d.refund()
	case KindLoad:
		d.load()
	case KindAccrual:
		d.accrual()
	case KindRedeem:
		d.redeem()
	case KindVoid:
		d.void()
	case KindReversal:
		d.reversal()
	default:
		d.err = fmt.Errorf("kind %s: %w", r.Kind, ErrUnsupported)
	}
	if d.err == nil && d.batchClosed {
		d.err = fmt.Errorf("batch %06d of tid %s is closed: %w", r.Batch, r.TID, ErrNotAllowed)
	}
	if d.err == nil && r.Kind != KindReversal {
		d.tier = d.tierInfo()
	}
}

func (d *decision) hostErr(err error) { d.err = fmt.Errorf("%w: %v", ErrHost, err) }

func (d *decision) assignRRN() {
	d.seq = d.t.allocSeq()
	// One string for the RRN, the approval code and the new journal
	// entry's key, sliced: one allocation, not three.
	var b [64]byte
	rrn := appendPadded(b[:0], d.seq, 12)
	n := len(rrn)
	withAuth := appendAuthCode(rrn, d.seq)
	m := len(withAuth)
	all := string(appendKeyTxn(withAuth, d.seq))
	d.rrn, d.auth, d.txnKey = all[:n], all[n:m], all[m:]
}

// journalKey is keyTxn(seq), kept from assignRRN for the decision's own
// entry.
func (d *decision) journalKey(seq uint64) string {
	if seq == d.seq && d.txnKey != "" {
		return d.txnKey
	}
	return keyTxn(seq)
}

// authCode derives a 6-digit approval code from the RRN's sequence
// number, scrambled so that consecutive approvals do not look sequential.
func authCode(seq uint64) string {
	var b [6]byte
	return string(appendAuthCode(b[:0], seq))
}

func appendAuthCode(b []byte, seq uint64) []byte {
	return appendPadded(b, (seq*7919+104729)%1000000, 6)
}

// positiveAmount declines (13) an amount of zero or less, or past
// MaxAmount (which field 4 cannot carry, but a Request may).
func (d *decision) positiveAmount() bool {
	switch {
	case d.r.Amount <= 0:
		d.err = fmt.Errorf("amount %d: %w", d.r.Amount, ErrBadAmount)
		return false
	case d.r.Amount > MaxAmount:
		d.err = fmt.Errorf("amount %d: above %d: %w", d.r.Amount, int64(MaxAmount), ErrOutOfRange)
		return false
	}
	return true
}

// tombstoned declines a late original whose reversal already came (05).
func (d *decision) tombstoned() bool {
	if d.reversedFirst {
		d.err = fmt.Errorf("tid %s stan %s was reversed before it arrived: %w", d.r.TID, d.r.STAN, ErrDeclined)
		return true
	}
	return false
}

func parseRRN(s string) (uint64, bool) {
	if len(s) != 12 || !cardnum.Digits(s) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v, v != 0
}
