package terminal

import (
	"context"
	"errors"
	"testing"
)

// scriptedCard answers each Transmit with the next of its responses.
type scriptedCard struct {
	responses [][]byte
	sent      [][]byte
}

var errScriptEnd = errors.New("script ended")

func (s *scriptedCard) Transmit(_ context.Context, apdu []byte) ([]byte, error) {
	s.sent = append(s.sent, append([]byte(nil), apdu...))
	if len(s.responses) == 0 {
		return nil, errScriptEnd
	}
	r := s.responses[0]
	s.responses = s.responses[1:]
	return r, nil
}

// splitScript cuts fuzz input into responses: each a length byte and that
// many bytes.
func splitScript(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := int(b[0])
		b = b[1:]
		if n > len(b) {
			n = len(b)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// FuzzCardResponse: a card's answers are never trusted. Over any sequence
// of responses, transceive never panics, sends at most 2 +
// maxGetResponses commands (one 6Cxx resend, bounded GET RESPONSE rounds),
// returns at most maxChainedBytes of data, fails only with ErrAPDU or the
// transport's error, and never returns 61xx or 6Cxx as a final status.
// Each response of the script is also read by ParseCardResponse and, when
// it is 9000 with data, by the card-data readers.
func FuzzCardResponse(f *testing.F) {
	addSeeds(f, "FuzzCardResponse")
	f.Fuzz(func(t *testing.T, b []byte) {
		script := splitScript(b)
		for _, r := range script {
			if cr, err := ParseCardResponse(r); err == nil && cr.SW == SWOK && len(cr.Data) > 0 {
				app := &ChipApp{}
				app.readGPO(cr.Data)
				app.parseTrack2(cr.Data)
				readAC(cr.Data)
				buildDOL(cr.Data, nil)
			} else if err != nil && !errors.Is(err, ErrAPDU) {
				t.Fatalf("ParseCardResponse: %v", err)
			}
		}
		card := &scriptedCard{responses: script}
		r, err := transceive(context.Background(), card, "TEST", []byte{0x00, 0xB2, 0x01, 0x0C, 0x00})
		if len(card.sent) > 2+maxGetResponses {
			t.Fatalf("%d commands sent", len(card.sent))
		}
		if err != nil {
			if !errors.Is(err, ErrAPDU) && !errors.Is(err, errScriptEnd) {
				t.Fatalf("error %v wraps neither ErrAPDU nor the transport's", err)
			}
			return
		}
		if len(r.Data) > maxChainedBytes+maxAPDUResponse {
			t.Fatalf("%d bytes of data", len(r.Data))
		}
		if r.SW>>8 == sw1MoreData || r.SW>>8 == sw1WrongLe {
			t.Fatalf("final SW %04X", r.SW)
		}
	})
}
