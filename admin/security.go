package admin

import (
	"net/http"
	"strings"

	"github.com/cardcenter/cardcenter/ledger"
)

// Operators' security changes (contract section 7): key loading, PIN
// unblock, card and BIN blacklists, and the audit log that records them
// and card state changes. Each change names its operator (the
// OperatorHeader) and says why (the body's note); the ledger writes its
// audit record in the same batch as the change.

func (s *Server) securityRoutes() {
	m := s.mux
	m.HandleFunc("POST /v1/terminals/{tid}/tmk", s.loadTMK)
	m.HandleFunc("POST /v1/programs/{id}/imk", s.loadIMK)
	m.HandleFunc("POST /v1/cards/{pan}/pin/unblock", s.unblockPIN)
	m.HandleFunc("POST /v1/cards/{pan}/blacklist", s.setCardBlacklist)
	m.HandleFunc("GET /v1/blacklist/bins", s.listBINs)
	m.HandleFunc("POST /v1/blacklist/bins", s.addBINRange)
	m.HandleFunc("DELETE /v1/blacklist/bins/{range}", s.removeBINRange)
	m.HandleFunc("GET /v1/audit", s.auditLog)
}

// OperatorHeader names the operator making a change through the API;
// the CLI sends its --operator (default: the login name). Audit records
// keep it with the change's reason.
const OperatorHeader = "X-Cardcenter-Operator"

// maxOperatorLen is the ledger's limit on an operator's name.
const maxOperatorLen = 64

// requireOperator reads who makes a security change. Without one it has
// answered 400 naming "operator": the bearer token says only that the
// caller may use the API, not who they are.
func requireOperator(w http.ResponseWriter, r *http.Request) (ledger.Operator, bool) {
	name := r.Header.Get(OperatorHeader)
	switch {
	case strings.TrimSpace(name) == "":
		writeError(w, http.StatusBadRequest, "operator", "operator: missing; send the %s header naming who makes the change (the CLI's --operator)", OperatorHeader)
		return ledger.Operator{}, false
	case len(name) > maxOperatorLen || !printable(name):
		writeError(w, http.StatusBadRequest, "operator", "operator: want 1 to %d printable characters", maxOperatorLen)
		return ledger.Operator{}, false
	}
	return ledger.Operator{Name: name}, true
}

// checkReason checks a security change's note, the audit record's reason
// (required, printable, at most maxNoteLen bytes), and puts it in op. On
// failure it has answered 400 naming "note".
func checkReason(w http.ResponseWriter, op *ledger.Operator, note string) bool {
	if !checkNote(w, note, true) {
		return false
	}
	if !printable(note) {
		writeError(w, http.StatusBadRequest, "note", "note: control characters are not allowed")
		return false
	}
	op.Reason = note
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// cardChangeRequest reads what every audited change to a card starts
// with: the card's PAN from the path, the operator from the header and
// the JSON body. On failure it has answered 400 naming the field.
func cardChangeRequest[T any](w http.ResponseWriter, r *http.Request) (pan string, op ledger.Operator, in T, ok bool) {
	if pan, ok = pathPAN(w, r); !ok {
		return
	}
	if op, ok = requireOperator(w, r); !ok {
		return
	}
	ok = decode(w, r, &in)
	return
}
