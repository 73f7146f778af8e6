package admin

import (
	"net/http"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// PIN unblock: the third wrong PIN in a row blocks a card for PIN use
// (contract section 7, answered 75) until an operator lifts the block.

func (s *Server) unblockPIN(w http.ResponseWriter, r *http.Request) {
	pan, op, in, ok := cardChangeRequest[NoteRequest](w, r)
	if !ok || !checkReason(w, &op, in.Note) {
		return
	}
	c, ok := s.loadCard(w, r)
	if !ok {
		return
	}
	before, err := s.store.CardPINState(pan)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.UnblockPIN(ctx, pan, op); err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, "pin_unblock").Str("operator", op.Name).Str("pan", cardnum.Mask(pan)).
		Bool("was_blocked", before.Blocked).Int("wrong_tries", before.Tries).
		Str("note", cardnum.Scrub(in.Note)).Msg("card PIN unblocked")
	s.writeCard(w, http.StatusOK, c)
}
