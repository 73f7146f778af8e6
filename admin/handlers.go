package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
	"github.com/rs/zerolog"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.health)

	m.HandleFunc("GET /v1/programs", s.listPrograms)
	m.HandleFunc("GET /v1/programs/{id}", s.getProgram)
	m.HandleFunc("PUT /v1/programs/{id}", s.putProgram)

	m.HandleFunc("GET /v1/merchants", s.listMerchants)
	m.HandleFunc("GET /v1/merchants/{mid}", s.getMerchant)
	m.HandleFunc("PUT /v1/merchants/{mid}", s.putMerchant)

	m.HandleFunc("GET /v1/terminals", s.listTerminals)
	m.HandleFunc("GET /v1/terminals/{tid}", s.getTerminal)
	m.HandleFunc("PUT /v1/terminals/{tid}", s.putTerminal)

	m.HandleFunc("GET /v1/cards", s.listCards)
	m.HandleFunc("GET /v1/cards/{pan}", s.getCard)
	m.HandleFunc("PUT /v1/cards/{pan}", s.putCard)
	m.HandleFunc("POST /v1/cards/{pan}/state", s.setCardState)
	m.HandleFunc("POST /v1/cards/{pan}/adjust", s.adjust)
	m.HandleFunc("GET /v1/cards/{pan}/history", s.history)

	s.securityRoutes()

	m.HandleFunc("GET /v1/check", s.check)
	m.HandleFunc("GET /v1/stats", s.stats)
	m.HandleFunc("POST /v1/checkpoint", s.checkpoint)
	m.HandleFunc("POST /v1/import", s.importFile)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, HealthBody{Status: "ok"})
}

// change starts the one log event of an admin change.
func (s *Server) change(r *http.Request, what string) *zerolog.Event {
	return s.log.Info().Str("event", "admin_change").Str("what", what).Str("remote", r.RemoteAddr)
}

// writeCtx is the context of one store change. It does not end when the
// client goes away: a change that reached the writer completes, and the
// client learns the outcome by reading.
func writeCtx(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), d)
}

// decode reads a JSON body into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. On failure it has answered 400 (or 413)
// naming the field.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); err2 != io.EOF {
			writeError(w, http.StatusBadRequest, "", "body: want one JSON object and nothing after it")
			return false
		}
		return true
	}
	var (
		typeErr  *json.UnmarshalTypeError
		syntax   *json.SyntaxError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "", "body larger than %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "", "body: empty; want a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			writeError(w, http.StatusBadRequest, "", "body: want a JSON object, got %s", typeErr.Value)
			return false
		}
		writeError(w, http.StatusBadRequest, field, "%s: want %s, got %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntax):
		writeError(w, http.StatusBadRequest, "", "body: not valid JSON (at byte %d)", syntax.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if looksLikeKey(field) {
			// A key typed where a field name belongs is not echoed.
			writeError(w, http.StatusBadRequest, "", "body: an unknown field whose name looks like key material (not shown)")
			return false
		}
		hint := ""
		switch field {
		case "pan":
			hint = " (the PAN is the path's)"
		case "imk_sealed", "imk", "issuer_master_key":
			hint = " (an issuer master key is loaded from its custodians' components: POST /v1/programs/{id}/imk)"
		case "tmk_sealed", "tmk":
			hint = " (a terminal master key is loaded from its custodians' components: POST /v1/terminals/{tid}/tmk)"
		case "pin_data", "pin":
			hint = " (a card's PIN is never set through the admin API)"
		}
		writeError(w, http.StatusBadRequest, field, "%s: unknown field%s", field, hint)
	default:
		writeError(w, http.StatusBadRequest, "", "body: %v", err)
	}
	return false
}

// looksLikeKey reports whether s could be a key or key component: 16 or
// more hex digits.
func looksLikeKey(s string) bool {
	if len(s) < 16 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "struct", k == "map":
		return "an object"
	}
	return k
}

// fieldErrors answers 400 with every problem of a record.
func fieldErrors(w http.ResponseWriter, l provision.ErrorList) {
	body := ErrorBody{Error: cardnum.Scrub(l.Error())}
	for _, e := range l {
		body.Errors = append(body.Errors, *e)
	}
	if len(l) > 0 {
		body.Field, body.Line = l[0].Path, l[0].Line
	}
	writeJSON(w, http.StatusBadRequest, body)
}

