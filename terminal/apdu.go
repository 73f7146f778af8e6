package terminal

import (
	"context"
	"errors"
	"fmt"
)

// apdu.go: command APDUs to a card and the reading of its responses
// (ISO/IEC 7816-4): the status word, GET RESPONSE after 61xx and the
// resend with the right Le after 6Cxx. The transport is a CardConn: PC/SC
// (pcsc.go, cgo) in the reader, anything else in tests.

// CardConn sends one command APDU to a card and returns its raw response
// (data ‖ SW1 SW2). Transmit must give up by ctx's deadline.
type CardConn interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Status words the terminal acts on.
const (
	SWOK             = 0x9000
	SWFileNotFound   = 0x6A82 // SELECT: no such application
	SWCondNotSat     = 0x6985 // conditions of use not satisfied
	SWAuthFailed     = 0x6300 // EXTERNAL AUTHENTICATE: ARPC wrong
	SWInsNotSupp     = 0x6D00
	sw1MoreData      = 0x61 // 61xx: xx more bytes; fetch with GET RESPONSE
	sw1WrongLe       = 0x6C // 6Cxx: resend with Le = xx
	maxAPDUResponse  = 258  // 256 data bytes and SW1 SW2
	maxGetResponses  = 4    // GET RESPONSE rounds, then the response is refused
	maxChainedBytes  = 1024 // data assembled from 61xx rounds
	insGetResponse   = 0xC0
	claInterIndustry = 0x00
)

// ErrAPDU is wrapped by every malformed card response and every status word
// the terminal did not expect; the message names the command and the SW,
// never response data.
var ErrAPDU = errors.New("card response")

// CardResponse is a response APDU split into its data and status word.
type CardResponse struct {
	Data []byte
	SW   uint16
}

// SWError is a status word other than the one a command needed.
type SWError struct {
	Cmd string // "SELECT", "GET PROCESSING OPTIONS", …
	SW  uint16
}

func (e *SWError) Error() string {
	return fmt.Sprintf("%s: card answered SW %04X (%s)", e.Cmd, e.SW, swMeaning(e.SW))
}

func (e *SWError) Unwrap() error { return ErrAPDU }

// swMeaning is a short reading of the status words a technician meets.
func swMeaning(sw uint16) string {
	switch {
	case sw == SWOK:
		return "ok"
	case sw == SWFileNotFound:
		return "application not on this card"
	case sw == SWCondNotSat:
		return "conditions of use not satisfied"
	case sw == SWAuthFailed:
		return "issuer authentication failed"
	case sw == SWInsNotSupp:
		return "instruction not supported"
	case sw == 0x6E00:
		return "class not supported"
	case sw == 0x6A81:
		return "function not supported"
	case sw == 0x6A83:
		return "record not found"
	case sw>>8 == 0x62 || sw>>8 == 0x63:
		return "warning"
	}
	return "error"
}

// ParseCardResponse splits a raw response APDU: 2 to 258 bytes, the last
// two the status word.
func ParseCardResponse(raw []byte) (CardResponse, error) {
	if len(raw) < 2 {
		return CardResponse{}, fmt.Errorf("%w: %d bytes, want at least SW1 SW2", ErrAPDU, len(raw))
	}
	if len(raw) > maxAPDUResponse {
		return CardResponse{}, fmt.Errorf("%w: %d bytes, at most %d", ErrAPDU, len(raw), maxAPDUResponse)
	}
	n := len(raw) - 2
	return CardResponse{Data: append([]byte(nil), raw[:n]...), SW: uint16(raw[n])<<8 | uint16(raw[n+1])}, nil
}

// transceive sends apdu and follows the card through 6Cxx (send again with
// Le = xx, once) and 61xx (GET RESPONSE for xx bytes, at most
// maxGetResponses rounds, maxChainedBytes in all). It returns the data and
// the final status word; a status word it does not follow is returned as it
// is for the caller to judge.
func transceive(ctx context.Context, conn CardConn, cmd string, apdu []byte) (CardResponse, error) {
	raw, err := conn.Transmit(ctx, apdu)
	if err != nil {
		return CardResponse{}, fmt.Errorf("%s: %w", cmd, err)
	}
	r, err := ParseCardResponse(raw)
	if err != nil {
		return CardResponse{}, fmt.Errorf("%s: %w", cmd, err)
	}
	if r.SW>>8 == sw1WrongLe {
		again := withLe(apdu, byte(r.SW))
		if raw, err = conn.Transmit(ctx, again); err != nil {
			return CardResponse{}, fmt.Errorf("%s: %w", cmd, err)
		}
		if r, err = ParseCardResponse(raw); err != nil {
			return CardResponse{}, fmt.Errorf("%s: %w", cmd, err)
		}
		if r.SW>>8 == sw1WrongLe {
			return CardResponse{}, fmt.Errorf("%s: %w: 6Cxx twice", cmd, ErrAPDU)
		}
	}
	data := r.Data
	for round := 0; r.SW>>8 == sw1MoreData; round++ {
		if round == maxGetResponses {
			return CardResponse{}, fmt.Errorf("%s: %w: more than %d GET RESPONSE rounds", cmd, ErrAPDU, maxGetResponses)
		}
		raw, err := conn.Transmit(ctx, []byte{claInterIndustry, insGetResponse, 0, 0, byte(r.SW)})
		if err != nil {
			return CardResponse{}, fmt.Errorf("%s: GET RESPONSE: %w", cmd, err)
		}
		if r, err = ParseCardResponse(raw); err != nil {
			return CardResponse{}, fmt.Errorf("%s: GET RESPONSE: %w", cmd, err)
		}
		if len(data)+len(r.Data) > maxChainedBytes {
			return CardResponse{}, fmt.Errorf("%s: %w: chained response over %d bytes", cmd, ErrAPDU, maxChainedBytes)
		}
		data = append(data, r.Data...)
	}
	if r.SW>>8 == sw1WrongLe {
		return CardResponse{}, fmt.Errorf("%s: %w: 6Cxx after GET RESPONSE", cmd, ErrAPDU)
	}
	r.Data = data
	return r, nil
}

// expect runs transceive and insists on 9000.
func expect(ctx context.Context, conn CardConn, cmd string, apdu []byte) ([]byte, error) {
	r, err := transceive(ctx, conn, cmd, apdu)
	if err != nil {
		return nil, err
	}
	if r.SW != SWOK {
		return nil, &SWError{Cmd: cmd, SW: r.SW}
	}
	return r.Data, nil
}

// withLe returns apdu with its Le byte set to le: replaced when the case-2
// or case-4 command has one, appended otherwise.
func withLe(apdu []byte, le byte) []byte {
	out := append([]byte(nil), apdu...)
	switch {
	case len(out) == 4: // case 1: no Lc, no Le
		return append(out, le)
	case len(out) == 5: // case 2: Le only
		out[4] = le
		return out
	case len(out) == 5+int(out[4]): // case 3: Lc and data
		return append(out, le)
	default: // case 4: Lc, data and Le
		out[len(out)-1] = le
		return out
	}
}

// command builds a short case-4 (data) or case-2 (no data) APDU with Le 00.
func command(cla, ins, p1, p2 byte, data []byte) []byte {
	out := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		out = append(append(out, byte(len(data))), data...)
	}
	return append(out, 0x00)
}
