package terminal

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// The simulated chip card: from the program's issuer master key it derives
// its own master key (EMV Option A), counts its transactions (ATC), builds
// field 55 with the ARQC, and checks the issuer's ARPC in the response, as
// contract section 7 "Chip" describes. The cryptography is cardcrypto's.

const (
	entryChip = "051" // field 22: chip read, no PIN capability stated
	// DefaultPSN is the PAN sequence number of a chip card given without one.
	DefaultPSN = "00"
	// maxChipCards bounds the per-card ATCs a terminal keeps.
	maxChipCards = 4096
	maxATC       = 0xFFFF
)

// Values of field 55 the simulated card and terminal always send.
var (
	chipCID        = []byte{0x80}                                     // 9F27: ARQC
	chipIAD        = []byte{0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00} // 9F10: length, DKI, CVN, CVR 03A00000
	chipTVR        = make([]byte, 5)                                  // 95: nothing to report
	chipAIP        = []byte{0x18, 0x00}                               // 82
	chipCurrency   = []byte{0x01, 0x56}                               // 5F2A: CNY
	chipCountry    = []byte{0x01, 0x56}                               // 9F1A: China
	chipAmountZero = make([]byte, 6)                                  // 9F03
)

// ErrChip is wrapped when a chip card cannot be used (no IMK, bad PSN, ATC
// exhausted) or the host's answer to a chip request does not verify: tag 91
// absent from an approval, malformed, with an ARC other than field 39, or
// with an ARPC other than the one the card computes.
var ErrChip = errors.New("chip")

// ChipCard makes a Card present itself by chip (field 22 = 051, field 23 =
// 0 and the PSN, field 55 with an ARQC). IMK is the program's issuer master
// key in clear: only test programs have one the simulator may hold. Its
// String and GoString leave the key out.
type ChipCard struct {
	IMK []byte // 16 bytes
	PSN string // PAN sequence number, 2 digits; DefaultPSN when empty
	// ICC, when set, is a real card in a reader: it computes the ARQC
	// (chip_icc.go) and IMK is not used.
	ICC ICCCard
}

func (c ChipCard) String() string   { return "chip card psn " + c.psn() }
func (c ChipCard) GoString() string { return c.String() }

func (c ChipCard) psn() string {
	if c.PSN == "" {
		return DefaultPSN
	}
	return c.PSN
}

// ChipResult is what the chip card saw of one request.
type ChipResult struct {
	ATC uint16 // the counter the card used (9F36)
	// ARPCVerified is set when the response's tag 91 verified: the ARPC is
	// the card's and the ARC is field 39.
	ARPCVerified bool
	// IssuerAuth is tag 91 (ARPC ‖ ARC) of the response to a real card's
	// request (ChipCard.ICC), for the caller to give the card; nil otherwise.
	IssuerAuth []byte
}

// chipTxn is what the card keeps between its request and the response.
type chipTxn struct {
	sk, arqc []byte
	atc      uint16
	external bool // the ARQC came from a real card (chip_icc.go)
}

func chipKey(pan, psn string) string { return pan + "/" + psn }

// ATC returns the last application transaction counter the terminal used
// for the chip card (pan, psn); 0 when it has used none.
func (t *Terminal) ATC(pan, psn string) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.ATCs[chipKey(pan, psn)]
}

// RaiseATC makes the terminal count the card's ATC from at least atc. A real
// card carries its counter from terminal to terminal; a simulated one lives
// in each terminal's state, so whoever drives several terminals with one
// card (the scenario Runner) carries the highest value across.
func (t *Terminal) RaiseATC(pan, psn string, atc uint16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := chipKey(pan, psn)
	if atc > t.st.ATCs[k] && (len(t.st.ATCs) < maxChipCards || t.st.ATCs[k] > 0) {
		if t.st.ATCs == nil {
			t.st.ATCs = map[string]uint16{}
		}
		t.st.ATCs[k] = atc
	}
}

// nextATC counts one more transaction of the card. The caller holds t.mu;
// exchange persists it with the STAN before the request leaves.
func (t *Terminal) nextATC(pan, psn string) (uint16, error) {
	k := chipKey(pan, psn)
	cur, known := t.st.ATCs[k]
	switch {
	case !known && len(t.st.ATCs) >= maxChipCards:
		return 0, fmt.Errorf("%w: terminal %s keeps the ATCs of %d chip cards, at most %d", ErrChip, t.cfg.TID, len(t.st.ATCs), maxChipCards)
	case cur >= maxATC:
		return 0, fmt.Errorf("%w: ATC of %s exhausted", ErrChip, cardnum.Mask(pan))
	}
	if t.st.ATCs == nil {
		t.st.ATCs = map[string]uint16{}
	}
	t.st.ATCs[k] = cur + 1
	return cur + 1, nil
}

