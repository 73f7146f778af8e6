package admin

import (
	"net/http"
	"strconv"
)

// The audit log: every operator security change (card state, blacklists,
// PIN unblock, key loads), oldest first, in pages.

const (
	defaultAuditPage = 100
	maxAuditPage     = 1000
)

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", defaultAuditPage, maxAuditPage)
	if !ok {
		return
	}
	var after uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "after", "after: %q: want the seq of an audit record (a whole number)", v)
			return
		}
		after = n
	}
	recs, err := s.store.AuditLog(after, limit)
	if err != nil {
		s.storeErr(w, err, "")
		return
	}
	out := AuditList{Records: nonNil(recs)}
	if len(recs) == limit {
		out.Next = recs[len(recs)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}
