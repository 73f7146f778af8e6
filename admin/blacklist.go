package admin

import (
	"net/http"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// Blacklists: a card's own flag, and ranges of BINs (answered 62 for
// every card whose leading digits fall in one). Each change is audited.

func (s *Server) setCardBlacklist(w http.ResponseWriter, r *http.Request) {
	pan, op, in, ok := cardChangeRequest[BlacklistRequest](w, r)
	if !ok {
		return
	}
	if in.On == nil {
		writeError(w, http.StatusBadRequest, "on", "on: missing; true puts the card on the blacklist, false takes it off")
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	c, ok := s.loadCard(w, r)
	if !ok {
		return
	}
	from := c.Blacklisted
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.SetCardBlacklisted(ctx, pan, *in.On, op); err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, "card_blacklist").Str("operator", op.Name).Str("pan", cardnum.Mask(pan)).
		Bool("from", from).Bool("to", *in.On).Str("note", cardnum.Scrub(in.Note)).Msg("card blacklist set")
	c.Blacklisted = *in.On
	s.writeCard(w, http.StatusOK, c)
}

func (s *Server) listBINs(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.BINBlacklist()
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, BINList{Ranges: nonNil(rs)})
}

// checkBINRange answers 400 naming low or high for a range the ledger
// would refuse.
func checkBINRange(w http.ResponseWriter, br ledger.BINRange) bool {
	if br.Low == "" {
		writeError(w, http.StatusBadRequest, "low", "low: missing; want 6 to 12 digits")
		return false
	}
	if br.High == "" {
		writeError(w, http.StatusBadRequest, "high", "high: missing; want as many digits as low")
		return false
	}
	if err := br.Validate(); err != nil {
		field := "high"
		if (ledger.BINRange{Low: br.Low, High: br.Low}).Validate() != nil {
			field = "low"
		}
		writeError(w, http.StatusBadRequest, field, "%s: %v", field, err)
		return false
	}
	return true
}

// hasBINRange reports whether the blacklist holds exactly br.
func (s *Server) hasBINRange(br ledger.BINRange) (bool, error) {
	rs, err := s.store.BINBlacklist()
	for _, x := range rs {
		if x == br {
			return true, err
		}
	}
	return false, err
}

func (s *Server) addBINRange(w http.ResponseWriter, r *http.Request) {
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in BINRangeRequest
	if !decode(w, r, &in) {
		return
	}
	br := ledger.BINRange{Low: in.Low, High: in.High}
	if !checkBINRange(w, br) || !checkReason(w, &op, in.Note) {
		return
	}
	had, err := s.hasBINRange(br)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.changeBINs(w, r, br, true, op, !had)
}

func (s *Server) removeBINRange(w http.ResponseWriter, r *http.Request) {
	low, high, _ := strings.Cut(r.PathValue("range"), "-")
	br := ledger.BINRange{Low: low, High: high}
	if !checkBINRange(w, br) {
		return
	}
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in NoteRequest
	if !decode(w, r, &in) || !checkReason(w, &op, in.Note) {
		return
	}
	had, err := s.hasBINRange(br)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	if !had {
		writeError(w, http.StatusNotFound, "", "bin range %s is not on the blacklist", br)
		return
	}
	s.changeBINs(w, r, br, false, op, true)
}

// changeBINs adds or removes a range and answers the list after it: 201
// for a range added, 200 otherwise (a range already there is no change
// and no audit record).
func (s *Server) changeBINs(w http.ResponseWriter, r *http.Request, br ledger.BINRange, on bool, op ledger.Operator, changes bool) {
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.SetBINRange(ctx, br, on, op); err != nil {
		s.storeErr(w, err, "low")
		return
	}
	what := "bin_blacklist_add"
	if !on {
		what = "bin_blacklist_remove"
	}
	s.change(r, what).Str("operator", op.Name).Str("range", br.String()).Bool("changed", changes).Msg("bin blacklist changed")
	rs, err := s.store.BINBlacklist()
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, createdStatus(on && changes), BINList{Ranges: nonNil(rs)})
}
