package ledger

import (
	"errors"
	"fmt"
	"time"
)

// decide answers one request in the contract's order (terminal-protocol.md
// section 2): terminal identity (03), terminal state (58), MAC (63, a
// later issue), retransmission (stored response or 94), mandatory fields
// (30), the card, then the business rules. Answers from the first steps
// are not stored; every later answer is stored under the request's
// identity together with whatever the decision changed, in one batch.
func (s *Store) decide(t *tx, r *Request) Result {
	now := s.opts.Now()
	res := Result{At: now}
	m, err := registryGet[Merchant](t, keyMerchant(r.MID))
	if err != nil {
		return hostError(res, err)
	}
	if m == nil {
		res.Err = fmt.Errorf("mid %q: %w", r.MID, ErrUnknownMerchant)
		return res
	}
	term, err := registryGet[Terminal](t, keyTerminal(r.TID))
	if err != nil {
		return hostError(res, err)
	}
	if term == nil || term.MID != r.MID {
		res.Err = fmt.Errorf("tid %q at mid %q: %w", r.TID, r.MID, ErrUnknownTerminal)
		return res
	}
	ts, err := getRecord[TerminalState](t, keyTermState(r.TID))
	if err != nil {
		return hostError(res, err)
	}
	if ts == nil {
		ts = &TerminalState{}
	}
	if !term.Enabled {
		res.Err = fmt.Errorf("tid %q: %w", r.TID, ErrTerminalDisabled)
		return res
	}
	if !ts.SignedOn && !r.Kind.Network() {
		res.Err = fmt.Errorf("tid %q: %w", r.TID, ErrNotSignedOn)
		return res
	}

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
		}
	}

	d := decision{s: s, t: t, r: r, m: m, term: term, ts: ts, now: now, reversedFirst: reversedFirst}
	mark := t.mark()
	d.run()
	if d.ioErr != nil {
		d.err = fmt.Errorf("%w: %v", ErrHost, d.ioErr)
	}
	if errors.Is(d.err, ErrHost) {
		// A host error changes nothing and is not stored: a resend is
		// decided afresh, not answered 96 for ever.
		t.rollbackTo(mark)
		return Result{Err: d.err, At: now}
	}
	if d.err != nil {
		t.rollbackTo(mark)
		if d.balancesOnDecline == nil {
			d.bal = nil
		} else {
			d.bal = d.balancesOnDecline
		}
		d.rrn, d.auth = "", ""
		d.seq = 0
		// What the contract makes stand although the request is
		// declined: a batch it opened, a 95's mismatch state.
		for _, w := range d.survivors {
			t.set(w.key, w.val)
		}
	}
	rec := IdemRecord{
		Fingerprint: r.Fingerprint, MTI: r.MTI, Kind: r.Kind, Code: errorCode(d.err),
		RRN: d.rrn, AuthCode: d.auth, Balances: d.bal, Seq: d.seq, Batch: r.Batch, At: now.UnixNano(),
	}
	t.put(idemKey, &rec)
	return Result{Err: d.err, RRN: d.rrn, AuthCode: d.auth, Balances: d.bal, Stored: true, At: now}
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
	ts   *TerminalState
	now  time.Time

	card  *Card
	batch *Batch
	// batchClosed: the request names a closed batch (→ 12, checked last).
	batchClosed bool
	// survivors are writes kept when the request is declined.
	survivors []kv
	// ioErr is the first storage error met; it turns the answer into 96.
	ioErr error
	// reversedFirst: a reversal of this request arrived before it.
	reversedFirst bool

	err               error
	bal               *Balances
	balancesOnDecline *Balances
	rrn, auth         string
	seq               uint64
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
	case KindUnsupported, KindNetworkOther, KindAccrual, KindRedeem:
		// Points accrual and redemption arrive with the loyalty engine.
		d.err = fmt.Errorf("%s %s: %w", r.MTI, r.ProcCode, ErrUnsupported)
		return
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
}

func (d *decision) network() {
	switch d.r.Kind {
	case KindSignOn:
		d.ts.SignedOn = true
		d.t.put(keyTermState(d.r.TID), d.ts)
	case KindSignOff:
		d.ts.SignedOn = false
		d.t.put(keyTermState(d.r.TID), d.ts)
	}
}

