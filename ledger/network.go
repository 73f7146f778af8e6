package ledger

// network.go: network management (0800): sign-on, sign-off, echo.
// Key handling joins here.

// network applies a network management request to the terminal's state.
// An echo changes nothing; a key change is answered 00 until key handling
// (contract section 7) lands here.
func (d *decision) network() {
	switch d.r.Kind {
	case KindSignOn:
		d.ts.SignedOn = true
		d.t.put(keyTermState(d.r.TID), d.ts)
	case KindSignOff:
		d.ts.SignedOn = false
		d.t.put(keyTermState(d.r.TID), d.ts)
	}
}
