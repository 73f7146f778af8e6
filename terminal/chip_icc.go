package terminal

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// chip_icc.go: a chip request whose ARQC comes from a real card (a reader's
// ChipSession) instead of the simulated card of chip.go: the terminal
// gives the card its data, the card answers its cryptogram, the terminal
// sends field 55 and hands tag 91 of the response back to its caller, who
// gives it to the card (ChipSession.Complete).

// ICCCard is a chip card that computes its own ARQC.
type ICCCard interface {
	// GenerateARQC gives the card the terminal's objects (9F02 9F03 9F1A
	// 95 5F2A 9A 9C 9F37) and returns the card's (9F26 9F27 9F10 9F36 82).
	GenerateARQC(ctx context.Context, terminal []cardcrypto.TLV) ([]cardcrypto.TLV, error)
}

// setICC sets fields 22, 23 and 55 of a request from a real card.
func (t *Terminal) setICC(ctx context.Context, m *wire.Message, c Card, pc string, amount Fen) (*chipTxn, error) {
	ch := *c.Chip
	td, err := t.chipTerminalData(c, pc, amount)
	if err != nil {
		return nil, err
	}
	psn := td.psn
	term := []cardcrypto.TLV{
		{Tag: cardcrypto.TagAmountAuthorized, Value: td.amount},
		{Tag: cardcrypto.TagAmountOther, Value: chipAmountZero},
		{Tag: cardcrypto.TagCountryCode, Value: chipCountry},
		{Tag: cardcrypto.TagTVR, Value: chipTVR},
		{Tag: cardcrypto.TagCurrencyCode, Value: chipCurrency},
		{Tag: cardcrypto.TagTxnDate, Value: td.date},
		{Tag: cardcrypto.TagTxnType, Value: td.txnType},
		{Tag: cardcrypto.TagUN, Value: td.un},
	}
	card, err := ch.ICC.GenerateARQC(ctx, term)
	if err != nil {
		return nil, fmt.Errorf("%w: card %s: %w", ErrChip, cardnum.Mask(c.PAN), err)
	}
	byTag := map[cardcrypto.Tag][]byte{}
	for _, o := range append(term, card...) {
		byTag[o.Tag] = o.Value
	}
	objs := make([]cardcrypto.TLV, 0, len(cardcrypto.RequestTags))
	for _, tag := range cardcrypto.RequestTags {
		v, ok := byTag[tag]
		if !ok {
			return nil, fmt.Errorf("%w: card %s gave no tag %s", ErrChip, cardnum.Mask(c.PAN), tag)
		}
		objs = append(objs, cardcrypto.TLV{Tag: tag, Value: v})
	}
	f55, err := cardcrypto.EncodeICC(objs)
	if err != nil {
		return nil, fmt.Errorf("%w: card %s: %w", ErrChip, cardnum.Mask(c.PAN), err)
	}
	atc := byTag[cardcrypto.TagATC]
	m.Set(22, entryChip)
	m.Set(23, "0"+psn)
	m.Set(55, string(f55))
	return &chipTxn{atc: uint16(atc[0])<<8 | uint16(atc[1]), external: true}, nil
}
