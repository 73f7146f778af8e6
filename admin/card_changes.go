package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// card_changes.go: an operator's changes to a card: state, stored value
// and points adjustments, and the card's history.

func checkNote(w http.ResponseWriter, note string, required bool) bool {
	switch {
	case required && strings.TrimSpace(note) == "":
		writeError(w, http.StatusBadRequest, "note", "note: missing; say why")
		return false
	case len(note) > maxNoteLen:
		writeError(w, http.StatusBadRequest, "note", "note: longer than %d bytes", maxNoteLen)
		return false
	}
	return true
}

func (s *Server) setCardState(w http.ResponseWriter, r *http.Request) {
	pan, op, in, ok := cardChangeRequest[StateRequest](w, r)
	if !ok {
		return
	}
	if in.State == "" {
		writeError(w, http.StatusBadRequest, "state", "state: missing; want one of issued, active, frozen, lost, stolen, closed")
		return
	}
	st, err := ledger.ParseCardState(in.State)
	if err != nil {
		writeError(w, http.StatusBadRequest, "state", "state: %q: want one of issued, active, frozen, lost, stolen, closed", in.State)
		return
	}
	// The note is the audit record's reason: a state change says why.
	if !checkReason(w, &op, in.Note) {
		return
	}
	c, ok := s.loadCard(w, r)
	if !ok {
		return
	}
	from := c.State
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.SetCardState(ctx, pan, st, op); err != nil {
		s.storeErr(w, err, "state")
		return
	}
	s.change(r, "card_state").Str("operator", op.Name).Str("pan", cardnum.Mask(pan)).Str("from", from.String()).
		Str("to", st.String()).Str("note", cardnum.Scrub(in.Note)).Msg("card state set")
	c.State = st
	s.writeCard(w, http.StatusOK, c)
}

// parseSignedAmount reads "12.50", "+12.50" or "-12.50" exactly.
func parseSignedAmount(v string) (ledger.Amount, error) {
	neg := false
	switch {
	case strings.HasPrefix(v, "-"):
		neg, v = true, v[1:]
	case strings.HasPrefix(v, "+"):
		v = v[1:]
	}
	a, err := ledger.ParseAmount(v)
	if err != nil {
		return 0, err
	}
	if neg {
		a = -a
	}
	return a, nil
}

func (s *Server) adjust(w http.ResponseWriter, r *http.Request) {
	pan, ok := pathPAN(w, r)
	if !ok {
		return
	}
	var in AdjustRequest
	if !decode(w, r, &in) {
		return
	}
	var amount ledger.Amount
	switch {
	case in.Amount == "" && in.Points == 0:
		writeError(w, http.StatusBadRequest, "amount", "amount: missing; give amount (yuan, e.g. \"12.50\" or \"-12.50\") or points")
		return
	case in.Amount != "" && in.Points != 0:
		writeError(w, http.StatusBadRequest, "points", "points: give amount or points, not both")
		return
	case in.Amount != "":
		var err error
		if amount, err = parseSignedAmount(in.Amount); err != nil {
			writeError(w, http.StatusBadRequest, "amount", "amount: %q: want yuan with at most two decimals, e.g. \"12.50\" or \"-12.50\"", in.Amount)
			return
		}
		if amount == 0 {
			writeError(w, http.StatusBadRequest, "amount", "amount: must not be zero")
			return
		}
	}
	if !checkNote(w, in.Note, true) {
		return
	}
	if _, ok := s.loadCard(w, r); !ok {
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	var (
		rrn   string
		err   error
		field = "amount"
	)
	if in.Points != 0 {
		field = "points"
		rrn, err = s.store.AdjustPoints(ctx, pan, ledger.Points(in.Points), in.Note)
	} else {
		rrn, err = s.store.Adjust(ctx, pan, amount, in.Note)
	}
	if err != nil {
		s.storeErr(w, err, field)
		return
	}
	ev := s.change(r, "card_adjust").Str("pan", cardnum.Mask(pan)).Str("rrn", rrn)
	if in.Points != 0 {
		ev = ev.Int64("points", in.Points)
	} else {
		ev = ev.Int64("amount_fen", int64(amount))
	}
	ev.Str("note", cardnum.Scrub(in.Note)).Msg("card adjusted")
	b, err := s.store.CardBalances(pan)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, AdjustResult{RRN: rrn, PAN: cardnum.Mask(pan), Balances: *balancesView(b)})
}

func txnView(t *ledger.Txn) TxnView {
	v := TxnView{
		RRN: t.RRN(), Kind: t.Kind.String(), Status: t.Status.String(), MTI: t.MTI, ProcCode: t.ProcCode,
		TID: t.TID, MID: t.MID, HomeMID: t.HomeMID, ProgramID: t.ProgramID, PAN: cardnum.Mask(t.PAN),
		STAN: t.STAN, Field7: t.Time, AuthCode: t.AuthCode, Batch: t.Batch, BizDate: t.BizDate,
		At: time.Unix(0, t.At).UTC(), AmountFen: t.Amount, RefundedFen: t.Refunded,
		HoldAmountFen: t.HoldAmount, Earned: t.Earned, Debited: t.Debited,
	}
	if t.OrigSeq != 0 {
		v.OrigRRN = ledger.FormatRRN(t.OrigSeq)
	}
	if t.UndoneBy != 0 {
		v.UndoneByRRN = ledger.FormatRRN(t.UndoneBy)
	}
	return v
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	pan, limit, ok := s.cardListing(w, r, defaultHistoryLimit, maxHistoryLimit)
	if !ok {
		return
	}
	txns, err := s.store.CardHistory(pan, limit)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := History{PAN: cardnum.Mask(pan), Txns: []TxnView{}}
	for i := range txns {
		out.Txns = append(out.Txns, txnView(&txns[i]))
	}
	writeJSON(w, http.StatusOK, out)
}
