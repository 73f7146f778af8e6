package ledger

import "testing"

// BenchmarkPINMatches: one PIN check of the gateway's security step, the
// keyed hash of salt, PAN and PIN against the card's verification data.
//
//	go test -run '^$' -bench PINMatches -benchmem ./ledger/
func BenchmarkPINMatches(b *testing.B) {
	s := openSecure(b)
	data, err := s.PINData(testPAN, "1234")
	must(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if !s.PINMatches(testPAN, "1234", data) {
			b.Fatal("the right PIN does not match")
		}
	}
}
