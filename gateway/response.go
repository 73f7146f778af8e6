package gateway

import (
	"fmt"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// echoedFields are copied from a request into its response when present
// (terminal-protocol.md section 3).
var echoedFields = [...]int{3, 4, 7, 11, 41, 42, 49, 60, 70}

// buildResponse renders the response to req from the ledger's result. It
// is a pure function of the two, so a retransmission, answered from the
// stored result, renders byte-equal.
func buildResponse(req *wire.Message, res ledger.Result) *wire.Message {
	rc := ResponseCode(res.Err)
	out := wire.NewMessage(ResponseMTI(req.MTI))
	for _, n := range echoedFields {
		if v, ok := req.Fields[n]; ok {
			out.Fields[n] = v
		}
	}
	out.Fields[39] = rc
	first := repeatOf(req.MTI)
	carriesResult := first == "0100" || first == "0200" || first == "0220"
	if carriesResult && rc == "00" {
		if res.RRN != "" {
			out.Fields[37] = res.RRN
			out.Fields[38] = res.AuthCode
		}
		if res.Balances != nil {
			out.Fields[54] = formatBalances(res.Balances)
		}
	}
	// A sign-on's or key change's working keys, under the TMK.
	if rc == "00" && res.Field62 != nil {
		out.Fields[62] = string(res.Field62)
	}
	// A 51, whatever the request, shows the balances that fell short.
	if rc == "51" && res.Balances != nil {
		out.Fields[54] = formatBalances(res.Balances)
	}
	return out
}

// formatBalances renders field 54 (section 4): 20-character entries,
// 00 01 and 00 02 and 90 02 always, 90 90 and 90 91 when not zero.
func formatBalances(b *ledger.Balances) string {
	buf := make([]byte, 0, 100)
	buf = appendBalance(buf, "0001156", int64(b.Ledger))
	buf = appendBalance(buf, "0002156", int64(b.Available))
	buf = appendBalance(buf, "9002999", int64(b.Points))
	if b.Earned != 0 {
		buf = appendBalance(buf, "9090999", int64(b.Earned))
	}
	if b.Debited != 0 {
		buf = append(buf, "9091999D"...)
		buf = fmt.Appendf(buf, "%012d", abs(int64(b.Debited)))
	}
	return string(buf)
}

func appendBalance(buf []byte, head string, v int64) []byte {
	buf = append(buf, head...)
	if v < 0 {
		buf = append(buf, 'D')
	} else {
		buf = append(buf, 'C')
	}
	return fmt.Appendf(buf, "%012d", abs(v))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
