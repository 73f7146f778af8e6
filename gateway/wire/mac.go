package wire

// Where a message carries its MAC (contract section 7): field 64, or field
// 128 when one of fields 65–127 is present. The MAC is the last field, so
// in every packager its 8 raw bytes end the packed message; the MAC covers
// everything before them, from the first byte of the MTI.

// MACLen is the length of the MAC field (64 or 128).
const MACLen = 8

// MACScope reports whether messages of this MTI (request or response)
// carry a MAC once the terminal has working keys: the 01xx, 02xx, 04xx,
// 05xx and 03xx authorization, advice, reversal, batch and upload
// families. Network management (08xx) never does.
func MACScope(mti string) bool {
	if len(mti) != 4 || mti[0] != '0' {
		return false
	}
	switch mti[1] {
	case '1', '2', '3', '4', '5':
		return true
	}
	return false
}

// MACField returns the field holding m's MAC, 64 or 128, and whether it
// has one; a message with both reports -1.
func MACField(m *Message) (int, bool) {
	_, has64 := m.Fields[64]
	_, has128 := m.Fields[128]
	switch {
	case has64 && has128:
		return -1, true
	case has64:
		return 64, true
	case has128:
		return 128, true
	}
	return 0, false
}

// WantMACField is the field m's MAC belongs in: 128 when one of fields
// 65–127 is present, 64 otherwise.
func WantMACField(m *Message) int {
	for n := range m.Fields {
		if n > 64 && n < 128 {
			return 128
		}
	}
	return 64
}

// SetMACPlaceholder puts 8 zero bytes in the MAC field m wants, so that
// the packed message has the MAC's bit set and its bytes at the end,
// ready for the MAC to be written over them.
func SetMACPlaceholder(m *Message) {
	m.Fields[WantMACField(m)] = macPlaceholder
}

// macPlaceholder is the MAC field's value before the MAC is written: a
// constant, so that placing it costs every MACed response no allocation.
const macPlaceholder = "\x00\x00\x00\x00\x00\x00\x00\x00"

// The placeholder is one MAC long (these do not compile otherwise).
var _ [MACLen - len(macPlaceholder)]struct{}
var _ [len(macPlaceholder) - MACLen]struct{}
