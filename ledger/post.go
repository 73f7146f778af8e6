package ledger

import "fmt"

// The posting helpers of a decision. Every change of a balance is a
// Transfer between two accounts of one unit, written together with both
// accounts, so that each posting set is balanced by construction and the
// checker can recompute every account from its transfers.

// survive stages a write now and keeps it if the request is declined.
func (d *decision) survive(key string, rec interface{ encode(*encoder) }) {
	e := encoder{b: make([]byte, 0, 64)}
	rec.encode(&e)
	d.t.set(key, e.b)
	d.survivors = append(d.survivors, kv{key: key, val: e.b})
}

// accountOf reads an account; a storage error is remembered (96).
func (d *decision) accountOf(id string, unit Unit) *Account {
	a := d.newAccount()
	*a = Account{ID: id, Unit: unit}
	return d.readable(a, d.t.load(a))
}

// newAccount is a zero account for the decision to read into: the
// request's scratch (accountScratch) while it lasts, else a new one.
func (d *decision) newAccount() *Account {
	if sc := d.spareAccounts; sc != nil && sc.used < len(sc.a) {
		a := &sc.a[sc.used]
		sc.used++
		*a = Account{}
		return a
	}
	return new(Account)
}

// cardAccountOf is accountOf for the card pan's stored value (slotSV)
// or points (slotPoints) account, named by its key in the card cache.
func (d *decision) cardAccountOf(pan string, slot int) *Account {
	a := d.newAccount()
	return d.readable(a, d.t.loadCardAccount(pan, slot, a))
}

// readable is a, or after a storage error (recorded in ioErr) an empty
// account of the same id: the decision goes on to its 96.
func (d *decision) readable(a *Account, err error) *Account {
	if err != nil {
		if d.ioErr == nil {
			d.ioErr = err
		}
		return &Account{ID: a.ID, Unit: a.Unit, key: a.key}
	}
	return a
}

// merchantSV is the stored value account of the request's merchant,
// its key kept in the terminal's entry.
func (d *decision) merchantSV() *Account {
	if d.te != nil && d.te.mid == d.r.MID {
		return d.accountAt(d.te.merchantSVKey, UnitMoney)
	}
	return d.hotAccountOf(kindMerchantSV, d.r.MID, UnitMoney)
}

// hotAccountOf is accountOf for an account every purchase at a merchant
// or in a program posts to, of kind (its ID's prefix) and owner: its
// key is kept (hotKeys), not built per purchase.
func (d *decision) hotAccountOf(kind, owner string, unit Unit) *Account {
	return d.accountAt(d.s.keys.account(kind, owner), unit)
}

// accountAt is the account stored at key, a kept account key.
func (d *decision) accountAt(key string, unit Unit) *Account {
	a := d.newAccount()
	*a = Account{ID: accountIDOf(key), Unit: unit, key: key}
	return d.readable(a, d.t.load(a))
}

func (d *decision) txn(seq uint64) (*Txn, error) {
	return getRecord[Txn](d.t, keyTxn(seq))
}

// newTxn starts the journal entry of this request and assigns its RRN
// and approval code.
func (d *decision) newTxn() *Txn {
	d.assignRRN()
	r := d.r
	date, lateFrom := d.s.bookingDate(d.now)
	// The entry, its rates and its first transfers in one allocation:
	// Transfers starts in the block's array and grows out of it only
	// past newTxnTransfers. Nothing copies a Txn and appends to both.
	blk := takeSpare(&d.spareTxn)
	*blk = newTxnBlock{}
	blk.txn = Txn{
		Seq: d.seq, Kind: r.Kind, MTI: r.MTI, ProcCode: r.ProcCode, TID: r.TID, MID: r.MID,
		HomeMID: d.card.HomeMID, ProgramID: d.card.ProgramID, PAN: d.card.PAN,
		STAN: r.STAN, Time: r.Time, AuthCode: d.auth, Batch: r.Batch,
		BizDate: date, LateFrom: lateFrom, At: d.now.UnixNano(), Amount: r.Amount, Status: TxnApplied,
		Rates:     d.settlementRates(&blk.rates),
		Transfers: blk.transfers[:0],
	}
	return &blk.txn
}