// checkCard applies the card checks in the contract's order: 14, 41, 43,
// 54, 57, 62. Requests that settle or undo what the host already accepted
// (completions, reversals) only need the card to exist: a card reported
// lost after a purchase must not block that purchase's reversal.
func (d *decision) checkCard() error {
	r := d.r
	masked := MaskPAN(r.PAN)
	if !LuhnValid(r.PAN) {
		return fmt.Errorf("pan %s: bad check digit: %w", masked, ErrUnknownCard)
	}
	c, err := registryGet[Card](d.t, keyCard(r.PAN))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	}
	if c == nil || c.ProgramID != d.m.ProgramID {
		return fmt.Errorf("pan %s: %w", masked, ErrUnknownCard)
	}
	d.card = c
	if r.Kind == KindCompletion || r.Kind == KindReversal {
		return nil
	}
	switch c.State {
	case CardLost:
		return fmt.Errorf("pan %s: %w", masked, ErrCardLost)
	case CardStolen:
		return fmt.Errorf("pan %s: %w", masked, ErrCardStolen)
	}
	month := d.now.In(d.s.opts.Location).Format("0601")
	if c.Expiry < month || (r.CardExp != "" && r.CardExp < month) {
		return fmt.Errorf("pan %s: %w", masked, ErrCardExpired)
	}
	if c.State != CardActive {
		return fmt.Errorf("pan %s state %s: %w", masked, c.State, ErrCardNotActive)
	}
	if c.Blacklisted {
		return fmt.Errorf("pan %s: %w", masked, ErrBlacklisted)
	}
	return nil
}

// openBatch finds the batch field 60 names. A number not seen before
// opens a new batch and closes the terminal's earlier open one on the
// host's totals (contract section 6). A closed batch is remembered and
// declined 12 at the very end.
func (d *decision) openBatch() error {
	r := d.r
	if r.Batch == 0 {
		return nil
	}
	b, err := getRecord[Batch](d.t, keyBatch(r.TID, r.Batch))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrHost, err)
	}
	if b != nil {
		d.batch = b
		d.batchClosed = b.State == BatchClosed
		return nil
	}
	if open := d.ts.OpenBatch; open != 0 {
		old, err := getRecord[Batch](d.t, keyBatch(r.TID, open))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrHost, err)
		}
		if old != nil && old.State != BatchClosed {
			old.State, old.Closed, old.ClosedHow = BatchClosed, d.now.UnixNano(), 3
			d.survive(keyBatch(r.TID, open), old)
		}
	}
	d.batch = &Batch{Number: r.Batch, State: BatchOpen, Opened: d.now.UnixNano(), BizDate: d.s.businessDate(d.now)}
	d.ts.OpenBatch = r.Batch
	d.survive(keyBatch(r.TID, r.Batch), d.batch)
	d.survive(keyTermState(r.TID), d.ts)
	return nil
}

// businessDate is the yyyymmdd date the host books a moment on.
func (s *Store) businessDate(now time.Time) uint32 {
	l := now.In(s.opts.Location).Add(-time.Duration(s.opts.CutoffHour) * time.Hour)
	return uint32(l.Year()*10000 + int(l.Month())*100 + l.Day())
}

// cardAccounts loads the card's stored value and points accounts,
// releasing expired holds first so that available balances are right.
func (d *decision) cardAccounts() (sv, pts *Account, err error) {
	if err := d.releaseExpiredHolds(); err != nil {
		return nil, nil, err
	}
	if sv, err = d.t.account(accountSV(d.card.PAN), UnitMoney); err != nil {
		return nil, nil, err
	}
	if pts, err = d.t.account(accountPoints(d.card.PAN), UnitPoints); err != nil {
		return nil, nil, err
	}
	return sv, pts, nil
}

func balancesOf(sv, pts *Account) *Balances {
	return &Balances{Ledger: Amount(sv.Balance()), Available: Amount(sv.Available()), Points: Points(pts.Balance())}
}

func (d *decision) hostErr(err error) { d.err = fmt.Errorf("%w: %v", ErrHost, err) }

func (d *decision) balance() {
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.bal = balancesOf(sv, pts)
	d.assignRRN()
}

