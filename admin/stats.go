package admin

import (
	"context"
	"net/http"

	"github.com/cardcenter/cardcenter/internal/logguard"
)

// StatsBody is GET /v1/stats: how often each rate-limited log line
// occurred and how many of them were held back (see package logguard and
// the Event constants of the gateway and of this package).
type StatsBody struct {
	LogEvents map[string]logguard.Count `json:"log_events"`
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, StatsBody{LogEvents: s.guard.Counts()})
}

// Stats calls GET /v1/stats.
func (c *Client) Stats(ctx context.Context) (*StatsBody, error) {
	var out StatsBody
	if err := c.doJSON(ctx, http.MethodGet, "/v1/stats", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