// storeErr answers a store error: 404 for a missing record, 400 naming
// field for a refused amount, 409 for a conflict, 503 when the store is
// closing, else 500 (logged).
func (s *Server) storeErr(w http.ResponseWriter, err error, field string) {
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		writeError(w, http.StatusNotFound, "", "%v", err)
	case errors.Is(err, ledger.ErrInsufficientFunds), errors.Is(err, ledger.ErrOverLimit), errors.Is(err, ledger.ErrBadAmount),
		errors.Is(err, ledger.ErrOutOfRange):
		writeError(w, http.StatusBadRequest, field, "%s: %v", field, err)
	case errors.Is(err, ledger.ErrConflict):
		writeError(w, http.StatusConflict, field, "%v", err)
	case errors.Is(err, ledger.ErrNoMasterKey):
		writeError(w, http.StatusConflict, "", "%v: the host keeps keys only sealed under its master key (config keys:)", err)
	case errors.Is(err, ledger.ErrNoOperator):
		writeError(w, http.StatusBadRequest, "operator", "operator: %v", err)
	case errors.Is(err, ledger.ErrClosed), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, "", "ledger unavailable: %v", err)
	default:
		s.log.Error().Str("error", cardnum.Scrub(err.Error())).Msg("admin: store error")
		writeError(w, http.StatusInternalServerError, "", "internal error: %v", err)
	}
}

func notFound(err error) bool { return errors.Is(err, ledger.ErrNotFound) }

// --- programs ---

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
	// imk_kcv of the body (read-only) is ignored.
	p := ledger.Program{
		ID: id, Name: in.Name, Currency: in.Currency, PointCost: in.PointCost, RedemptionValue: in.RedemptionValue,
		InterchangeBP: in.InterchangeBP, HoldDays: in.HoldDays, Products: in.Products,
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
	s.change(r, "program_put").Str("program_id", p.ID).Bool("created", created).
		Int64("interchange_bp", p.InterchangeBP).Msg("program saved")
	got, err := s.store.Program(id)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, createdStatus(created), programView(got))
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
	if _, err := s.store.Program(m.ProgramID); err != nil {
		if notFound(err) {
			writeError(w, http.StatusBadRequest, "program_id", "program_id: program %q not found", m.ProgramID)
			return
		}
		s.storeErr(w, err, "")
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
		TID: t.TID, MID: t.MID, Enabled: t.Enabled, SignedOn: st.SignedOn, OpenBatch: st.OpenBatch,
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
	t := ledger.Terminal{TID: tid, MID: in.MID, Enabled: in.Enabled == nil || *in.Enabled}
	if l := provision.CheckTerminal(&t); len(l) > 0 {
		fieldErrors(w, l)
		return
	}
	if _, err := s.store.Merchant(t.MID); err != nil {
		if notFound(err) {
			writeError(w, http.StatusBadRequest, "mid", "mid: merchant %q not found", t.MID)
			return
		}
		s.storeErr(w, err, "")
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
	s.change(r, "terminal_put").Str("tid", tid).Str("mid", t.MID).Bool("enabled", t.Enabled).
		Bool("created", created).Msg("terminal saved")
	got, st, err := s.store.Terminal(tid)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, createdStatus(created), terminalView(got, st))
}

// --- cards ---

// pathPAN is the card's PAN from the path: the only place a clear PAN
// enters the API. On failure it has answered 400.
func pathPAN(w http.ResponseWriter, r *http.Request) (string, bool) {
	pan := r.PathValue("pan")
	if err := provision.CheckPAN(pan); err != nil {
		writeError(w, http.StatusBadRequest, "pan", "pan: %v", err)
		return "", false
	}
	return pan, true
}

// loadCard reads the path's card; on failure it has answered.
func (s *Server) loadCard(w http.ResponseWriter, r *http.Request) (*ledger.Card, bool) {
	pan, ok := pathPAN(w, r)
	if !ok {
		return nil, false
	}
	c, err := s.store.Card(pan)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "card %s not found", cardnum.Mask(pan))
			return nil, false
		}
		s.storeErr(w, err, "")
		return nil, false
	}
	return c, true
}

// cardView is a card as operators see it; withBalances (one card) adds
// its balances and PIN state.
func (s *Server) cardView(c *ledger.Card, withBalances bool) (CardView, error) {
	v := CardView{
		PAN: cardnum.Mask(c.PAN), ProgramID: c.ProgramID, HomeMID: c.HomeMID, Product: c.Product,
		State: c.State.String(), Expiry: c.Expiry, Expired: c.Expiry < s.now().Format("0601"),
		ServiceCode: c.ServiceCode, PSN: c.PSN, Blacklisted: c.Blacklisted, Member: c.Member,
		MaxBalanceFen: c.EffectiveMaxBalance(), PerTxnLimitFen: c.PerTxnLimit, DailyLimitFen: c.DailyLimit,
		DailyCountLimit: c.DailyCountLimit,
	}
	if withBalances {
		b, err := s.store.CardBalances(c.PAN)
		if err != nil {
			return v, err
		}
		v.Balances = balancesView(b)
		pin, err := s.store.CardPINState(c.PAN)
		if err != nil {
			return v, err
		}
		v.PIN = &pin
	}
	return v, nil
}

