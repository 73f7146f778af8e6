package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// emvcard.go: the EMV kernel-lite over a CardConn: find the application,
// read the track 2 equivalent, ask the card for an ARQC, give it the
// issuer's ARPC and end with a TC or AAC. No offline data authentication,
// no cardholder verification by the card: the host decides online.

// PPSEName is the payment system environment a contactless or modern
// contact card lists its applications in.
var PPSEName = []byte("2PAY.SYS.DDF01")

// DefaultAID is the program's application on its member chip cards, a
// proprietary AID: F0 "CARDC" 01.
var DefaultAID = []byte{0xF0, 0x43, 0x41, 0x52, 0x44, 0x43, 0x01}

// Limits of reading a card.
const (
	maxAFLEntries = 8  // AFL entries followed
	maxRecords    = 16 // records read in all
	maxDOLBytes   = 252
)

// Errors of a chip card.
var (
	// ErrNoApplication: neither the PPSE nor the program's AID selects (6A82).
	ErrNoApplication = errors.New("no application of the program on the card")
	// ErrCardData: the card's data is malformed or incomplete.
	ErrCardData = errors.New("card data")
)

// ChipApp is what the terminal read from the card's application. It holds
// the clear PAN: String masks it.
type ChipApp struct {
	AID         []byte
	PAN         string
	Expiry      string // YYMM
	ServiceCode string
	PSN         string // 2 digits, "00" when the card has no 5F34
	AIP         [2]byte
	cdol1       []byte // the card's CDOL1; nil: the contract's order
	cdol2       []byte
}

func (a *ChipApp) String() string { return "chip app " + cardnum.Mask(a.PAN) }

// Card is the ChipApp as a terminal Card: track 2 from the card.
func (a *ChipApp) Card() Card {
	return Card{PAN: a.PAN, Expiry: a.Expiry, ServiceCode: a.ServiceCode}
}

// ReadChipApp selects the program's application (through the PPSE when the
// card has one, else by aid), gets the processing options and reads the
// records the AFL names for 57 (track 2 equivalent), 5F34 (PSN), 8C and 8D.
func ReadChipApp(ctx context.Context, conn CardConn, aid []byte) (*ChipApp, error) {
	app := &ChipApp{}
	fci, err := expect(ctx, conn, "SELECT PPSE", command(0x00, 0xA4, 0x04, 0x00, PPSEName))
	if err == nil {
		if d, perr := cardcrypto.ParseCardTLV(fci); perr == nil {
			for _, a := range d.All(cardcrypto.TagAID) {
				if bytes.Equal(a, aid) {
					app.AID = a
				}
			}
		}
	} else if !isSW(err, SWFileNotFound) {
		return nil, err
	}
	if app.AID == nil {
		app.AID = aid // not listed, or no PPSE: select the program's AID directly
	}
	if _, err := expect(ctx, conn, "SELECT AID", command(0x00, 0xA4, 0x04, 0x00, app.AID)); err != nil {
		if isSW(err, SWFileNotFound) {
			return nil, fmt.Errorf("%w: %w", ErrNoApplication, err)
		}
		return nil, err
	}
	gpo, err := expect(ctx, conn, "GET PROCESSING OPTIONS", command(0x80, 0xA8, 0x00, 0x00, []byte{0x83, 0x00}))
	if err != nil {
		return nil, err
	}
	afl, err := app.readGPO(gpo)
	if err != nil {
		return nil, err
	}
	if err := app.readRecords(ctx, conn, afl); err != nil {
		return nil, err
	}
	return app, nil
}

func isSW(err error, sw uint16) bool {
	var e *SWError
	return errors.As(err, &e) && e.SW == sw
}

// readGPO takes AIP and AFL from format 1 (80: AIP ‖ AFL) or format 2 (77).
func (app *ChipApp) readGPO(b []byte) ([]byte, error) {
	d, err := cardcrypto.ParseCardTLV(b)
	if err != nil {
		return nil, fmt.Errorf("GET PROCESSING OPTIONS: %w", err)
	}
	var aip, afl []byte
	if f1, ok := d.Get(cardcrypto.TagRespFormat1); ok && len(f1) >= 2 {
		aip, afl = f1[:2], f1[2:]
	} else {
		aip, _ = d.Get(cardcrypto.TagAIP)
		afl, _ = d.Get(cardcrypto.TagAFL)
	}
	if len(aip) != 2 || len(afl) == 0 || len(afl)%4 != 0 || len(afl)/4 > maxAFLEntries {
		return nil, fmt.Errorf("%w: GET PROCESSING OPTIONS: AIP of %d bytes, AFL of %d (want 2, and 4 a file up to %d files)", ErrCardData, len(aip), len(afl), maxAFLEntries)
	}
	copy(app.AIP[:], aip)
	return afl, nil
}

