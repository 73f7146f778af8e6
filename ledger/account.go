package ledger

// account.go: accounts and the transfers between them, in the binary
// style of codec.go.

import "fmt"

// Account holds the running sums of every posting against it, in the
// manner of TigerBeetle: posted and pending, debits and credits. Card
// accounts are credit-normal: the balance is credits minus debits.
type Account struct {
	ID             string
	Unit           Unit
	DebitsPosted   int64
	CreditsPosted  int64
	DebitsPending  int64
	CreditsPending int64
	// LastEntry is, in a card's stored-value account, the seq of the
	// card's newest journal entry: the head of its history, a chain
	// through each entry's Txn.CardPrev (0: none yet, or only entries
	// of format 1, which jc/ indexes). Every journaled decision on a
	// card writes this account (decision.finish); other accounts leave
	// it 0. Record version 2 carries it.
	LastEntry uint64

	// key is keyAccount(ID) when the writer read it (tx.account), so
	// that writing it back does not build the key again.
	key string
}

// storeKey is the account's key in the store.
func (a *Account) storeKey() string {
	if a.key == "" {
		a.key = keyAccount(a.ID)
	}
	return a.key
}

// Balance is credits posted minus debits posted.
func (a *Account) Balance() int64 { return a.CreditsPosted - a.DebitsPosted }

// Available is the balance less pending debits (holds).
func (a *Account) Available() int64 { return a.Balance() - a.DebitsPending }

func (a *Account) encode(e *encoder) {
	v := uint8(1)
	if a.LastEntry != 0 {
		v = 2
	}
	e.u8(v)
	e.u8(uint8(a.Unit))
	e.iv(a.DebitsPosted)
	e.iv(a.CreditsPosted)
	e.iv(a.DebitsPending)
	e.iv(a.CreditsPending)
	if v == 2 {
		e.uv(a.LastEntry)
	}
}

func (a *Account) decode(b []byte) error {
	d := decoder{b: b}
	v := d.u8()
	if v != 1 && v != 2 {
		d.fail()
	}
	a.Unit = Unit(d.u8())
	a.DebitsPosted = d.iv()
	a.CreditsPosted = d.iv()
	a.DebitsPending = d.iv()
	a.CreditsPending = d.iv()
	a.LastEntry = 0
	if v == 2 { // version 1 predates the card's history chain
		a.LastEntry = d.uv()
	}
	if err := d.done("account"); err != nil {
		return fmt.Errorf("%s: %w", maskAccount(a.ID), err) // built only for a corrupt record
	}
	return nil
}

// Transfer is one balanced posting: Posted moves value from Debit to
// Credit; PendingDelta opens (positive) or releases (negative) a hold
// between the same two accounts. Both sides change by the same amounts, so
// every transfer conserves value by construction.
type Transfer struct {
	ID           uint64
	Seq          uint64 // the journal entry that made it
	Debit        string
	Credit       string
	Unit         Unit
	Posted       int64
	PendingDelta int64
}

// Transfers are stored inside the journal entry that owns them.
func (t *Transfer) encode(e *encoder) {
	e.uv(t.ID)
	e.str(t.Debit)
	e.str(t.Credit)
	e.u8(uint8(t.Unit))
	e.iv(t.Posted)
	e.iv(t.PendingDelta)
}

func (t *Transfer) decode(d *decoder, seq uint64) {
	t.ID = d.uv()
	t.Seq = seq
	t.Debit = d.istr()
	t.Credit = d.istr()
	t.Unit = Unit(d.u8())
	t.Posted = d.iv()
	t.PendingDelta = d.iv()
}
