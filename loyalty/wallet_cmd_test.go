package loyalty

import (
	"fmt"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/money"
	"github.com/cockroachdb/datadriven"
)

// walletCmd runs the lot commands of testdata/lots.txt on the harness's
// wallet, checking its invariants after each.
func (h *harness) walletCmd(d *datadriven.TestData, a kvs) string {
	at := func() time.Time { return h.instant(d, a.str("at", "")) }
	var out string
	switch d.Cmd {
	case "lot":
		earned := at()
		lot := Lot{Seq: uint64(a.int("seq", 0)), Points: money.Points(a.int("points", 0)), EarnedAt: earned}
		lot.Expires, _ = h.rules.Lots.Expiry(earned, h.loc)
		repaid, into, err := h.wallet.Earn(lot)
		if err != nil {
			out = "error: " + err.Error()
			break
		}
		out = fmt.Sprintf("lot %d: %d points", lot.Seq, lot.Points)
		if repaid > 0 {
			out += fmt.Sprintf(", %d repay debt", repaid)
		}
		switch {
		case into == 0:
			out += ", no lot"
		case into != lot.Seq:
			out += fmt.Sprintf(", merged into lot %d", into)
		case lot.Expires.IsZero():
			out += ", never expires"
		default:
			out += ", expires " + h.fmtTime(lot.Expires)
		}
	case "redeem":
		uses, err := h.wallet.Redeem(money.Points(a.int("points", 0)), at())
		out = usesOr(uses, err, "nothing")
	case "take":
		uses, debt, err := h.wallet.TakeBack(uint64(a.int("seq", 0)), money.Points(a.int("points", 0)), at())
		out = usesOr(uses, err, "nothing from lots")
		if err == nil && debt > 0 {
			out += fmt.Sprintf(", %d into debt", debt)
		}
	case "expire":
		out = usesOr(h.wallet.Expire(at()), nil, "nothing expired")
	case "expiring":
		t := at()
		var seqs []string
		for _, l := range h.wallet.Expiring(t, t.AddDate(0, 0, a.int("days", 0))) {
			seqs = append(seqs, fmt.Sprintf("lot %d (%d, %s)", l.Seq, l.Remaining, h.fmtTime(l.Expires)))
		}
		out = strings.Join(seqs, ", ")
		if out == "" {
			out = "none"
		}
	case "available":
		out = fmt.Sprint(h.wallet.Available(at()))
	case "wallet":
		var lines []string
		for _, l := range h.wallet.Lots {
			exp := "never"
			if !l.Expires.IsZero() {
				exp = h.fmtTime(l.Expires)
			}
			lines = append(lines, fmt.Sprintf("lot %d: %d of %d, expires %s", l.Seq, l.Remaining, l.Points, exp))
		}
		lines = append(lines, fmt.Sprintf("debt %d", h.wallet.Debt))
		out = strings.Join(lines, "\n")
	default:
		h.t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	a.done(h.t, d.Pos)
	if err := h.wallet.Check(); err != nil {
		h.t.Fatalf("%s: %v", d.Pos, err)
	}
	return out + "\n"
}

func usesOr(uses []Use, err error, none string) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if len(uses) == 0 {
		return none
	}
	var parts []string
	for _, u := range uses {
		parts = append(parts, fmt.Sprintf("%d from lot %d", u.Points, u.Seq))
	}
	return strings.Join(parts, ", ")
}