// readRecords reads every record the AFL names until it has the track 2
// equivalent and the DOLs.
func (app *ChipApp) readRecords(ctx context.Context, conn CardConn, afl []byte) error {
	var t2 []byte
	read := 0
	for i := 0; i < len(afl); i += 4 {
		sfi, first, last := afl[i]>>3, afl[i+1], afl[i+2]
		if sfi == 0 || sfi > 30 || first == 0 || last < first {
			return fmt.Errorf("%w: AFL entry %d names SFI %d records %d to %d", ErrCardData, i/4+1, sfi, first, last)
		}
		for rec := int(first); rec <= int(last); rec++ {
			if read++; read > maxRecords {
				return fmt.Errorf("%w: AFL names more than %d records", ErrCardData, maxRecords)
			}
			cmd := fmt.Sprintf("READ RECORD %d/%d", sfi, rec)
			b, err := expect(ctx, conn, cmd, command(0x00, 0xB2, byte(rec), sfi<<3|4, nil))
			if err != nil {
				return err
			}
			d, err := cardcrypto.ParseCardTLV(b)
			if err != nil {
				return fmt.Errorf("%s: %w", cmd, err)
			}
			if v, ok := d.Get(cardcrypto.TagTrack2Equiv); ok && t2 == nil {
				t2 = v
			}
			if v, ok := d.Get(cardcrypto.TagPSN); ok && app.PSN == "" {
				if len(v) != 1 || v[0]>>4 > 9 || v[0]&0xF > 9 {
					return fmt.Errorf("%w: %s: 5F34 is not one BCD byte", ErrCardData, cmd)
				}
				app.PSN = string([]byte{'0' + v[0]>>4, '0' + v[0]&0xF})
			}
			if v, ok := d.Get(0x8C); ok && app.cdol1 == nil {
				app.cdol1 = v
			}
			if v, ok := d.Get(0x8D); ok && app.cdol2 == nil {
				app.cdol2 = v
			}
		}
	}
	if t2 == nil {
		return fmt.Errorf("%w: no track 2 equivalent (57) in the records", ErrCardData)
	}
	if app.PSN == "" {
		app.PSN = DefaultPSN
	}
	return app.parseTrack2(t2)
}

// parseTrack2 reads tag 57: PAN, D, YYMM, service code, discretionary data,
// F padding. Errors never carry the digits.
func (app *ChipApp) parseTrack2(b []byte) error {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte("0123456789ABCDEF"[c>>4])
		sb.WriteByte("0123456789ABCDEF"[c&0xF])
	}
	s := strings.TrimSuffix(sb.String(), "F")
	pan, rest, ok := strings.Cut(s, "D")
	switch {
	case !ok:
		return fmt.Errorf("%w: track 2 equivalent has no separator D", ErrCardData)
	case len(pan) < 12 || len(pan) > 19 || !cardnum.Digits(pan):
		return fmt.Errorf("%w: track 2 equivalent PAN is %d characters, not 12-19 digits", ErrCardData, len(pan))
	case !cardnum.LuhnValid(pan):
		return fmt.Errorf("%w: track 2 equivalent PAN %s fails its Luhn check", ErrCardData, cardnum.Mask(pan))
	case len(rest) < 7 || !cardnum.Digits(rest):
		return fmt.Errorf("%w: track 2 equivalent of %s: expiry and service code are not 7 digits", ErrCardData, cardnum.Mask(pan))
	case len(pan)+1+len(rest) > 37:
		return fmt.Errorf("%w: track 2 equivalent of %s is longer than 37", ErrCardData, cardnum.Mask(pan))
	}
	app.PAN, app.Expiry, app.ServiceCode = pan, rest[:4], rest[4:7]
	return nil
}

// buildDOL fills a data object list (tag, length pairs) from values; a
// value shorter than its length is padded with zeros on the left (numeric)
// and a longer one is cut, as EMV Book 3 5.4 says; an unknown tag is zeros.
func buildDOL(dol []byte, values map[cardcrypto.Tag][]byte) ([]byte, error) {
	var out []byte
	for off := 0; off < len(dol); {
		tag := cardcrypto.Tag(dol[off])
		off++
		if tag&0x1F == 0x1F {
			if off >= len(dol) {
				return nil, fmt.Errorf("%w: DOL tag cut off", ErrCardData)
			}
			tag = tag<<8 | cardcrypto.Tag(dol[off])
			off++
		}
		if off >= len(dol) {
			return nil, fmt.Errorf("%w: DOL tag %s has no length", ErrCardData, tag)
		}
		n := int(dol[off])
		off++
		v := values[tag]
		switch {
		case len(v) > n:
			v = v[:n]
		case len(v) < n:
			v = append(make([]byte, n-len(v)), v...)
		}
		if out = append(out, v...); len(out) > maxDOLBytes {
			return nil, fmt.Errorf("%w: DOL data over %d bytes", ErrCardData, maxDOLBytes)
		}
	}
	return out, nil
}
