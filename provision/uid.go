package provision

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// uid.go: a card's contactless UID (cards[].uid), the member number a
// reader gets with GET DATA FF CA 00 00 00 from a card without a payment
// application. One UID names one card: the file refuses a UID given twice,
// and the ledger's registry (ledger/uid.go) refuses a UID already mapped to
// another card.

// UID lengths ISO/IEC 14443-3 allows: single, double and triple size.
var uidLens = map[int]bool{4: true, 7: true, 10: true}

// ParseUID reads a UID written as hex (either case, optional ':' or ' '
// between bytes) and returns it upper-case without separators. The error
// names the length and what is wrong, which is safe: a UID is not card
// data (it is printed on no receipt and reads from any card).
func ParseUID(s string) (string, error) {
	clean := strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return "", fmt.Errorf("%q: want hex bytes, e.g. 04A1B2C3D4E5F6", s)
	}
	if !uidLens[len(b)] {
		return "", fmt.Errorf("%q: %d bytes, want 4, 7 or 10", s, len(b))
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// CardByUID returns the file's card whose uid is uid (as ParseUID writes it).
func (f *File) CardByUID(uid string) (Alias, bool) {
	for _, c := range f.Cards {
		if c.UID != "" && c.UID == uid {
			return Alias{PAN: c.PAN, Expiry: c.Expiry, ServiceCode: c.ServiceCode, PSN: c.PSN,
				Product: c.Product, State: c.State, ProgramID: c.ProgramID, HomeMID: c.HomeMID, UID: c.UID}, true
		}
	}
	return Alias{}, false
}
