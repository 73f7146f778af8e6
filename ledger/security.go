package ledger

import (
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// The security steps of contract section 7, in the contract's check
// order: the MAC after the terminal checks (03, 58) and before the
// retransmission check; the chip data after the card checks; the PIN
// after the chip data. The gateway has already done the cryptography
// (Request.Security); these steps hold the state: the terminal's key
// generation, the card's ATC and its wrong-PIN count.

// maxPINTries is how many wrong PINs in a row block a card for PIN use.
const maxPINTries = 3

// macFault answers a request in the MAC's scope from a terminal with
// working keys whose MAC is missing, misplaced, wrong, or verified under
// keys that are no longer the terminal's.
func macFault(tid string, ts *TerminalState, sec *Security) error {
	if !sec.MACScope || !ts.HasKeys() {
		return nil
	}
	switch sec.MAC {
	case MACValid:
		if sec.KeyGen == ts.KeyGen {
			return nil
		}
		return fmt.Errorf("tid %s: MAC under key generation %d, current is %d: %w", tid, sec.KeyGen, ts.KeyGen, ErrSecurity)
	case MACAbsent:
		return fmt.Errorf("tid %s: MAC missing: %w", tid, ErrSecurity)
	case MACMisplaced:
		return fmt.Errorf("tid %s: MAC in the wrong field (64 with a field 65-127, or 128 without one): %w", tid, ErrSecurity)
	}
	return fmt.Errorf("tid %s: MAC wrong: %w", tid, ErrSecurity)
}

// macKeyGen is the key generation a response to r is MACed under: the
// terminal's current one for a request in the MAC's scope, 0 (no MAC)
// otherwise.
func macKeyGen(ts *TerminalState, sec *Security) uint32 {
	if sec.MACScope && ts.HasKeys() {
		return ts.KeyGen
	}
	return 0
}

// cardPSN is the card's sequence number ("00" when none was issued).
func cardPSN(c *Card) string {
	if c.PSN == "" {
		return "00"
	}
	return c.PSN
}

// cardSecurity reads (once) the card's PIN and chip state.
func (d *decision) cardSecurity() (*CardSecurity, error) {
	if d.cardSec != nil {
		return d.cardSec, nil
	}
	cs, err := getRecord[CardSecurity](d.t, keyCardSec(d.card.PAN))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHost, err)
	}
	if cs == nil {
		cs = &CardSecurity{}
	}
	d.cardSec = cs
	return cs, nil
}

// checksChip: completions and reversals settle or undo what the host
// already accepted; they carry the original's chip data, if any, and are
// not checked again (the ATC would not rise).
func checksChip(k Kind) bool { return k != KindCompletion && k != KindReversal }

// checkChip applies the chip step: a wrong ARQC, or an ATC not above the
// highest accepted for the card, is a security violation (63, not
// stored). An accepted ATC is remembered even when a later step declines
// the request: the card has used it.
func (d *decision) checkChip() error {
	c := d.r.Security.Chip
	if c == nil || !checksChip(d.r.Kind) {
		return nil
	}
	masked := cardnum.Mask(d.card.PAN)
	if !c.CryptogramValid {
		return fmt.Errorf("pan %s: ARQC wrong: %w", masked, ErrSecurity)
	}
	cs, err := d.cardSecurity()
	if err != nil {
		return err
	}
	if cs.HasATC && cs.PSN == c.PSN && c.ATC <= cs.ATC {
		return fmt.Errorf("pan %s: ATC %d not above %d: %w", masked, c.ATC, cs.ATC, ErrSecurity)
	}
	cs.PSN, cs.ATC, cs.HasATC = c.PSN, c.ATC, true
	d.survive(keyCardSec(d.card.PAN), cs)
	d.chipAccepted = true
	return nil
}

// needsPIN reports whether the card's product asks for a PIN for this
// request: 0100 and 0200 requests only, never a void.
func (d *decision) needsPIN() (bool, error) {
	r := d.r
	if (r.MTI != "0100" && r.MTI != "0200") || r.Kind == KindVoid {
		return false, nil
	}
	prog, err := d.programOf(d.card.ProgramID)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrHost, err)
	}
	if prog == nil {
		return false, fmt.Errorf("%w: program %s of card %s missing", ErrHost, d.card.ProgramID, cardnum.Mask(d.card.PAN))
	}
	pr, ok := prog.Product(d.card.Product)
	if !ok {
		return false, fmt.Errorf("%w: product %q of card %s missing from program %s", ErrHost, d.card.Product, cardnum.Mask(d.card.PAN), prog.ID)
	}
	return pr.NeedsPIN(r.ProcCode, r.Amount), nil
}

// checkPIN applies the PIN step: a needed PIN that is absent is 55 and
// not counted (75 once blocked); a wrong one counts, and the third in a
// row blocks the card for PIN use (75); a correct one resets the count.
// The count survives the decline it causes.
func (d *decision) checkPIN() error {
	need, err := d.needsPIN()
	if err != nil || !need {
		return err
	}
	cs, err := d.cardSecurity()
	if err != nil {
		return err
	}
	masked := cardnum.Mask(d.card.PAN)
	if cs.PINBlocked {
		return fmt.Errorf("pan %s: %w", masked, ErrPINTriesExceeded)
	}
	switch d.r.Security.PIN {
	case PINAbsent:
		return fmt.Errorf("pan %s: PIN needed and absent: %w", masked, ErrWrongPIN)
	case PINCorrect:
		if cs.PINTries != 0 {
			cs.PINTries = 0
			d.survive(keyCardSec(d.card.PAN), cs)
		}
		return nil
	}
	cs.PINTries++
	if cs.PINTries >= maxPINTries {
		cs.PINBlocked = true
		d.survive(keyCardSec(d.card.PAN), cs)
		return fmt.Errorf("pan %s: wrong PIN %d times: %w", masked, cs.PINTries, ErrPINTriesExceeded)
	}
	d.survive(keyCardSec(d.card.PAN), cs)
	return fmt.Errorf("pan %s: wrong PIN (%d of %d): %w", masked, cs.PINTries, maxPINTries, ErrWrongPIN)
}