func balancesView(b ledger.Balances) *BalancesView {
	return &BalancesView{LedgerFen: b.Ledger, AvailableFen: b.Available, Points: b.Points}
}

func (s *Server) writeCard(w http.ResponseWriter, status int, c *ledger.Card) {
	v, err := s.cardView(c, true)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) getCard(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.loadCard(w, r); ok {
		s.writeCard(w, http.StatusOK, c)
	}
}

func (s *Server) listCards(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", defaultCardPage, maxCardPage)
	if !ok {
		return
	}
	after := ""
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		var err error
		if after, err = s.openCursor(cur); err != nil {
			writeError(w, http.StatusBadRequest, "cursor", "cursor: not valid (cursors last while the server runs)")
			return
		}
	}
	cards, err := s.store.Cards(after, limit)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := CardList{Cards: []CardView{}}
	for i := range cards {
		v, _ := s.cardView(&cards[i], false)
		out.Cards = append(out.Cards, v)
	}
	if len(cards) == limit {
		out.NextCursor = s.sealCursor(cards[len(cards)-1].PAN)
	}
	writeJSON(w, http.StatusOK, out)
}

// sealCursor makes an opaque cursor from a PAN: sealed with a key that
// lives only in this process, so a cursor reveals nothing.
func (s *Server) sealCursor(pan string) string {
	nonce := make([]byte, s.cursor.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(s.cursor.Seal(nonce, nonce, []byte(pan), nil))
}

func (s *Server) openCursor(cur string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil || len(raw) < s.cursor.NonceSize() {
		return "", errors.New("bad cursor")
	}
	n := s.cursor.NonceSize()
	pan, err := s.cursor.Open(nil, raw[:n], raw[n:], nil)
	return string(pan), err
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, max int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, name, "%s: %q: want a whole number 1..%d", name, v, max)
		return 0, false
	}
	return n, true
}

