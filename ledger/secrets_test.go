package ledger

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

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

// The pooled, reset HMAC states give what a fresh hmac.New gives, for
// many PANs and PINs, from several goroutines at once (run it with
// -race); the pool's states hold nothing of the last PIN; a wrong PIN, a
// wrong PAN and truncated or lengthened data never match.
func TestPINHasherMatchesFreshHMAC(t *testing.T) {
	s := openSecure(t)
	fresh := func(salt []byte, pan, pin string) []byte {
		m := hmac.New(sha256.New, s.pvk)
		m.Write(salt)
		m.Write([]byte{byte(len(pan))})
		m.Write([]byte(pan))
		m.Write([]byte(pin))
		return m.Sum(append([]byte(nil), salt...))
	}
	const workers, perWorker = 4, 200
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				pan := fmt.Sprintf("62%0*d", 11+(w+i)%7, w*perWorker+i) // 13 to 19 digits
				pin := fmt.Sprintf("%0*d", 4+i%9, i*7919%1_000_000_000) // 4 to 12 digits
				data, err := s.PINData(pan, pin)
				if err != nil {
					errs <- err.Error()
					return
				}
				switch {
				case !bytes.Equal(data, fresh(data[:pinSaltLen], pan, pin)):
					errs <- "PIN data differs from a fresh HMAC's"
				case !s.PINMatches(pan, pin, data):
					errs <- "the right PIN does not match"
				case s.PINMatches(pan, pin+"0", data), s.PINMatches(pan, pin[:len(pin)-1]+"x", data):
					errs <- "a wrong PIN matches"
				case s.PINMatches(pan[:len(pan)-1]+string('0'+(pan[len(pan)-1]-'0'+1)%10), pin, data):
					errs <- "the PIN matches under another PAN"
				case s.PINMatches(pan, pin, data[:PINDataLen-1]), s.PINMatches(pan, pin, append(data, 0)):
					errs <- "truncated or lengthened data matches"
				default:
					continue
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// Beyond the room pinHasher keeps for the message: still the same hash.
	long := "62100000000000000000000000000000011"
	if data, err := s.PINData(long, long); err != nil || !bytes.Equal(data, fresh(data[:pinSaltLen], long, long)) || !s.PINMatches(long, long, data) {
		t.Errorf("an overlong PAN and PIN: %v", err)
	}
	h := s.pinHashers.Get().(*pinHasher)
	if h.msg != [len(h.msg)]byte{} || h.out != [len(h.out)]byte{} {
		t.Error("a pooled pinHasher holds the last PIN or its hash")
	}
}
