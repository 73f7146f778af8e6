package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// mall.go: the points mall through the API: a program's catalog of
// rewards (read, create or replace) and orders (place, show, move on,
// list a card's). Every change names its operator (OperatorHeader) and
// says why (the note): the ledger audits it in the same change. Answers
// show a card only by its masked PAN.

func (s *Server) mallRoutes() {
	m := s.mux
	m.HandleFunc("GET /v1/programs/{id}/rewards", s.listRewards)
	m.HandleFunc("GET /v1/programs/{id}/rewards/{rid}", s.getReward)
	m.HandleFunc("PUT /v1/programs/{id}/rewards/{rid}", s.putReward)
	m.HandleFunc("POST /v1/programs/{id}/rewards/{rid}/restock", s.restockReward)
	m.HandleFunc("POST /v1/cards/{pan}/orders", s.placeOrder)
	m.HandleFunc("GET /v1/cards/{pan}/orders", s.cardOrders)
	m.HandleFunc("GET /v1/orders/{seq}", s.getOrder)
	m.HandleFunc("POST /v1/orders/{seq}/status", s.setOrderStatus)
}

// RewardInput is the body of PUT /v1/programs/{id}/rewards/{rid}: the
// reward's name, points price and stock (all required; the stock is
// absolute), whether it can be ordered (default true), and why.
type RewardInput struct {
	Name        string `json:"name"`
	PointsPrice *int64 `json:"points_price"`
	Stock       *int64 `json:"stock"`
	Active      *bool  `json:"active,omitempty"`
	Note        string `json:"note"`
}

// RestockInput is the body of POST
// /v1/programs/{id}/rewards/{rid}/restock: the items to add to the
// stock as it stands when the ledger applies it (negative: a write-off;
// required, nonzero, within ±ledger.MaxRewardStock), and why.
type RestockInput struct {
	Add  *int64 `json:"add"`
	Note string `json:"note"`
}

// RewardView is a reward as stored (ledger.Reward: id, program_id,
// name, points_price, stock, active).
type RewardView = ledger.Reward

// RewardList is a program's catalog.
type RewardList struct {
	ProgramID string       `json:"program_id"`
	Rewards   []RewardView `json:"rewards"`
}

// OrderRequest is the body of POST /v1/cards/{pan}/orders: a reward of
// the card's program, how many (1..ledger.MaxOrderQty) and why.
type OrderRequest struct {
	Reward string `json:"reward"`
	Qty    int64  `json:"qty"`
	Note   string `json:"note"`
}

// OrderStatusRequest is the body of POST /v1/orders/{seq}/status.
type OrderStatusRequest struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

// OrderView is an order as operators see it: the card masked. Seq is
// the placement's journal entry (its RRN is the seq in 12 digits).
type OrderView struct {
	Seq        uint64              `json:"seq"`
	PAN        string              `json:"pan"`
	ProgramID  string              `json:"program_id"`
	RewardID   string              `json:"reward_id"`
	RewardName string              `json:"reward_name"`
	Qty        int64               `json:"qty"`
	Points     ledger.Points       `json:"points"`
	Status     ledger.OrderStatus  `json:"status"`
	CancelSeq  uint64              `json:"cancel_seq,omitempty"`
	History    []ledger.OrderEvent `json:"history"`
}

// OrderList is a card's orders, newest first.
type OrderList struct {
	PAN    string      `json:"pan"`
	Orders []OrderView `json:"orders"`
}

func orderView(o *ledger.Order) OrderView {
	return OrderView{
		Seq: o.Seq, PAN: cardnum.Mask(o.PAN), ProgramID: o.ProgramID, RewardID: o.RewardID, RewardName: o.RewardName,
		Qty: o.Qty, Points: o.Points, Status: o.Status, CancelSeq: o.CancelSeq, History: nonNil(o.History),
	}
}

// mallErr answers a refused mall change: the card checks and a reward
// that cannot be ordered are conflicts (409), an order beyond the stock
// too; the rest as storeErr.
func (s *Server) mallErr(w http.ResponseWriter, err error, field string) {
	switch {
	case errors.Is(err, ledger.ErrOutOfStock):
		writeError(w, http.StatusConflict, "qty", "qty: %v", err)
	case errors.Is(err, ledger.ErrInsufficientPoints):
		writeError(w, http.StatusBadRequest, "qty", "qty: %v", err)
	case errors.Is(err, ledger.ErrCardNotActive), errors.Is(err, ledger.ErrCardExpired), errors.Is(err, ledger.ErrBlacklisted),
		errors.Is(err, ledger.ErrCardLost), errors.Is(err, ledger.ErrCardStolen):
		writeError(w, http.StatusConflict, "pan", "pan: %v", err)
	case errors.Is(err, ledger.ErrNotAllowed):
		writeError(w, http.StatusConflict, field, "%s: %v", field, err)
	default:
		s.storeErr(w, err, field)
	}
}

