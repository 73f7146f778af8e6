package gateway

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
)

// echoedFields are copied from a request into its response when present
// (terminal-protocol.md section 3).
var echoedFields = [...]int{3, 4, 7, 11, 41, 42, 49, 60, 70}

// maxResponseFields is the most fields an answer carries (the MAC is
// added by Pack's caller, in the bytes).
const maxResponseFields = len(echoedFields) + 7

// msgPool recycles the messages of a connection's requests and answers:
// readLoop unpacks each request into one (UnpackInto) and buildResponse
// builds each answer in one, and flush gives both back once the answer
// is written, counted and logged, when nothing refers to them any more
// (a ledger.Request holds copies of the values, which are strings). A
// request or an answer used to cost a map built afresh, a third of the
// allocations on a request's path.
var msgPool = sync.Pool{New: func() any {
	return &wire.Message{Fields: make(map[int]string, maxResponseFields)}
}}

// getMessage returns an empty message from msgPool.
func getMessage() *wire.Message { return msgPool.Get().(*wire.Message) }

// putMessage clears m and gives it back to msgPool; the caller keeps no
// reference to it. A message whose map grew past a chip request's
// fields is left to the collector.
func putMessage(m *wire.Message) {
	if m == nil || len(m.Fields) > maxPooledFields {
		return
	}
	clear(m.Fields)
	m.MTI = ""
	msgPool.Put(m)
}

// maxPooledFields: the most fields of a message msgPool keeps (a
// request's fields are fewer: the packagers' specs list 30).
const maxPooledFields = 32

// buildResponse renders the response to req from the ledger's result. It
// is a pure function of the two, so a retransmission, answered from the
// stored result, renders byte-equal. Balances that field 54 cannot carry
// answer 96 with no 37, 38 or 54: the ledger never lets a balance leave
// the 12-digit range, so only a corrupt record gets here, and a wrong
// balance on a receipt is worse than a host error.
func buildResponse(req *wire.Message, res ledger.Result) *wire.Message {
	rc := ResponseCode(res.Err)
	first := repeatOf(req.MTI)
	carriesResult := first == "0100" || first == "0200" || first == "0220"
	var f54 string
	// An approval of a result-carrying request shows the balances, and a
	// 51, whatever the request, shows the balances that fell short.
	if res.Balances != nil && (carriesResult && rc == "00" || rc == "51") {
		var err error
		if f54, err = formatBalances(res.Balances); err != nil {
			rc, f54 = "96", ""
		}
	}
	// From msgPool, sized for the largest answer (the echoed fields, 39,
	// 37, 38, 54, 55, 62, 63): a map that grows while it is filled
	// allocates again.
	out := getMessage()
	out.MTI = ResponseMTI(req.MTI)
	for _, n := range echoedFields {
		if v, ok := req.Fields[n]; ok {
			out.Fields[n] = v
		}
	}
	out.Fields[39] = rc
	if carriesResult && rc == "00" && res.RRN != "" {
		out.Fields[37] = res.RRN
		out.Fields[38] = res.AuthCode
	}
	// A sign-on's or key change's working keys, under the TMK.
	if rc == "00" && res.Field62 != nil {
		out.Fields[62] = string(res.Field62)
	}
	if f54 != "" {
		out.Fields[54] = f54
	}
	// The member's tier, to a terminal that opted in (docs/protocol.md
	// "Field 63"); every other terminal's bytes are the contract's.
	if carriesResult && rc == "00" && res.LoyaltyInfo && res.Tier != nil {
		if f63, ok := formatTier(res.Tier); ok {
			out.Fields[wire.FieldLoyalty] = f63
		}
	}
	return out
}

// formatTier renders field 63: "LT", the tier index (2 digits), the
// discount in basis points (5 digits), the tier name. The rules bound
// all three (16 tiers, 10000 bp, 32 bytes), so a value out of range is a
// corrupt record: the field is left out rather than the approval turned
// into a 96, since it informs and moves nothing. A byte of the name
// outside printable ASCII (field 63 is ans; names may be UTF-8) is sent
// as '?': the index is what a terminal keys on.
func formatTier(t *ledger.TierInfo) (string, bool) {
	if t.Index < 0 || t.Index > 99 || t.Discount < 0 || t.Discount > 99999 || t.Name == "" || len(t.Name) > loyalty.MaxTierNameLen {
		return "", false
	}
	buf := append(make([]byte, 0, 9+len(t.Name)), "LT"...)
	buf = appendDigits(appendDigits(buf, int64(t.Index), 2), int64(t.Discount), 5)
	for i := 0; i < len(t.Name); i++ {
		c := t.Name[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		buf = append(buf, c)
	}
	return string(buf), true
}

// maxField54 is the largest magnitude a field 54 entry carries (12 digits).
const maxField54 = 999_999_999_999

// errField54 is a balance field 54 cannot carry.
var errField54 = errors.New("balance does not fit field 54")

// formatBalances renders field 54 (section 4): 20-character entries,
// 00 01 and 00 02 and 90 02 always, 90 90 and 90 91 when not zero. A value
// past 12 digits (math.MinInt64 included, which has no absolute value) is
// refused, never clamped or cut: a balance is money.
func formatBalances(b *ledger.Balances) (string, error) {
	var arr [5 * field54EntryLen]byte
	buf := arr[:0]
	for _, e := range [...]struct {
		head   string
		v      int64
		always bool
		debit  bool // always D: points debited are shown as a debit
	}{
		{"0001156", int64(b.Ledger), true, false},
		{"0002156", int64(b.Available), true, false},
		{"9002999", int64(b.Points), true, false},
		{"9090999", int64(b.Earned), false, false},
		{"9091999", int64(b.Debited), false, true},
	} {
		if e.v == 0 && !e.always {
			continue
		}
		if e.v < -maxField54 || e.v > maxField54 {
			return "", fmt.Errorf("%w: %s %d", errField54, e.head, e.v)
		}
		buf = append(buf, e.head...)
		if e.v < 0 || e.debit {
			buf = append(buf, 'D')
		} else {
			buf = append(buf, 'C')
		}
		if e.v < 0 {
			e.v = -e.v // safe: e.v >= -maxField54
		}
		buf = appendDigits(buf, e.v, 12)
	}
	return string(buf), nil
}

// field54EntryLen is one entry of field 54: account type, amount type,
// currency, sign, 12 digits.
const field54EntryLen = 20

// appendDigits appends v (0 <= v < 10^width) as width decimal digits,
// zero-padded on the left (fmt's %0*d, without fmt).
func appendDigits(dst []byte, v int64, width int) []byte {
	dst = append(dst, make([]byte, width)...)
	for i := len(dst) - 1; i >= len(dst)-width; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}
