package admin

import (
	"context"
	"errors"
	"net/http"

	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/settlement"
)

// The settlement job run on demand (docs/settlement.md): the host runs
// it, so that its close goes through the one ledger writer that the
// gateway's decisions use.

// SettleFunc runs the settlement job for business date (yyyymmdd);
// early allows closing today's date before its cut-off.
type SettleFunc func(ctx context.Context, date uint32, early bool) (settlement.Result, error)

// SettleRequest is the body of POST /v1/settlement/settle.
type SettleRequest struct {
	Date  string `json:"date"` // business date, YYYY-MM-DD
	Early bool   `json:"early,omitempty"`
}

// SettleProgram is a program's own position in a SettleResult.
type SettleProgram struct {
	Program string `json:"program"`
	Net     int64  `json:"net_fen"`
}

// SettleResult is its answer.
type SettleResult struct {
	Date           string          `json:"date"`
	ClosedAt       string          `json:"closed_at"`
	Entries        int             `json:"entries"`
	Internal       int             `json:"internal_entries"`
	Merchants      int             `json:"merchants"`
	Posted         int             `json:"posted"`
	AlreadySettled bool            `json:"already_settled"`
	Dir            string          `json:"dir"`
	Programs       []SettleProgram `json:"programs"`
}

// SettleResultOf renders a job result.
func SettleResultOf(r settlement.Result) SettleResult {
	out := SettleResult{Date: ledger.FormatBusinessDate(r.Date), ClosedAt: r.ClosedAt, Entries: r.Entries, Internal: r.Internal,
		Merchants: r.Merchants, Posted: r.Posted, AlreadySettled: r.AlreadySettled, Dir: r.Dir, Programs: []SettleProgram{}}
	for _, p := range r.Programs {
		out.Programs = append(out.Programs, SettleProgram{Program: p.Program, Net: int64(p.Net)})
	}
	return out
}

func (s *Server) settlementRoutes() {
	s.mux.HandleFunc("POST /v1/settlement/settle", s.settleDate)
	s.mux.HandleFunc("GET /v1/settlement/{date}/reconciliation", s.reconciliation)
	s.mux.HandleFunc("GET /v1/reports/merchants", s.merchantReport)
}

func (s *Server) settleDate(w http.ResponseWriter, r *http.Request) {
	var in SettleRequest
	if !decode(w, r, &in) {
		return
	}
	d, err := ledger.ParseBusinessDate(in.Date)
	if err != nil {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	if s.settle == nil {
		writeError(w, http.StatusServiceUnavailable, "", "this host runs no settlement job")
		return
	}
	res, err := s.settle(r.Context(), d, in.Early)
	if errors.Is(err, ledger.ErrDateNotEnded) {
		writeError(w, http.StatusBadRequest, "date", "date: %v", err)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", "settlement %s: %v", in.Date, err)
		return
	}
	s.log.Info().Str("date", in.Date).Int("entries", res.Entries).Int("merchants", res.Merchants).Int("posted", res.Posted).
		Str("operator", r.Header.Get(OperatorHeader)).Msg("settlement run")
	writeJSON(w, http.StatusOK, SettleResultOf(res))
}

// Settle calls POST /v1/settlement/settle.
func (c *Client) Settle(ctx context.Context, date string, early bool) (*SettleResult, error) {
	var out SettleResult
	if err := c.doJSON(ctx, http.MethodPost, "/v1/settlement/settle", SettleRequest{Date: date, Early: early}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