func (d *decision) assignRRN() {
	d.seq = d.t.allocSeq()
	d.rrn, d.auth = FormatRRN(d.seq), authCode(d.seq)
}

// authCode derives a 6-digit approval code from the RRN's sequence
// number, scrambled so that consecutive approvals do not look sequential.
func authCode(seq uint64) string {
	return fmt.Sprintf("%06d", (seq*7919+104729)%1000000)
}

// checkLimits applies the card's per-transaction, daily amount and daily
// count limits to a debit (purchase or pre-authorization).
func (d *decision) checkLimits(amount Amount) (*CardDay, error) {
	c := d.card
	date := d.s.businessDate(d.now)
	day, err := getRecord[CardDay](d.t, keyCardDay(c.PAN, date))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHost, err)
	}
	if day == nil {
		day = &CardDay{}
	}
	masked := MaskPAN(c.PAN)
	if c.PerTxnLimit > 0 && amount > c.PerTxnLimit {
		return nil, fmt.Errorf("pan %s amount %d over per-transaction limit %d: %w", masked, amount, c.PerTxnLimit, ErrOverLimit)
	}
	if c.DailyLimit > 0 && day.Amount+amount > c.DailyLimit {
		return nil, fmt.Errorf("pan %s amount %d over daily limit %d: %w", masked, amount, c.DailyLimit, ErrOverLimit)
	}
	if c.DailyCountLimit > 0 && day.Count+1 > int64(c.DailyCountLimit) {
		return nil, fmt.Errorf("pan %s over daily count limit %d: %w", masked, c.DailyCountLimit, ErrCountLimit)
	}
	day.Count++
	day.Amount += amount
	d.t.put(keyCardDay(c.PAN, date), day)
	return day, nil
}

