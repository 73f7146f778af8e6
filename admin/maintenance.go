package admin

import (
	"errors"
	"io"
	"net/http"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/provision"
)

// maintenance.go: the consistency check and provisioning-file import.

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
		Int("states_kept", sum.StatesKept).Int("rules_versions", sum.RulesVersions).Msg("provisioning file imported")
	writeJSON(w, http.StatusOK, ImportResult{Summary: sum})
}