// newTxnTransfers is how many transfers a new entry has room for: a
// purchase's stored value and points.
const newTxnTransfers = 2

// newTxnBlock is what newTxn allocates.
type newTxnBlock struct {
	txn       Txn
	rates     TxnRates
	transfers [newTxnTransfers]Transfer
}

// settlementRates are the rates settlement applies to this request's
// entry (contract section 8), recorded with it so that settling it, or
// its undo on a later date, never depends on when settlement runs. Only
// the kinds settlement counts carry them: r, filled, or nil.
func (d *decision) settlementRates(r *TxnRates) *TxnRates {
	switch d.r.Kind {
	case KindPurchase, KindCompletion, KindRefund, KindLoad, KindAccrual, KindRedeem:
	default:
		return nil
	}
	if d.m == nil {
		return nil
	}
	p, err := d.programOf(d.m.ProgramID)
	if err != nil {
		if d.ioErr == nil {
			d.ioErr = err
		}
		return nil
	}
	*r = TxnRates{MDRBP: d.m.MDRBP, LoadCommissionBP: d.m.LoadCommissionBP}
	if p != nil {
		r.InterchangeBP, r.PointCost = p.InterchangeBP, p.PointCost
	}
	return r
}

// post moves posted value and opens (pendingDelta > 0) or releases
// (pendingDelta < 0) a hold from debit to credit, as a transfer owned by
// the journal entry owner. A transfer postedSums refuses is not made and
// refuses the whole decision (ErrOutOfRange, 13).
func (d *decision) post(owner *Txn, debit, credit *Account, posted, pendingDelta int64) {
	if debit.Unit != credit.Unit {
		panic(fmt.Sprintf("ledger: transfer between %s and %s accounts", debit.Unit, credit.Unit))
	}
	if len(owner.Transfers) >= maxTransfersPerTxn {
		d.ioErr = fmt.Errorf("journal entry %d: more than %d transfers", owner.Seq, maxTransfersPerTxn)
		return
	}
	tr := Transfer{
		ID:    owner.Seq<<8 | uint64(len(owner.Transfers)),
		Seq:   owner.Seq,
		Debit: debit.ID, Credit: credit.ID, Unit: debit.Unit,
		Posted: posted, PendingDelta: pendingDelta,
	}
	nd, nc, err := postedSums(*debit, *credit, posted, pendingDelta)
	if err != nil {
		d.refuse(fmt.Errorf("journal entry %d: %w", owner.Seq, err))
		return
	}
	*debit, *credit = nd, nc
	assertPosting(debit, credit)
	d.t.put(debit.storeKey(), debit)
	d.t.put(credit.storeKey(), credit)
	owner.Transfers = append(owner.Transfers, tr)
}

// postedSums returns the two accounts after a transfer, refusing
// (ErrOutOfRange) a transfer beyond MaxAmount, a running sum that would
// wrap, and a card balance or available balance beyond MaxAmount: field
// 54 shows those, in 12 digits.
func postedSums(debit, credit Account, posted, pendingDelta int64) (Account, Account, error) {
	if posted < 0 || posted > MaxAmount || !InRange(pendingDelta) {
		return debit, credit, fmt.Errorf("transfer of %d (pending %+d): beyond 0..%d: %w", posted, pendingDelta, int64(MaxAmount), ErrOutOfRange)
	}
	var errs [4]error
	debit.DebitsPosted, errs[0] = addInt64(debit.DebitsPosted, posted)
	credit.CreditsPosted, errs[1] = addInt64(credit.CreditsPosted, posted)
	debit.DebitsPending, errs[2] = addInt64(debit.DebitsPending, pendingDelta)
	credit.CreditsPending, errs[3] = addInt64(credit.CreditsPending, pendingDelta)
	for _, err := range errs {
		if err != nil {
			return debit, credit, fmt.Errorf("accounts %s → %s: %w", maskAccount(debit.ID), maskAccount(credit.ID), err)
		}
	}
	for _, a := range []*Account{&debit, &credit} {
		if isCardAccount(a.ID) && (a.Balance() > MaxAmount || a.Available() > MaxAmount) {
			return debit, credit, fmt.Errorf("account %s: balance would be %d, available %d, beyond %d: %w",
				maskAccount(a.ID), a.Balance(), a.Available(), int64(MaxAmount), ErrOutOfRange)
		}
	}
	return debit, credit, nil
}

