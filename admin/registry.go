package admin

import (
	"net/http"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// registry.go: programs, merchants and terminals: list, show, create or replace.

func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request) {
	ps, err := s.store.Programs()
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := ProgramList{Programs: []ProgramView{}}
	for i := range ps {
		out.Programs = append(out.Programs, programView(&ps[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// getOne answers GET of one registry record: the record, 404 naming it,
// or the store's error.
func getOne[T any](s *Server, w http.ResponseWriter, kind, id string, read func(string) (*T, error)) {
	v, err := read(id)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "%s %q not found", kind, id)
			return
		}
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) {
	getOne(s, w, "program", r.PathValue("id"), func(id string) (*ProgramView, error) {
		p, err := s.store.Program(id)
		if err != nil {
			return nil, err
		}
		v := programView(p)
		return &v, nil
	})
}

// programView is a program as operators see it: its issuer master key
// only as a check value.
func programView(p *ledger.Program) ProgramView {
	return ProgramView{
		ID: p.ID, Name: p.Name, Currency: p.Currency, PointCost: p.PointCost, RedemptionValue: p.RedemptionValue,
		InterchangeBP: p.InterchangeBP, HoldDays: p.HoldDays, Products: p.Products, IMKKCV: p.IMKKCV,
		Loyalty: p.Loyalty, Billing: p.Billing,
	}
}

func (s *Server) putProgram(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var in ProgramView
	if !decode(w, r, &in) {
		return
	}
	if in.ID != "" && in.ID != id {
		writeError(w, http.StatusBadRequest, "id", "id: %q differs from the path's %q", in.ID, id)
		return
	}
	// The record carries no key: PutProgram keeps the stored IMK, and
	// imk_kcv of the body (read-only) is ignored. Likewise a body without
	// loyalty rules keeps the stored ones, and PutProgram assigns the
	// rules' version.
	p := ledger.Program{
		ID: id, Name: in.Name, Currency: in.Currency, PointCost: in.PointCost, RedemptionValue: in.RedemptionValue,
		InterchangeBP: in.InterchangeBP, HoldDays: in.HoldDays, Products: in.Products, Loyalty: in.Loyalty, Billing: in.Billing,
	}
	if l := provision.CheckProgram(&p); len(l) > 0 {
		fieldErrors(w, l)
		return
	}
	_, err := s.store.Program(id)
	if err != nil && !notFound(err) {
		s.storeErr(w, err, "")
		return
	}
	created := notFound(err)
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.PutProgram(ctx, p); err != nil {
		s.storeErr(w, err, "")
		return
	}
	got, err := s.store.Program(id)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	rulesVersion := 0
	if got.Loyalty != nil {
		rulesVersion = got.Loyalty.Version
	}
	s.change(r, "program_put").Str("program_id", p.ID).Bool("created", created).
		Int64("interchange_bp", p.InterchangeBP).Int("rules_version", rulesVersion).Msg("program saved")
	writeJSON(w, createdStatus(created), programView(got))
}

// parent reads the record a record being saved names (a merchant's
// program, a terminal's merchant, a card's program); a missing one is a
// 400 naming field. On failure it has answered.
func parent[T any](s *Server, w http.ResponseWriter, field, kind, id string, read func(string) (*T, error)) (*T, bool) {
	p, err := read(id)
	switch {
	case notFound(err):
		writeError(w, http.StatusBadRequest, field, "%s: %s %q not found", field, kind, id)
		return nil, false
	case err != nil:
		s.storeErr(w, err, "")
		return nil, false
	}
	return p, true
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// --- merchants ---

func (s *Server) listMerchants(w http.ResponseWriter, r *http.Request) {
	ms, err := s.store.Merchants()
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, MerchantList{Merchants: nonNil(ms)})
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request) {
	getOne(s, w, "merchant", r.PathValue("mid"), s.store.Merchant)
}

func (s *Server) putMerchant(w http.ResponseWriter, r *http.Request) {
	mid := r.PathValue("mid")
	var m ledger.Merchant
	if !decode(w, r, &m) {
		return
	}
	if m.MID != "" && m.MID != mid {
		writeError(w, http.StatusBadRequest, "mid", "mid: %q differs from the path's %q", m.MID, mid)
		return
	}
	m.MID = mid
	if l := provision.CheckMerchant(&m); len(l) > 0 {
		fieldErrors(w, l)
		return
	}
	if _, ok := parent(s, w, "program_id", "program", m.ProgramID, s.store.Program); !ok {
		return
	}
	old, err := s.store.Merchant(mid)
	if err != nil && !notFound(err) {
		s.storeErr(w, err, "")
		return
	}
	if old != nil && old.ProgramID != m.ProgramID {
		writeError(w, http.StatusBadRequest, "program_id", "program_id: merchant %s is in program %q; moving a merchant to another program is not supported", mid, old.ProgramID)
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.PutMerchant(ctx, m); err != nil {
		s.storeErr(w, err, "program_id")
		return
	}
	s.change(r, "merchant_put").Str("mid", mid).Str("program_id", m.ProgramID).Bool("home", m.Home).
		Bool("created", old == nil).Msg("merchant saved")
	writeJSON(w, createdStatus(old == nil), m)
}

// --- terminals ---

func terminalView(t *ledger.Terminal, st ledger.TerminalState) TerminalView {
	return TerminalView{
		TID: t.TID, MID: t.MID, Enabled: t.Enabled, LoyaltyInfo: t.LoyaltyInfo, SignedOn: st.SignedOn, OpenBatch: st.OpenBatch,
		TMKKCV: t.TMKKCV, KeyGeneration: st.KeyGen, TPKKCV: st.TPKKCV, TAKKCV: st.TAKKCV,
	}
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) {
	ts, err := s.store.Terminals()
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := TerminalList{Terminals: []TerminalView{}}
	for i := range ts {
		// Registration from the list; runtime state read per terminal.
		_, st, err := s.store.Terminal(ts[i].TID)
		if err != nil && !notFound(err) {
			s.storeErr(w, err, "")
			return
		}
		out.Terminals = append(out.Terminals, terminalView(&ts[i], st))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getTerminal(w http.ResponseWriter, r *http.Request) {
	getOne(s, w, "terminal", r.PathValue("tid"), func(tid string) (*TerminalView, error) {
		t, st, err := s.store.Terminal(tid)
		if err != nil {
			return nil, err
		}
		v := terminalView(t, st)
		return &v, nil
	})
}

func (s *Server) putTerminal(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("tid")
	var in TerminalInput
	if !decode(w, r, &in) {
		return
	}
	if in.TID != "" && in.TID != tid {
		writeError(w, http.StatusBadRequest, "tid", "tid: %q differs from the path's %q", in.TID, tid)
		return
	}
	t := ledger.Terminal{TID: tid, MID: in.MID, Enabled: in.Enabled == nil || *in.Enabled, LoyaltyInfo: in.LoyaltyInfo}
	if l := provision.CheckTerminal(&t); len(l) > 0 {
		fieldErrors(w, l)
		return
	}
	if _, ok := parent(s, w, "mid", "merchant", t.MID, s.store.Merchant); !ok {
		return
	}
	_, _, err := s.store.Terminal(tid)
	if err != nil && !notFound(err) {
		s.storeErr(w, err, "")
		return
	}
	created := notFound(err)
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.PutTerminal(ctx, t); err != nil {
		s.storeErr(w, err, "mid")
		return
	}
	s.change(r, "terminal_put").Str("tid", tid).Str("mid", t.MID).Bool("enabled", t.Enabled).Bool("loyalty_info", t.LoyaltyInfo).
		Bool("created", created).Msg("terminal saved")
	got, st, err := s.store.Terminal(tid)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, createdStatus(created), terminalView(got, st))
}
