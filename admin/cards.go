package admin

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// cards.go: cards: show, list, create or replace.

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
	prog, ok := parent(s, w, "program_id", "program", c.ProgramID, s.store.Program)
	if !ok {
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

// cardListing reads what a listing of a card's records starts with: the
// PAN from the path, the limit parameter, and that the card exists. On
// failure it has answered (400 naming the field, or 404).
func (s *Server) cardListing(w http.ResponseWriter, r *http.Request, def, max int) (pan string, limit int, ok bool) {
	if pan, ok = pathPAN(w, r); !ok {
		return
	}
	if limit, ok = intParam(w, r, "limit", def, max); !ok {
		return
	}
	_, ok = s.loadCard(w, r)
	return
}
