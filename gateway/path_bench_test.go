package gateway

import (
	"testing"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// BenchmarkRequestPath: the gateway's own CPU work on one purchase, from
// the packed request to the packed response, without the network and
// the ledger (their costs are the bench's): unpack, validate and build
// the ledger request (with its fingerprint), build and pack the answer
// of an approval with balances; the messages come from and go back to
// msgPool, as on a connection.
//
//	go test -run '^$' -bench RequestPath -benchmem ./gateway/
func BenchmarkRequestPath(b *testing.B) {
	for _, name := range wire.Packagers {
		b.Run(name, func(b *testing.B) {
			pk, err := wire.NewPackager(name)
			if err != nil {
				b.Fatal(err)
			}
			raw, err := pk.Pack(purchase("T0000101", "000042", 1250))
			if err != nil {
				b.Fatal(err)
			}
			res := ledger.Result{RRN: "000000004242", AuthCode: "004242", Stored: true,
				Balances: &ledger.Balances{Ledger: 97500, Available: 97500, Points: 1200}}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				req := getMessage()
				if err := pk.UnpackInto(raw, req); err != nil {
					b.Fatal(err)
				}
				lreq, err := toRequest(req)
				if err != nil || lreq.Invalid != nil {
					b.Fatal(err, lreq.Invalid)
				}
				resp := buildResponse(req, res)
				if _, err := pk.Pack(resp); err != nil {
					b.Fatal(err)
				}
				putMessage(req)
				putMessage(resp)
			}
		})
	}
}
