package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/ledger"
)

// Key loading: a terminal's TMK or a program's IMK, from the clear
// components of two or three key custodians. The server checks each
// component against its check value, combines them, seals the result
// under the host master key and answers check values only. No key, and
// no component, is ever logged or answered.

// keyLoad is what differs between a TMK and an IMK load.
type keyLoad struct {
	what   string // "tmk" or "imk", for the log
	target string // the TID or program id
	store  func(ctx context.Context, key []byte, kcv string, op ledger.Operator) error
}

func (s *Server) loadTMK(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("tid")
	s.loadKey(w, r, keyLoad{what: "tmk", target: tid, store: func(ctx context.Context, key []byte, kcv string, op ledger.Operator) error {
		return s.store.SetTerminalTMK(ctx, tid, key, kcv, op)
	}})
}

func (s *Server) loadIMK(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.loadKey(w, r, keyLoad{what: "imk", target: id, store: func(ctx context.Context, key []byte, kcv string, op ledger.Operator) error {
		return s.store.SetProgramIMK(ctx, id, key, kcv, op)
	}})
}

func (s *Server) loadKey(w http.ResponseWriter, r *http.Request, kl keyLoad) {
	op, ok := requireOperator(w, r)
	if !ok {
		return
	}
	var in KeyLoadRequest
	if !decode(w, r, &in) {
		return
	}
	if !checkReason(w, &op, in.Note) {
		return
	}
	comps := make([][2]string, len(in.Components))
	kcvs := make([]string, len(in.Components))
	for i, c := range in.Components {
		comps[i] = [2]string{c.Key, c.KCV}
		kcvs[i] = strings.ToUpper(c.KCV)
	}
	key, kcv, err := cardcrypto.LoadComponents("components", comps)
	if err != nil {
		var fe *cardcrypto.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, fe.Field, "%v", fe)
			return
		}
		writeError(w, http.StatusBadRequest, "components", "components: not usable")
		return
	}
	defer clear(key)
	if in.KCV != "" {
		if _, err := cardcrypto.ParseKCV("kcv", in.KCV); err != nil {
			writeError(w, http.StatusBadRequest, "kcv", "kcv: want the combined key's check value, 6 hex digits")
			return
		}
		if !strings.EqualFold(kcv, in.KCV) {
			// The combined key's own check value is not shown: a key
			// that was not loaded tells nothing about itself.
			writeError(w, http.StatusBadRequest, "kcv", "kcv: the components do not combine to a key with check value %s; check each component; nothing was loaded", strings.ToUpper(in.KCV))
			return
		}
	}
	ctx, cancel := writeCtx(r, writeOpTimeout)
	defer cancel()
	if err := kl.store(ctx, key, kcv, op); err != nil {
		s.storeErr(w, err, "")
		return
	}
	s.change(r, kl.what+"_load").Str("operator", op.Name).Str("target", kl.target).
		Int("components", len(comps)).Str("kcv", kcv).Msg("key loaded from custodians' components")
	writeJSON(w, http.StatusOK, KeyLoadResult{Target: kl.target, ComponentKCVs: kcvs, KCV: kcv})
}