// loadProgram checks the path's program exists; on failure it has
// answered.
func (s *Server) loadProgram(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, err := s.store.Program(id); err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "program %q not found", id)
		} else {
			s.storeErr(w, err, "")
		}
		return "", false
	}
	return id, true
}

func (s *Server) listRewards(w http.ResponseWriter, r *http.Request) {
	id, ok := s.loadProgram(w, r)
	if !ok {
		return
	}
	rs, err := s.store.Rewards(id)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, RewardList{ProgramID: id, Rewards: nonNil(rs)})
}

func (s *Server) getReward(w http.ResponseWriter, r *http.Request) {
	id, ok := s.loadProgram(w, r)
	if !ok {
		return
	}
	rid := r.PathValue("rid")
	rw, err := s.store.Reward(id, rid)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "reward %q of program %q not found", rid, id)
			return
		}
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, rw)
}

func (s *Server) putReward(w http.ResponseWriter, r *http.Request) {
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in RewardInput
	if !decode(w, r, &in) {
		return
	}
	rw := ledger.Reward{ID: r.PathValue("rid"), ProgramID: r.PathValue("id"), Name: in.Name, Active: true}
	switch {
	case in.PointsPrice == nil:
		writeError(w, http.StatusBadRequest, "points_price", "points_price: missing; want the points one item costs, 1..%d", int64(ledger.MaxAmount))
		return
	case in.Stock == nil:
		writeError(w, http.StatusBadRequest, "stock", "stock: missing; want how many items can be ordered, 0..%d", ledger.MaxRewardStock)
		return
	}
	rw.Price, rw.Stock = ledger.Points(*in.PointsPrice), *in.Stock
	if in.Active != nil {
		rw.Active = *in.Active
	}
	if err := rw.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, rewardField(&rw), "%v", err)
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	if _, ok := s.loadProgram(w, r); !ok {
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := s.store.PutReward(ctx, rw, op); err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, "mall_reward").Str("operator", op.Name).Str("program", rw.ProgramID).Str("reward", rw.ID).
		Int64("points_price", int64(rw.Price)).Int64("stock", rw.Stock).Bool("active", rw.Active).
		Str("note", cardnum.Scrub(in.Note)).Msg("reward put")
	writeJSON(w, http.StatusOK, rw)
}

// restockReward adds to a reward's stock (ledger.RestockReward): 400
// naming add for a missing, zero or oversized count, 404 for an
// unknown program or reward, 409 naming add when the stock after would
// be outside 0..MaxRewardStock (orders took it meanwhile, or it would
// pass the maximum). It answers the reward after.
func (s *Server) restockReward(w http.ResponseWriter, r *http.Request) {
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in RestockInput
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.Add == nil:
		writeError(w, http.StatusBadRequest, "add", "add: missing; want the items to add to the stock (negative to write off), -%d..%d, not 0",
			ledger.MaxRewardStock, ledger.MaxRewardStock)
		return
	case *in.Add == 0 || *in.Add < -ledger.MaxRewardStock || *in.Add > ledger.MaxRewardStock:
		writeError(w, http.StatusBadRequest, "add", "add: %d: want -%d..%d, not 0", *in.Add, ledger.MaxRewardStock, ledger.MaxRewardStock)
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	id, ok := s.loadProgram(w, r)
	if !ok {
		return
	}
	rid := r.PathValue("rid")
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	rw, err := s.store.RestockReward(ctx, id, rid, *in.Add, op)
	switch {
	case notFound(err):
		writeError(w, http.StatusNotFound, "", "reward %q of program %q not found", rid, id)
		return
	case errors.Is(err, ledger.ErrStockOutOfRange):
		writeError(w, http.StatusConflict, "add", "add: %v", err)
		return
	case err != nil:
		s.storeErr(w, err, "add")
		return
	}
	s.change(r, "mall_reward_restock").Str("operator", op.Name).Str("program", id).Str("reward", rid).
		Int64("add", *in.Add).Int64("stock", rw.Stock).Str("note", cardnum.Scrub(in.Note)).Msg("reward restocked")
	writeJSON(w, http.StatusOK, rw)
}

