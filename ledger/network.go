package ledger

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
