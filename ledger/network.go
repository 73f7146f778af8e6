package ledger

import "fmt"

// network.go: network management (0800): sign-on, key change, sign-off,
// echo. An echo changes nothing.

// network applies sign-on, key change and sign-off. A sign-on or key
// change installs the fresh working keys the gateway made under the
// terminal's TMK; a terminal without a TMK signs on without keys (test
// programs), and its messages carry no MAC.
func (d *decision) network() {
	r := d.r
	switch r.Kind {
	case KindSignOn, KindKeyChange:
		k := r.Security.NewKeys
		if k == nil && d.term.TMK != nil {
			d.hostErr(fmt.Errorf("tid %s has a TMK but no working keys were made", r.TID))
			return
		}
		if k != nil {
			d.ts.KeyGen++
			d.ts.TPK, d.ts.TAK = k.TPK, k.TAK
			d.ts.TPKKCV, d.ts.TAKKCV = k.TPKKCV, k.TAKKCV
			d.field62 = k.Field62
		}
		if r.Kind == KindSignOn {
			d.ts.SignedOn = true
		}
		d.t.put(d.te.stateKey, d.ts)
	case KindSignOff:
		// The keys go with the session: a terminal that signs on again
		// gets new ones.
		d.ts.SignedOn = false
		d.ts.TPK, d.ts.TAK, d.ts.TPKKCV, d.ts.TAKKCV = nil, nil, "", ""
		d.t.put(d.te.stateKey, d.ts)
	}
}
