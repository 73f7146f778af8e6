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
	d.survivors = append(d.survivors, kv{key, e.b})
}

// accountOf reads an account; a storage error is remembered (96).
func (d *decision) accountOf(id string, unit Unit) *Account {
	a, err := d.t.account(id, unit)
	if err != nil {
		if d.ioErr == nil {
			d.ioErr = err
		}
		return &Account{ID: id, Unit: unit}
	}
	return a
}

func (d *decision) merchantSV() *Account {
	return d.accountOf(accountMerchantSV(d.r.MID), UnitMoney)
}

func (d *decision) txn(seq uint64) (*Txn, error) {
	return getRecord[Txn](d.t, keyTxn(seq))
}

// newTxn starts the journal entry of this request and assigns its RRN
// and approval code.
func (d *decision) newTxn() *Txn {
	d.assignRRN()
	r := d.r
	return &Txn{
		Seq: d.seq, Kind: r.Kind, MTI: r.MTI, ProcCode: r.ProcCode, TID: r.TID, MID: r.MID,
		HomeMID: d.card.HomeMID, ProgramID: d.card.ProgramID, PAN: d.card.PAN,
		STAN: r.STAN, Time: r.Time, AuthCode: d.auth, Batch: r.Batch,
		BizDate: d.s.businessDate(d.now), At: d.now.UnixNano(), Amount: r.Amount, Status: TxnApplied,
	}
}

// post moves posted value and opens (pendingDelta > 0) or releases
// (pendingDelta < 0) a hold from debit to credit, as a transfer owned by
// the journal entry owner.
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
	debit.DebitsPosted += posted
	credit.CreditsPosted += posted
	debit.DebitsPending += pendingDelta
	credit.CreditsPending += pendingDelta
	d.t.put(keyAccount(debit.ID), debit)
	d.t.put(keyAccount(credit.ID), credit)
	owner.Transfers = append(owner.Transfers, tr)
}

// undoTransfers reverses orig's postings under owner: posted value flows
// back, holds that orig opened are released. A hold that orig released
// (a completion) is not opened again.
func (d *decision) undoTransfers(orig, owner *Txn) error {
	trs := append([]Transfer(nil), orig.Transfers...)
	for _, tr := range trs {
		debit := d.accountOf(tr.Debit, tr.Unit)
		credit := d.accountOf(tr.Credit, tr.Unit)
		if tr.Posted != 0 {
			d.post(owner, credit, debit, tr.Posted, 0)
		}
		if tr.PendingDelta > 0 {
			// reread: the posting above may have rewritten both accounts
			debit, credit = d.accountOf(tr.Debit, tr.Unit), d.accountOf(tr.Credit, tr.Unit)
			d.post(owner, debit, credit, 0, -tr.PendingDelta)
		}
	}
	return d.ioErr
}

// finish writes the journal entry with its indexes and sets the answer's
// balances.
func (d *decision) finish(txn *Txn, sv, pts *Account) {
	d.t.put(keyTxn(txn.Seq), txn)
	d.t.set(keyByDate(txn.BizDate, txn.MID, txn.Seq), nil)
	d.t.set(keyByCard(txn.PAN, txn.Seq), nil)
	b := balancesOf(sv, pts)
	b.Earned, b.Debited = txn.Earned, txn.Debited
	d.bal = b
}
