package terminal

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// checkout.go: one purchase at a checkout reader, from the card in the
// reader to the outcome: a chip card by the EMV kernel-lite (emvcard.go,
// emvac.go) with its ARQC in field 55 and the issuer's ARPC back to the
// card; a member card with only a UID as a magstripe-style request for the
// card its UID maps to. When the outcome is unknown after the request went
// out, the reader reverses it (0400).

// reversalTimeout bounds a reversal, which runs even when the caller's
// context has ended (the cashier pressed Ctrl-C mid-transaction).
const reversalTimeout = 30 * time.Second

// Checkout is a checkout reader's purchase flow on a Terminal.
type Checkout struct {
	Term *Terminal
	AID  []byte // the program's application; DefaultAID when nil
	// LookupUID maps a member card's UID (upper-case hex) to its card, as
	// the provisioning file the host imported says; nil: UID cards refused.
	LookupUID func(uid string) (Card, bool)
}

// CheckoutKind says how the card was read.
type CheckoutKind string

// Card kinds at a checkout.
const (
	KindChip CheckoutKind = "chip"
	KindUID  CheckoutKind = "uid"
)

// CheckoutResult is the outcome of one purchase. It holds the PAN only
// masked.
type CheckoutResult struct {
	Kind       CheckoutKind
	MaskedPAN  string
	Result     *Result // the host's answer; nil when none was processed
	End        ChipEnd // how the chip card ended (chip only)
	Approved   bool    // host approved and, for a chip card, the card's TC
	Reversal   *Result // the 0400 the reader sent, nil when none
	ReversedBy string  // why it reversed: the moment the outcome became unknown
}

// Reasons a checkout reverses (docs/devices.md).
const (
	ReverseNoAnswer   = "no answer processed from the host"
	ReverseCardGone   = "card gone before the second GENERATE AC"
	ReverseCardAAC    = "card declined the approval (AAC)"
	ReverseARPCFailed = "card rejected the issuer's ARPC"
)

// ErrReversalPending: the reader sent a reversal and got no answer either.
var ErrReversalPending = errors.New("reversal not answered: the purchase may stand until the host sees the reversal")

// Purchase reads the card on conn and buys amount with it.
func (co *Checkout) Purchase(ctx context.Context, conn CardConn, amount Fen) (*CheckoutResult, error) {
	aid := co.AID
	if aid == nil {
		aid = DefaultAID
	}
	app, err := ReadChipApp(ctx, conn, aid)
	if errors.Is(err, ErrNoApplication) {
		return co.uidPurchase(ctx, conn, amount)
	}
	if err != nil {
		return nil, err // nothing sent
	}
	out := &CheckoutResult{Kind: KindChip, MaskedPAN: cardnum.Mask(app.PAN)}
	sess := &ChipSession{App: app, Conn: conn}
	card := app.Card()
	card.Chip = &ChipCard{PSN: app.PSN, ICC: sess}
	res, err := co.Term.Purchase(ctx, card, amount)
	if res == nil {
		return out, err // nothing sent: the card refused its ARQC, or the request could not be built
	}
	if err != nil && (res.Response == nil || res.RC == "" || res.Approved()) {
		// The request went out and no answer was processed: no response,
		// a malformed one, a bad MAC, or an approval whose tag 91 is wrong.
		out.Result = res
		return out, co.reverse(ctx, out, res, ReverseNoAnswer, err)
	}
	out.Result = res
	if err != nil {
		return out, err // a decline that did not verify: nothing to undo
	}
	var auth []byte
	if res.Chip != nil {
		auth = res.Chip.IssuerAuth
	}
	end, cerr := sess.Complete(ctx, res.RC, auth)
	out.End = end
	if res.Chip != nil {
		res.Chip.ARPCVerified = end.ARPCVerified
	}
	switch {
	case !res.Approved():
		return out, nil
	case cerr != nil:
		return out, co.reverse(ctx, out, res, ReverseCardGone, cerr)
	case end.ARPCRejected:
		return out, co.reverse(ctx, out, res, ReverseARPCFailed, nil)
	case !end.TC:
		return out, co.reverse(ctx, out, res, ReverseCardAAC, nil)
	}
	out.Approved = true
	return out, nil
}

// uidPurchase buys with a member card that has only a UID.
func (co *Checkout) uidPurchase(ctx context.Context, conn CardConn, amount Fen) (*CheckoutResult, error) {
	uid, err := ReadUID(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("%w: and no UID either: %w", ErrNoApplication, err)
	}
	key := strings.ToUpper(hex.EncodeToString(uid))
	out := &CheckoutResult{Kind: KindUID}
	if co.LookupUID == nil {
		return out, fmt.Errorf("%w: uid card: this reader has no UID mapping (--cards)", ErrBadCard)
	}
	card, ok := co.LookupUID(key)
	if !ok {
		return out, fmt.Errorf("%w: uid %s is no card's", ErrBadCard, key)
	}
	out.MaskedPAN = cardnum.Mask(card.PAN)
	res, err := co.Term.Purchase(ctx, card, amount)
	out.Result = res
	if res != nil && err != nil && (res.Response == nil || res.RC == "") {
		return out, co.reverse(ctx, out, res, ReverseNoAnswer, err)
	}
	if err == nil && res.Approved() {
		out.Approved = true
	}
	return out, err
}

// reverse sends the 0400 of res's request; why is the moment the outcome
// became unknown, cause what happened then (nil when the card said so).
func (co *Checkout) reverse(ctx context.Context, out *CheckoutResult, res *Result, why string, cause error) error {
	out.ReversedBy = why
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reversalTimeout)
	defer cancel()
	rev, err := co.Term.Reverse(rctx, res.Txn)
	out.Reversal = rev
	if err == nil && !rev.Approved() {
		err = fmt.Errorf("reversal answered %s", rev.RC)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("%s: %w", why, ErrReversalPending), err, cause)
	}
	return nil
}
