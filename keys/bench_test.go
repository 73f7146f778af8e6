package keys

import "testing"

// benchSealOpen measures one seal and one open of a 32-byte secret (a
// double-length key with its check value, about what the store keeps).
func benchSealOpen(b *testing.B, k KEK) {
	secret := make([]byte, 32)
	aad := []byte("tmk/T0000101")
	sealed, err := k.Seal(secret, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Seal", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Seal(secret, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Open(sealed, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("OpenParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := k.Open(sealed, aad); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkSoftware(b *testing.B) { benchSealOpen(b, mustEphemeral(b)) }