func (d *decision) positiveAmount() bool {
	if d.r.Amount <= 0 {
		d.err = fmt.Errorf("amount %d: %w", d.r.Amount, ErrBadAmount)
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

// debitable runs the checks shared by everything that takes stored value
// from the card (purchase, pre-authorization): a positive amount, no
// earlier reversal of this request, the card's limits, enough available.
// It returns the card's accounts when all pass.
func (d *decision) debitable() (sv, pts *Account, ok bool) {
	if !d.positiveAmount() || d.tombstoned() {
		return nil, nil, false
	}
	if _, err := d.checkLimits(d.r.Amount); err != nil {
		d.err = err
		return nil, nil, false
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return nil, nil, false
	}
	if sv.Available() < int64(d.r.Amount) {
		d.balancesOnDecline = balancesOf(sv, pts)
		d.err = fmt.Errorf("pan %s available %d < %d: %w", MaskPAN(d.card.PAN), sv.Available(), d.r.Amount, ErrInsufficientFunds)
		return nil, nil, false
	}
	return sv, pts, true
}

func (d *decision) purchase() {
	sv, pts, ok := d.debitable()
	if !ok {
		return
	}
	txn := d.newTxn()
	d.post(txn, sv, d.merchantSV(), int64(d.r.Amount), 0)
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}

func (d *decision) preAuth() {
	sv, pts, ok := d.debitable()
	if !ok {
		return
	}
	holds, err := d.holds()
	if err != nil {
		d.hostErr(err)
		return
	}
	if len(holds) >= maxHoldsPerCard {
		d.err = fmt.Errorf("pan %s has %d open holds: %w", MaskPAN(d.card.PAN), len(holds), ErrOverLimit)
		return
	}
	txn := d.newTxn()
	txn.HoldAmount = d.r.Amount
	txn.HoldExpires = d.now.Add(d.holdPeriod()).UnixNano()
	txn.HoldState = HoldOpen
	d.post(txn, sv, d.merchantSV(), 0, int64(d.r.Amount))
	holds = append(holds, Hold{Seq: txn.Seq, Amount: d.r.Amount, Expires: txn.HoldExpires})
	d.t.put(keyHolds(d.card.PAN), holds)
	d.finish(txn, sv, pts)
}

func (d *decision) holdPeriod() time.Duration {
	days := 7
	if p, err := registryGet[Program](d.t, keyProgram(d.card.ProgramID)); err == nil && p != nil && p.HoldDays > 0 {
		days = p.HoldDays
	}
	return time.Duration(days) * 24 * time.Hour
}

func (d *decision) holds() (Holds, error) {
	p, err := getRecord[Holds](d.t, keyHolds(d.card.PAN))
	if err != nil || p == nil {
		return nil, err
	}
	return *p, nil
}

// releaseExpiredHolds releases every hold of the card whose period has
// passed, with a balanced posting, before any decision that reads the
// card's available balance.
func (d *decision) releaseExpiredHolds() error {
	holds, err := d.holds()
	if err != nil || len(holds) == 0 {
		return err
	}
	now := d.now.UnixNano()
	kept := holds[:0:0]
	released := false
	for _, h := range holds {
		if h.Expires > now {
			kept = append(kept, h)
			continue
		}
		pre, err := d.txn(h.Seq)
		if err != nil {
			return err
		}
		if pre == nil || pre.HoldState != HoldOpen {
			released = true
			continue
		}
		if err := d.undoTransfers(pre, pre); err != nil {
			return err
		}
		pre.HoldState = HoldReleased
		d.t.put(keyTxn(pre.Seq), pre)
		released = true
	}
	if released {
		d.t.put(keyHolds(d.card.PAN), kept)
	}
	return nil
}

func (d *decision) completion() {
	r := d.r
	if d.tombstoned() {
		return
	}
	pre, ok := d.original()
	if !ok {
		return
	}
	if pre.Kind != KindPreAuth || pre.PAN != r.PAN {
		d.err = fmt.Errorf("completion names %s rrn %s: %w", pre.Kind, pre.RRN(), ErrOriginalNotFound)
		return
	}
	if !d.positiveAmount() {
		return
	}
	if err := d.releaseExpiredHolds(); err != nil {
		d.hostErr(err)
		return
	}
	pre, err := d.txn(pre.Seq) // reread: releasing may have changed it
	if err != nil {
		d.hostErr(err)
		return
	}
	switch {
	case pre.HoldState == HoldReleased || pre.Status != TxnApplied:
		d.err = fmt.Errorf("hold rrn %s released or reversed: %w", pre.RRN(), ErrOriginalNotFound)
		return
	case pre.HoldState == HoldCompleted:
		d.err = fmt.Errorf("hold rrn %s already completed: %w", pre.RRN(), ErrNotAllowed)
		return
	case r.Amount > pre.HoldAmount:
		d.err = fmt.Errorf("completion %d above hold %d: %w", r.Amount, pre.HoldAmount, ErrBadAmount)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = pre.Seq
	txn.HoldAmount = pre.HoldAmount
	d.post(txn, sv, d.accountOf(accountMerchantSV(pre.MID), UnitMoney), int64(r.Amount), -int64(pre.HoldAmount))
	pre.HoldState = HoldCompleted
	d.t.put(keyTxn(pre.Seq), pre)
	if err := d.dropHold(pre.Seq); err != nil {
		d.hostErr(err)
		return
	}
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}

func (d *decision) dropHold(seq uint64) error {
	holds, err := d.holds()
	if err != nil {
		return err
	}
	kept := holds[:0:0]
	for _, h := range holds {
		if h.Seq != seq {
			kept = append(kept, h)
		}
	}
	d.t.put(keyHolds(d.card.PAN), kept)
	return nil
}

func (d *decision) refund() {
	r := d.r
	if d.tombstoned() {
		return
	}
	seq, ok := parseRRN(r.OrigRRN)
	var orig *Txn
	var err error
	if ok {
		if orig, err = d.txn(seq); err != nil {
			d.hostErr(err)
			return
		}
	}
	if orig == nil {
		d.err = fmt.Errorf("refund of rrn %q: %w", r.OrigRRN, ErrOriginalNotFound)
		return
	}
	switch {
	case orig.Kind != KindPurchase && orig.Kind != KindCompletion:
		d.err = fmt.Errorf("refund of a %s (rrn %s): %w", orig.Kind, orig.RRN(), ErrOriginalNotFound)
		return
	case orig.MID != r.MID:
		d.err = fmt.Errorf("refund at mid %s of a purchase at another merchant: %w", r.MID, ErrNotAllowed)
		return
	case orig.PAN != r.PAN:
		d.err = fmt.Errorf("refund to another card than rrn %s's: %w", orig.RRN(), ErrNotAllowed)
		return
	case orig.Status != TxnApplied:
		d.err = fmt.Errorf("refund of rrn %s, which is %s: %w", orig.RRN(), orig.Status, ErrNotAllowed)
		return
	}
	if !d.positiveAmount() {
		return
	}
	if left := orig.Amount - orig.Refunded; r.Amount > left {
		d.err = fmt.Errorf("refund %d above the %d left of rrn %s: %w", r.Amount, left, orig.RRN(), ErrBadAmount)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	d.post(txn, d.merchantSV(), sv, int64(r.Amount), 0)
	orig.Refunded += r.Amount
	d.t.put(keyTxn(orig.Seq), orig)
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}

func (d *decision) load() {
	if !d.positiveAmount() || d.tombstoned() {
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	c := d.card
	if c.PerTxnLimit > 0 && d.r.Amount > c.PerTxnLimit {
		d.err = fmt.Errorf("load %d over per-transaction limit %d: %w", d.r.Amount, c.PerTxnLimit, ErrOverLimit)
		return
	}
	if max := c.EffectiveMaxBalance(); Amount(sv.Balance())+d.r.Amount > max {
		d.err = fmt.Errorf("pan %s load %d would exceed max balance %d: %w", MaskPAN(c.PAN), d.r.Amount, max, ErrOverLimit)
		return
	}
	txn := d.newTxn()
	d.post(txn, d.merchantSV(), sv, int64(d.r.Amount), 0)
	d.addToBatch(txn, +1)
	d.finish(txn, sv, pts)
}

// original finds the transaction field 90 names at this terminal. It
// declines 25 when the named request is unknown, was declined, or
// applied nothing.
func (d *decision) original() (*Txn, bool) {
	o := d.r.Orig
	rec, err := getRecord[IdemRecord](d.t, keyIdem(d.r.TID, o.STAN, o.Time))
	if err != nil {
		d.hostErr(err)
		return nil, false
	}
	if rec == nil || rec.Tombstone || rec.MTI != o.MTI || rec.Code != 0 || rec.Seq == 0 {
		d.err = fmt.Errorf("original %s stan %s at tid %s: %w", o.MTI, o.STAN, d.r.TID, ErrOriginalNotFound)
		return nil, false
	}
	txn, err := d.txn(rec.Seq)
	if err != nil {
		d.hostErr(err)
		return nil, false
	}
	if txn == nil {
		// Approved but nothing journaled: a balance inquiry, or a
		// reversal that had nothing to undo. Not an original.
		d.err = fmt.Errorf("original %s stan %s at tid %s applied nothing: %w", o.MTI, o.STAN, d.r.TID, ErrOriginalNotFound)
		return nil, false
	}
	return txn, true
}

func (d *decision) void() {
	r := d.r
	if d.tombstoned() {
		return
	}
	orig, ok := d.original()
	if !ok {
		return
	}
	switch {
	case orig.Kind != KindPurchase && orig.Kind != KindRefund && orig.Kind != KindLoad && orig.Kind != KindRedeem:
		d.err = fmt.Errorf("void of a %s: %w", orig.Kind, ErrNotAllowed)
		return
	case orig.Status != TxnApplied:
		d.err = fmt.Errorf("void of rrn %s, which is %s: %w", orig.RRN(), orig.Status, ErrNotAllowed)
		return
	case orig.PAN != r.PAN:
		d.err = fmt.Errorf("void with another card than rrn %s's: %w", orig.RRN(), ErrNotAllowed)
		return
	case orig.Batch != d.ts.OpenBatch || orig.Batch != r.Batch || d.batchClosed:
		d.err = fmt.Errorf("void of rrn %s outside its open batch %06d: %w", orig.RRN(), orig.Batch, ErrNotAllowed)
		return
	case r.Amount != orig.Amount:
		d.err = fmt.Errorf("void amount %d differs from original %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
	if !d.coversUndo(orig) {
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	if err := d.undo(orig, txn, TxnVoided); err != nil {
		d.hostErr(err)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.finish(txn, sv, pts)
}

// reversal undoes any applied financial request named by field 90. An
// original the host never saw is answered 00 and remembered, so that the
// original, arriving late, is declined 05.
func (d *decision) reversal() {
	r := d.r
	o := r.Orig
	if !d.positiveAmount() {
		return
	}
	// Expired holds are released first, so that a reversal of an expired
	// pre-authorization finds nothing left to release.
	if err := d.releaseExpiredHolds(); err != nil {
		d.hostErr(err)
		return
	}
	rec, err := getRecord[IdemRecord](d.t, keyIdem(r.TID, o.STAN, o.Time))
	if err != nil {
		d.hostErr(err)
		return
	}
	if rec == nil || rec.Tombstone || rec.MTI != o.MTI {
		if rec == nil || rec.Tombstone {
			// Remember the reversal under the original's identity.
			d.t.put(keyIdem(r.TID, o.STAN, o.Time), &IdemRecord{MTI: o.MTI, Tombstone: true, At: d.now.UnixNano()})
		}
		d.assignRRN()
		return
	}
	if rec.Kind == KindReversal {
		d.err = fmt.Errorf("reversal of a reversal: %w", ErrNotAllowed)
		return
	}
	if rec.Code != 0 {
		d.assignRRN() // the original was declined: nothing to undo
		return
	}
	if rec.Seq == 0 || !rec.Kind.Financial() {
		d.err = fmt.Errorf("reversal of a %s: %w", rec.Kind, ErrNotAllowed)
		return
	}
	orig, err := d.txn(rec.Seq)
	if err != nil || orig == nil {
		d.hostErr(fmt.Errorf("journal entry %d missing: %v", rec.Seq, err))
		return
	}
	if orig.PAN != r.PAN {
		d.err = fmt.Errorf("reversal with another card than rrn %s's: %w", orig.RRN(), ErrOriginalNotFound)
		return
	}
	if r.Amount != orig.Amount {
		d.err = fmt.Errorf("reversal amount %d differs from original %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
	if orig.Kind == KindPreAuth && orig.HoldState == HoldCompleted {
		d.err = fmt.Errorf("reversal of completed hold rrn %s: %w", orig.RRN(), ErrNotAllowed)
		return
	}
	if orig.Status != TxnApplied {
		d.assignRRN() // already undone: the outcome the terminal asks for holds
		return
	}
	if !d.coversUndo(orig) {
		return
	}
	txn := d.newTxn()
	txn.OrigSeq = orig.Seq
	if orig.Kind == KindVoid {
		// Reversing a void re-applies its original.
		voided, err := d.txn(orig.OrigSeq)
		if err != nil || voided == nil {
			d.hostErr(fmt.Errorf("voided entry %d missing: %v", orig.OrigSeq, err))
			return
		}
		if err := d.undo(orig, txn, TxnReversed); err != nil {
			d.hostErr(err)
			return
		}
		voided.Status, voided.UndoneBy = TxnApplied, 0
		d.t.put(keyTxn(voided.Seq), voided)
		if err := d.adjustForUndo(voided, +1); err != nil {
			d.hostErr(err)
			return
		}
	} else if err := d.undo(orig, txn, TxnReversed); err != nil {
		d.hostErr(err)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	d.finish(txn, sv, pts)
}

// undo reverses orig's postings under txn and marks orig undone. Its
// batch totals, refunded sums and holds follow.
func (d *decision) undo(orig, txn *Txn, status TxnStatus) error {
	if err := d.undoTransfers(orig, txn); err != nil {
		return err
	}
	orig.Status, orig.UndoneBy = status, txn.Seq
	if orig.Kind == KindPreAuth && orig.HoldState == HoldOpen {
		orig.HoldState = HoldReleased
		if err := d.dropHold(orig.Seq); err != nil {
			return err
		}
	}
	d.t.put(keyTxn(orig.Seq), orig)
	if orig.Kind == KindVoid {
		return nil
	}
	return d.adjustForUndo(orig, -1)
}

// adjustForUndo takes orig out of (sign -1) or back into (+1) its batch
// totals and its purchase's refunded sum.
func (d *decision) adjustForUndo(orig *Txn, sign int64) error {
	if orig.Kind == KindRefund && orig.OrigSeq != 0 {
		p, err := d.txn(orig.OrigSeq)
		if err != nil || p == nil {
			return fmt.Errorf("purchase %d of refund %d missing: %v", orig.OrigSeq, orig.Seq, err)
		}
		p.Refunded += Amount(sign) * orig.Amount
		d.t.put(keyTxn(p.Seq), p)
	}
	b, err := getRecord[Batch](d.t, keyBatch(orig.TID, orig.Batch))
	if err != nil {
		return err
	}
	if b != nil && b.State != BatchClosed {
		addTotals(&b.Totals, orig, sign)
		d.t.put(keyBatch(orig.TID, orig.Batch), b)
		if d.batch != nil && d.batch.Number == b.Number && orig.TID == d.r.TID {
			d.batch = b
		}
	}
	return nil
}

// addTotals counts a transaction into batch totals per contract section
// 6: debits are purchases and completions, credits refunds and loads.
func addTotals(t *BatchTotals, txn *Txn, sign int64) {
	switch txn.Kind {
	case KindPurchase, KindCompletion:
		t.DebitCount += sign
		t.DebitAmount += Amount(sign) * txn.Amount
	case KindRefund, KindLoad:
		t.CreditCount += sign
		t.CreditAmount += Amount(sign) * txn.Amount
	}
}

func (d *decision) addToBatch(txn *Txn, sign int64) {
	if d.batch == nil || d.batchClosed {
		return
	}
	addTotals(&d.batch.Totals, txn, sign)
	d.t.put(keyBatch(d.r.TID, d.batch.Number), d.batch)
}

func (d *decision) closeBatch() {
	r := d.r
	key := keyBatch(r.TID, r.Batch)
	b, err := getRecord[Batch](d.t, key)
	if err != nil {
		d.hostErr(err)
		return
	}
	if b == nil {
		b = &Batch{Number: r.Batch, State: BatchOpen, Opened: d.now.UnixNano(), BizDate: d.s.businessDate(d.now)}
	}
	if b.State == BatchClosed {
		d.err = fmt.Errorf("batch %06d of tid %s is already closed: %w", r.Batch, r.TID, ErrNotAllowed)
		return
	}
	b.Reported = r.Totals
	if r.Kind == KindBatchClose && r.Totals != b.Totals {
		b.State = BatchMismatch
		d.survive(key, b)
		d.err = fmt.Errorf("batch %06d of tid %s: terminal %+v host %+v: %w", r.Batch, r.TID, r.Totals, b.Totals, ErrTotalsMismatch)
		return
	}
	b.State, b.Closed = BatchClosed, d.now.UnixNano()
	b.ClosedHow = 1
	if r.Kind == KindBatchCloseAfterUpload {
		b.ClosedHow = 2
		if r.Totals != b.Totals {
			d.s.log.Warn().Str("tid", r.TID).Str("batch", fmt.Sprintf("%06d", r.Batch)).
				Int64("terminal_debits", int64(r.Totals.DebitAmount)).Int64("host_debits", int64(b.Totals.DebitAmount)).
				Int64("terminal_credits", int64(r.Totals.CreditAmount)).Int64("host_credits", int64(b.Totals.CreditAmount)).
				Msg("batch closed on host totals after upload; totals differ")
		}
	}
	d.t.put(key, b)
	if d.ts.OpenBatch == r.Batch {
		d.ts.OpenBatch = 0
		d.t.put(keyTermState(r.TID), d.ts)
	}
}

func (d *decision) upload() {
	r := d.r
	orig, ok := d.original()
	if !ok {
		return
	}
	counted := orig.Status == TxnApplied && orig.Batch == r.Batch &&
		(orig.Kind == KindPurchase || orig.Kind == KindCompletion || orig.Kind == KindRefund || orig.Kind == KindLoad)
	if !counted || (r.OrigRRN != "" && r.OrigRRN != orig.RRN()) {
		d.err = fmt.Errorf("upload of %s stan %s: not in batch %06d: %w", r.Orig.MTI, r.Orig.STAN, r.Batch, ErrOriginalNotFound)
		return
	}
	if r.Amount != orig.Amount {
		d.err = fmt.Errorf("upload amount %d differs from host's %d: %w", r.Amount, orig.Amount, ErrBadAmount)
		return
	}
}

func parseRRN(s string) (uint64, bool) {
	if len(s) != 12 || !isDigits(s) {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v, v != 0
}
