package gateway

import (
	"testing"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/ledger"
)

// BenchmarkSecurityStep: the host's contract section 7 work on one
// purchase with MAC and PIN, as the bench's security run sends it, on a
// real store with warm caches: the request's MAC verified, its PIN block
// decrypted and matched against the card's PIN data (prepare), and the
// response MACed (seal). Unpacking, the ledger's decision and packing
// are the purchase's own costs and are not in it.
//
//	go test -run '^$' -bench SecurityStep -benchmem ./gateway/
func BenchmarkSecurityStep(b *testing.B) {
	st, _ := openFixtureStore(b)
	sec := newSecurity(st)
	keys := secSignOn(b, sec, st)
	pk, _ := wire.NewPackager("ascii")

	pinny, _ := cardByName("pinny")
	block, err := cardcrypto.EncryptPINBlock(keys.TPK, securePIN, pinny.pan)
	if err != nil {
		b.Fatal(err)
	}
	m := wire.NewMessage("0200").Set(3, "000000").Set(4, "000000012500").Set(7, "1123100000").
		Set(11, "000002").Set(22, "021").Set(25, "00").Set(35, pinny.pan+"="+pinny.expiry+"1010000").
		Set(41, keyedTID).Set(42, "MALL00000000001").Set(49, "156").Set(52, string(block)).Set(60, "000001")
	wire.SetMACPlaceholder(m)
	raw, err := pk.Pack(m)
	if err != nil {
		b.Fatal(err)
	}
	data, mac := macData(raw)
	want, _ := cardcrypto.RetailMAC(keys.TAK, data)
	copy(mac, want)
	req, err := pk.Unpack(raw)
	if err != nil {
		b.Fatal(err)
	}
	r, err := toRequest(req)
	if err != nil || r.Invalid != nil {
		b.Fatal(err, r.Invalid)
	}
	resp := append([]byte(nil), raw...) // a response's size, about
	b.ReportAllocs()
	for b.Loop() {
		r.Security = ledger.Security{}
		sec.prepare(req, raw, r)
		if r.Security.MAC != ledger.MACValid || r.Security.PIN != ledger.PINCorrect {
			b.Fatalf("verdicts: MAC %v, PIN %v", r.Security.MAC, r.Security.PIN)
		}
		if err := sec.seal(keyedTID, r.Security.KeyGen, resp); err != nil {
			b.Fatal(err)
		}
	}
}