func (s *Server) putCard(w http.ResponseWriter, r *http.Request) {
	pan, ok := pathPAN(w, r)
	if !ok {
		return
	}
	var in CardInput
	if !decode(w, r, &in) {
		return
	}
	old, err := s.store.Card(pan)
	if err != nil && !notFound(err) {
		s.storeErr(w, err, "")
		return
	}
	c := ledger.Card{
		PAN: pan, ProgramID: in.ProgramID, HomeMID: in.HomeMID, Product: in.Product,
		Expiry: in.Expiry, ServiceCode: in.ServiceCode, PSN: in.PSN,
		Member: in.Member, MaxBalance: in.MaxBalanceFen, PerTxnLimit: in.PerTxnLimitFen,
		DailyLimit: in.DailyLimitFen, DailyCountLimit: in.DailyCountLimit,
	}
	switch {
	case in.State != "":
		st, err := ledger.ParseCardState(in.State)
		if err != nil {
			writeError(w, http.StatusBadRequest, "state", "state: %q: want one of issued, active, frozen, lost, stolen, closed", in.State)
			return
		}
		c.State = st
	case old != nil:
		c.State = old.State
	default:
		c.State = ledger.CardIssued
	}
	c.Blacklisted = in.Blacklisted != nil && *in.Blacklisted
	// An existing card's state and blacklist flag change only through
	// the audited endpoints, which take an operator and a reason.
	if old != nil {
		if c.State != old.State {
			writeError(w, http.StatusBadRequest, "state", "state: card %s is %s; change a card's state with POST /v1/cards/{pan}/state and a note", cardnum.Mask(pan), old.State)
			return
		}
		if in.Blacklisted != nil && *in.Blacklisted != old.Blacklisted {
			writeError(w, http.StatusBadRequest, "blacklisted", "blacklisted: put a card on the blacklist or take it off with POST /v1/cards/{pan}/blacklist and a note")
			return
		}
		c.Blacklisted = old.Blacklisted
	}
	if l := provision.CheckCard(&c); len(l) > 0 {
		fieldErrors(w, l)
		return
	}
	if old != nil && old.ProgramID != c.ProgramID {
		writeError(w, http.StatusBadRequest, "program_id", "program_id: card %s is in program %q; moving a card to another program is not supported", cardnum.Mask(pan), old.ProgramID)
		return
	}
	prog, err := s.store.Program(c.ProgramID)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusBadRequest, "program_id", "program_id: program %q not found", c.ProgramID)
			return
		}
		s.storeErr(w, err, "")
		return
	}
	if _, ok := prog.Product(c.Product); !ok {
		writeError(w, http.StatusBadRequest, "product", "product: %q is not a product of program %s; want one of %s", c.Product, prog.ID, strings.Join(prog.ProductNames(), ", "))
		return
	}
	m, err := s.store.Merchant(c.HomeMID)
	switch {
	case notFound(err):
		writeError(w, http.StatusBadRequest, "home_mid", "home_mid: merchant %q not found", c.HomeMID)
		return
	case err != nil:
		s.storeErr(w, err, "")
		return
	case !m.Home:
		writeError(w, http.StatusBadRequest, "home_mid", "home_mid: merchant %s is not a home merchant", c.HomeMID)
		return
	case m.ProgramID != c.ProgramID:
		writeError(w, http.StatusBadRequest, "home_mid", "home_mid: merchant %s is in program %q, not %q", c.HomeMID, m.ProgramID, c.ProgramID)
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.PutCard(ctx, c); err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, "card_put").Str("pan", cardnum.Mask(pan)).Str("program_id", c.ProgramID).
		Str("home_mid", c.HomeMID).Str("state", c.State.String()).Bool("blacklisted", c.Blacklisted).
		Bool("created", old == nil).Msg("card saved")
	s.writeCard(w, createdStatus(old == nil), &c)
}

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
	pan, ok := pathPAN(w, r)
	if !ok {
		return
	}
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in StateRequest
	if !decode(w, r, &in) {
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
	pan, ok := pathPAN(w, r)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", defaultHistoryLimit, maxHistoryLimit)
	if !ok {
		return
	}
	if _, ok := s.loadCard(w, r); !ok {
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

// --- check and import ---

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	rep, err := s.store.Check(r.Context())
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	for i, p := range rep.Problems {
		rep.Problems[i] = cardnum.Scrub(p)
	}
	if rep.Problems == nil {
		rep.Problems = []string{}
	}
	if !rep.OK() {
		s.log.Warn().Int("problems", len(rep.Problems)).Msg("admin: ledger check found problems")
	}
	writeJSON(w, http.StatusOK, CheckResult{OK: rep.OK(), CheckReport: rep})
}

func (s *Server) importFile(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxImportBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "", "body larger than %d bytes", MaxImportBytes)
			return
		}
		writeError(w, http.StatusBadRequest, "", "body: %v", err)
		return
	}
	f, err := provision.Parse(data)
	var l provision.ErrorList
	if errors.As(err, &l) {
		fieldErrors(w, l)
		return
	} else if err != nil {
		writeError(w, http.StatusBadRequest, "", "%v", err)
		return
	}
	// One import at a time; a second waits.
	select {
	case s.importing <- struct{}{}:
		defer func() { <-s.importing }()
	case <-r.Context().Done():
		return
	}
	ctx, cancel := writeCtx(r, importTimeout)
	defer cancel()
	sum, err := provision.Apply(ctx, s.store, f)
	switch {
	case errors.As(err, &l):
		fieldErrors(w, l)
		return
	case errors.Is(err, ledger.ErrConflict):
		writeError(w, http.StatusConflict, "", "%v", err)
		return
	case err != nil:
		s.log.Error().Str("error", cardnum.Scrub(err.Error())).Msg("admin: import failed")
		writeError(w, http.StatusInternalServerError, "", "%v", err)
		return
	}
	s.change(r, "import").Int("programs", sum.Programs.Created+sum.Programs.Updated).
		Int("merchants", sum.Merchants.Created+sum.Merchants.Updated).
		Int("terminals", sum.Terminals.Created+sum.Terminals.Updated).
		Int("cards_created", sum.Cards.Created).Int("cards_updated", sum.Cards.Updated).
		Int("opening_balances", sum.OpeningBalances).Int64("opening_amount_fen", int64(sum.OpeningAmount)).
		Int64("opening_points", int64(sum.OpeningPoints)).Int("openings_skipped", sum.OpeningsSkipped).
		Int("states_kept", sum.StatesKept).Msg("provisioning file imported")
	writeJSON(w, http.StatusOK, ImportResult{Summary: sum})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