// setChip sets fields 22, 23 and 55 of a chip request: it derives the card's
// keys, takes the next ATC and computes the ARQC over the request's data.
// pc is field 3 (9C is its first two digits); amount goes in 9F02.
func (t *Terminal) setChip(m *wire.Message, c Card, pc string, amount Fen) (*chipTxn, error) {
	ch := *c.Chip
	td, err := t.chipTerminalData(c, pc, amount)
	if err != nil {
		return nil, err
	}
	psn := td.psn
	mk, err := cardcrypto.CardKeyOptionA(ch.IMK, c.PAN, psn)
	if err != nil {
		return nil, fmt.Errorf("%w: card %s: %w", ErrChip, cardnum.Mask(c.PAN), err)
	}
	atc, err := t.nextATC(c.PAN, psn)
	if err != nil {
		return nil, err
	}
	atcBytes := [2]byte{byte(atc >> 8), byte(atc)}
	sk, err := cardcrypto.SessionKeyCommon(mk, atcBytes)
	if err != nil {
		return nil, err
	}
	un, amt, date, typ := td.un, td.amount, td.date, td.txnType
	objs := []cardcrypto.TLV{
		{Tag: cardcrypto.TagAC, Value: make([]byte, cardcrypto.ACLen)}, // filled below
		{Tag: cardcrypto.TagCID, Value: chipCID},
		{Tag: cardcrypto.TagIAD, Value: chipIAD},
		{Tag: cardcrypto.TagATC, Value: atcBytes[:]},
		{Tag: cardcrypto.TagUN, Value: un},
		{Tag: cardcrypto.TagTVR, Value: chipTVR},
		{Tag: cardcrypto.TagTxnDate, Value: date},
		{Tag: cardcrypto.TagTxnType, Value: typ},
		{Tag: cardcrypto.TagAmountAuthorized, Value: amt},
		{Tag: cardcrypto.TagAmountOther, Value: chipAmountZero},
		{Tag: cardcrypto.TagCurrencyCode, Value: chipCurrency},
		{Tag: cardcrypto.TagAIP, Value: chipAIP},
		{Tag: cardcrypto.TagCountryCode, Value: chipCountry},
	}
	draft, err := cardcrypto.EncodeICC(objs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChip, err)
	}
	icc, err := cardcrypto.ParseICC(draft)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChip, err)
	}
	data, err := icc.ARQCData()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChip, err)
	}
	arqc, err := cardcrypto.ARQC(sk, data)
	if err != nil {
		return nil, err
	}
	objs[0].Value = arqc
	f55, err := cardcrypto.EncodeICC(objs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChip, err)
	}
	m.Set(22, entryChip)
	m.Set(23, "0"+psn)
	m.Set(55, string(f55))
	return &chipTxn{sk: sk, arqc: arqc, atc: atc}, nil
}

// chipTerminalData is what the terminal puts into a chip request of
// either card (simulated, chip.go; real, chip_icc.go): the card's PSN,
// checked, a fresh unpredictable number (9F37), and the amount (9F02),
// date (9A) and transaction type (9C, field 3's first two digits) in BCD.
type chipTerminalData struct {
	psn                       string
	un, amount, date, txnType []byte
}

func (t *Terminal) chipTerminalData(c Card, pc string, amount Fen) (chipTerminalData, error) {
	td := chipTerminalData{psn: c.Chip.psn(), un: make([]byte, 4)}
	if len(td.psn) != cardcrypto.PSNLen || !cardnum.Digits(td.psn) {
		return td, fmt.Errorf("%w: PSN of %s is not 2 digits", ErrChip, cardnum.Mask(c.PAN))
	}
	if _, err := rand.Read(td.un); err != nil {
		return td, fmt.Errorf("%w: unpredictable number: %w", ErrChip, err)
	}
	var err1, err2, err3 error
	td.amount, err1 = cardcrypto.BCD(fmt.Sprintf("%012d", int64(amount)))
	td.date, err2 = cardcrypto.BCD(t.cfg.Now().Format("060102"))
	td.txnType, err3 = cardcrypto.BCD(pc[:2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return td, fmt.Errorf("%w: %w", ErrChip, err)
	}
	return td, nil
}

// verify checks the response to a chip request. Tag 91 must verify
// whenever field 55 is present, and must be present on an approval (the
// host also sends it with declines after its ARQC check; the terminal does
// not guess which declines those are). A real card's ARPC is the card's to
// verify (ChipSession.Complete): IssuerAuth hands tag 91 over.
func (ct *chipTxn) verify(res *Result) error {
	res.Chip = &ChipResult{ATC: ct.atc}
	arpc, arc, ok, err := issuerAuth(res)
	if err != nil || !ok {
		return err
	}
	if ct.external {
		res.Chip.IssuerAuth = append(arpc[:], arc[:]...)
		return nil
	}
	want, err := cardcrypto.ARPCMethod1(ct.sk, ct.arqc, arc)
	if err != nil {
		return err
	}
	if !cardcrypto.MACEqual(want, arpc[:]) {
		return fmt.Errorf("%w: ARPC in tag 91 does not verify", ErrChip)
	}
	res.Chip.ARPCVerified = true
	return nil
}

// issuerAuth is tag 91 of a chip response (ok false: no field 55, which
// only a decline may lack), its ARC checked against field 39.
func issuerAuth(res *Result) (arpc [8]byte, arc [2]byte, ok bool, err error) {
	f55, has := res.Response.Get(55)
	if !has {
		if res.Approved() {
			return arpc, arc, false, fmt.Errorf("%w: approved chip request without field 55 (tag 91)", ErrChip)
		}
		return arpc, arc, false, nil
	}
	icc, err := cardcrypto.ParseICC([]byte(f55))
	if err != nil {
		return arpc, arc, false, fmt.Errorf("%w: response field 55: %w", ErrChip, err)
	}
	arpc, arc, ok = icc.IssuerAuth()
	if !ok {
		return arpc, arc, false, fmt.Errorf("%w: response field 55 has no tag 91", ErrChip)
	}
	if string(arc[:]) != res.RC {
		return arpc, arc, false, fmt.Errorf("%w: ARC %q in tag 91 is not field 39 %q", ErrChip, arc[:], res.RC)
	}
	return arpc, arc, true, nil
}