// refuse declines the decision with err (ErrOutOfRange) however it
// goes on: a posting it needed was not made. The first refusal is kept.
func (d *decision) refuse(err error) {
	if d.refused == nil {
		d.refused = err
	}
}

// undoTransfers reverses orig's postings under owner: posted value flows
// back, and a hold that orig still holds is released. It works on the net
// effect per pair of accounts, so a hold that was already released (by
// expiry or a completion) is not released twice nor opened again. The
// net sums cannot wrap: an entry has at most maxTransfersPerTxn transfers
// of at most MaxAmount each (post refuses more).
func (d *decision) undoTransfers(orig, owner *Txn) error {
	type pair struct {
		debit, credit string
		unit          Unit
	}
	var order []pair
	net := map[pair]*Transfer{}
	for _, tr := range orig.Transfers {
		if tr.Unit == UnitPoints {
			continue // points follow the wallet: undoPoints
		}
		k := pair{tr.Debit, tr.Credit, tr.Unit}
		if net[k] == nil {
			net[k] = &Transfer{}
			order = append(order, k)
		}
		net[k].Posted += tr.Posted
		net[k].PendingDelta += tr.PendingDelta
	}
	for _, k := range order {
		n := net[k]
		if n.Posted > 0 {
			d.post(owner, d.accountOf(k.credit, k.unit), d.accountOf(k.debit, k.unit), n.Posted, 0)
		} else if n.Posted < 0 {
			d.post(owner, d.accountOf(k.debit, k.unit), d.accountOf(k.credit, k.unit), -n.Posted, 0)
		}
		if n.PendingDelta > 0 {
			d.post(owner, d.accountOf(k.debit, k.unit), d.accountOf(k.credit, k.unit), 0, -n.PendingDelta)
		}
	}
	return d.ioErr
}

// undoDebit is what undoing orig would take from the account: the value
// orig posted to it (net), which flows back.
func undoDebit(orig *Txn, account string) int64 {
	var v int64
	for _, tr := range orig.Transfers {
		if tr.Credit == account {
			v += tr.Posted
		}
		if tr.Debit == account {
			v -= tr.Posted
		}
	}
	return v
}

// coversUndo declines 51 when undoing orig would take more stored value
// from the card than it has available (a load since spent, say): a card's
// available balance never goes negative.
func (d *decision) coversUndo(orig *Txn) bool {
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return false
	}
	if need := undoDebit(orig, sv.ID); need > sv.Available() {
		d.balancesOnDecline = d.balancesOf(sv, pts)
		d.err = fmt.Errorf("undoing rrn %s takes %d, available %d: %w", orig.RRN(), need, sv.Available(), ErrInsufficientFunds)
		return false
	}
	return d.coversPoints(orig, sv, pts)
}

// finish writes the journal entry, books it on its business date (a
// run: tx.book) and links it into its card's history, and sets the
// answer's balances. sv and pts are the card's accounts as the decision
// leaves them: the entry's seq is recorded as the newest of the card's
// history in sv (Account.LastEntry), which the decision has most often
// written already (the op's later write supersedes it: tx.flush), and
// the entry links to the one it replaces there.
func (d *decision) finish(txn *Txn, sv, pts *Account) {
	assertCardHead(d.t, txn, sv)
	txn.CardPrev, sv.LastEntry = sv.LastEntry, txn.Seq
	d.t.put(sv.storeKey(), sv)
	d.t.put(d.journalKey(txn.Seq), txn)
	d.t.book(txn.Seq, txn.BizDate)
	b := d.balancesOf(sv, pts)
	b.Earned, b.Debited = txn.Earned, txn.Debited
	d.bal = b
}