// rewardField names the field a reward's Validate refused, in the order
// it checks them.
func rewardField(rw *ledger.Reward) string {
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"rid", (&ledger.Reward{ID: rw.ID, ProgramID: "p", Name: "n", Price: 1}).Validate() == nil},
		{"id", (&ledger.Reward{ID: "r", ProgramID: rw.ProgramID, Name: "n", Price: 1}).Validate() == nil},
		{"name", (&ledger.Reward{ID: "r", ProgramID: "p", Name: rw.Name, Price: 1}).Validate() == nil},
		{"points_price", (&ledger.Reward{ID: "r", ProgramID: "p", Name: "n", Price: rw.Price}).Validate() == nil},
	} {
		if !f.ok {
			return f.name
		}
	}
	return "stock"
}

func (s *Server) placeOrder(w http.ResponseWriter, r *http.Request) {
	pan, op, in, ok := cardChangeRequest[OrderRequest](w, r)
	if !ok {
		return
	}
	switch {
	case in.Reward == "":
		writeError(w, http.StatusBadRequest, "reward", "reward: missing; want the id of a reward of the card's program")
		return
	case in.Qty < 1 || in.Qty > ledger.MaxOrderQty:
		writeError(w, http.StatusBadRequest, "qty", "qty: %d: want 1..%d", in.Qty, ledger.MaxOrderQty)
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	c, ok := s.loadCard(w, r)
	if !ok {
		return
	}
	if _, err := s.store.Reward(c.ProgramID, in.Reward); err != nil {
		if notFound(err) {
			writeError(w, http.StatusBadRequest, "reward", "reward: %q is not in the catalog of program %s", in.Reward, c.ProgramID)
			return
		}
		s.storeErr(w, err, "")
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	o, err := s.store.PlaceOrder(ctx, pan, c.ProgramID, in.Reward, in.Qty, op)
	if err != nil {
		s.mallErr(w, err, "reward")
		return
	}
	s.change(r, "mall_order").Str("operator", op.Name).Str("pan", cardnum.Mask(pan)).Uint64("order", o.Seq).
		Str("reward", in.Reward).Int64("qty", in.Qty).Int64("points", int64(o.Points)).
		Str("note", cardnum.Scrub(in.Note)).Msg("mall order placed")
	writeJSON(w, http.StatusCreated, orderView(o))
}

// pathSeq is the order's seq from the path; on failure it has answered.
func pathSeq(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	v := r.PathValue("seq")
	seq, err := strconv.ParseUint(v, 10, 64)
	if err != nil || seq == 0 {
		writeError(w, http.StatusBadRequest, "seq", "seq: %q: want an order number (a whole number above 0)", v)
		return 0, false
	}
	return seq, true
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) {
	seq, ok := pathSeq(w, r)
	if !ok {
		return
	}
	o, err := s.store.Order(seq)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "order %d not found", seq)
			return
		}
		s.storeErr(w, err, "")
		return
	}
	writeJSON(w, http.StatusOK, orderView(o))
}

func (s *Server) setOrderStatus(w http.ResponseWriter, r *http.Request) {
	seq, ok := pathSeq(w, r)
	if !ok {
		return
	}
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in OrderStatusRequest
	if !decode(w, r, &in) {
		return
	}
	st, err := ledger.ParseOrderStatus(in.Status)
	if err != nil {
		writeError(w, http.StatusBadRequest, "status", "status: %v", err)
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	o, err := s.store.SetOrderStatus(ctx, seq, st, op)
	if err != nil {
		if notFound(err) {
			writeError(w, http.StatusNotFound, "", "order %d not found", seq)
			return
		}
		s.mallErr(w, err, "status")
		return
	}
	s.change(r, "mall_order_status").Str("operator", op.Name).Str("pan", cardnum.Mask(o.PAN)).Uint64("order", seq).
		Str("status", string(st)).Str("note", cardnum.Scrub(in.Note)).Msg("mall order status set")
	writeJSON(w, http.StatusOK, orderView(o))
}

func (s *Server) cardOrders(w http.ResponseWriter, r *http.Request) {
	pan, limit, ok := s.cardListing(w, r, defaultHistoryLimit, maxHistoryLimit)
	if !ok {
		return
	}
	os, err := s.store.CardOrders(pan, limit)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := OrderList{PAN: cardnum.Mask(pan), Orders: []OrderView{}}
	for i := range os {
		out.Orders = append(out.Orders, orderView(&os[i]))
	}
	writeJSON(w, http.StatusOK, out)
}
