package terminal

import (
	"context"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
)

// emvac.go: the card's cryptograms in one transaction: the first GENERATE
// AC (ARQC) for the request's field 55, then the issuer's answer back to the
// card: EXTERNAL AUTHENTICATE with tag 91 and the second GENERATE AC.

// Cryptogram information data (9F27), bits 8-7.
const (
	CIDAAC  = 0x00 // declined
	CIDTC   = 0x40 // approved
	CIDARQC = 0x80 // go online
	cidMask = 0xC0
)

// ChipSession is one transaction of a chip card in a reader. It is the
// ICCCard of the request: the card computes the ARQC.
type ChipSession struct {
	App  *ChipApp
	Conn CardConn
	// ARQCDone is set once the card answered the first GENERATE AC.
	ARQCDone bool
}

// GenerateARQC sends the first GENERATE AC (P1 80) with the CDOL1 data
// built from the terminal's objects, and returns the card's 9F26, 9F27,
// 9F10, 9F36 and 82 (from GET PROCESSING OPTIONS).
func (s *ChipSession) GenerateARQC(ctx context.Context, term []cardcrypto.TLV) ([]cardcrypto.TLV, error) {
	values := map[cardcrypto.Tag][]byte{}
	for _, o := range term {
		values[o.Tag] = o.Value
	}
	dol := s.App.cdol1
	if dol == nil { // the contract's order (vcard's CDOL1)
		dol = []byte{0x9F, 0x02, 6, 0x9F, 0x03, 6, 0x9F, 0x1A, 2, 0x95, 5, 0x5F, 0x2A, 2, 0x9A, 3, 0x9C, 1, 0x9F, 0x37, 4}
	}
	data, err := buildDOL(dol, values)
	if err != nil {
		return nil, err
	}
	resp, err := expect(ctx, s.Conn, "GENERATE AC (ARQC)", command(0x80, 0xAE, CIDARQC, 0x00, data))
	if err != nil {
		return nil, err
	}
	cid, objs, err := readAC(resp)
	if err != nil {
		return nil, fmt.Errorf("GENERATE AC (ARQC): %w", err)
	}
	if cid&cidMask != CIDARQC {
		return nil, fmt.Errorf("%w: GENERATE AC: the card answered %s, not an ARQC: it declines offline", ErrChip, cidName(cid))
	}
	s.ARQCDone = true
	return append(objs, cardcrypto.TLV{Tag: cardcrypto.TagAIP, Value: s.App.AIP[:]}), nil
}

// readAC reads a GENERATE AC response, format 1 (80: CID ATC AC IAD) or 2
// (77 with 9F27 9F36 9F26 9F10), into field 55 objects.
func readAC(b []byte) (byte, []cardcrypto.TLV, error) {
	d, err := cardcrypto.ParseCardTLV(b)
	if err != nil {
		return 0, nil, err
	}
	var cid, atc, ac, iad []byte
	if f1, ok := d.Get(cardcrypto.TagRespFormat1); ok {
		if len(f1) < 1+2+cardcrypto.ACLen {
			return 0, nil, fmt.Errorf("%w: format 1 response of %d bytes", ErrCardData, len(f1))
		}
		cid, atc, ac, iad = f1[:1], f1[1:3], f1[3:11], f1[11:]
	} else {
		cid, _ = d.Get(cardcrypto.TagCID)
		atc, _ = d.Get(cardcrypto.TagATC)
		ac, _ = d.Get(cardcrypto.TagAC)
		iad, _ = d.Get(cardcrypto.TagIAD)
	}
	if len(cid) != 1 || len(atc) != 2 || len(ac) != cardcrypto.ACLen || len(iad) < 7 || len(iad) > 32 {
		return 0, nil, fmt.Errorf("%w: 9F27 %d, 9F36 %d, 9F26 %d, 9F10 %d bytes (want 1, 2, 8, 7-32)", ErrCardData, len(cid), len(atc), len(ac), len(iad))
	}
	return cid[0], []cardcrypto.TLV{
		{Tag: cardcrypto.TagAC, Value: ac}, {Tag: cardcrypto.TagCID, Value: cid},
		{Tag: cardcrypto.TagIAD, Value: iad}, {Tag: cardcrypto.TagATC, Value: atc},
	}, nil
}

func cidName(cid byte) string {
	switch cid & cidMask {
	case CIDAAC:
		return "an AAC (decline)"
	case CIDTC:
		return "a TC (approve)"
	case CIDARQC:
		return "an ARQC"
	}
	return fmt.Sprintf("CID %02X", cid)
}

// ChipEnd is how the card ended the transaction.
type ChipEnd struct {
	ARPCVerified bool // EXTERNAL AUTHENTICATE answered 9000
	ARPCRejected bool // … answered 6300: the card does not trust the answer
	TC           bool // the second GENERATE AC gave a TC: the card approves
}

// Complete gives the card the host's answer: tag 91 (ARPC ‖ ARC) by
// EXTERNAL AUTHENTICATE when the response had one, then the second
// GENERATE AC asking for a TC when the host approved (rc 00) and for an AAC
// otherwise, with CDOL2 data (8A = rc, 91). An error means the card did
// not say how it ended (pulled, mute, malformed answer).
func (s *ChipSession) Complete(ctx context.Context, rc string, issuerAuth []byte) (ChipEnd, error) {
	var end ChipEnd
	if len(issuerAuth) == cardcrypto.IssuerAuthLen {
		r, err := transceive(ctx, s.Conn, "EXTERNAL AUTHENTICATE", command(0x00, 0x82, 0x00, 0x00, issuerAuth))
		if err != nil {
			return end, err
		}
		switch r.SW {
		case SWOK:
			end.ARPCVerified = true
		case SWAuthFailed:
			end.ARPCRejected = true
		default:
			return end, &SWError{Cmd: "EXTERNAL AUTHENTICATE", SW: r.SW}
		}
	}
	p1 := byte(CIDAAC)
	if rc == RCApproved && !end.ARPCRejected {
		p1 = CIDTC
	}
	dol := s.App.cdol2
	if dol == nil {
		dol = []byte{0x8A, 2, 0x91, 10}
	}
	data, err := buildDOL(dol, map[cardcrypto.Tag][]byte{cardcrypto.TagARC: []byte(rc), cardcrypto.TagIssuerAuth: issuerAuth})
	if err != nil {
		return end, err
	}
	resp, err := expect(ctx, s.Conn, "GENERATE AC (2nd)", command(0x80, 0xAE, p1, 0x00, data))
	if err != nil {
		return end, err
	}
	cid, _, err := readAC(resp)
	if err != nil {
		return end, fmt.Errorf("GENERATE AC (2nd): %w", err)
	}
	end.TC = cid&cidMask == CIDTC
	return end, nil
}

// ReadUID asks the reader for the card's UID (PC/SC part 3 GET DATA, FF CA
// 00 00 00): 4, 7 or 10 bytes.
func ReadUID(ctx context.Context, conn CardConn) ([]byte, error) {
	uid, err := expect(ctx, conn, "GET DATA (UID)", []byte{0xFF, 0xCA, 0x00, 0x00, 0x00})
	if err != nil {
		return nil, err
	}
	if n := len(uid); n != 4 && n != 7 && n != 10 {
		return nil, fmt.Errorf("%w: UID of %d bytes, want 4, 7 or 10", ErrCardData, n)
	}
	return uid, nil
}
