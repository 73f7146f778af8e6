package ledger

import (
	"context"
	"errors"
	"testing"
)

// A UID maps to one card: a second card is refused and changes nothing;
// malformed UIDs and unknown cards are refused naming the value.
func TestCardUID(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := testPAN, "6210000000000029"
	must(t, s.PutCard(ctx, testCard(b)))
	if err := s.PutCardUID(ctx, "04A1B2C3D4E5F6", a); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCardUID(ctx, "04A1B2C3D4E5F6", a); err != nil {
		t.Fatalf("same mapping again: %v", err)
	}
	err := s.PutCardUID(ctx, "04A1B2C3D4E5F6", b)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("UID on a second card: %v", err)
	}
	c, err := s.CardByUID("04A1B2C3D4E5F6")
	if err != nil || c.PAN != a {
		t.Fatalf("after the refused change: %v", err)
	}
	for _, bad := range []string{"04a1b2c3", "04A1B2", "04A1B2C3D4E5F6AA", "ZZZZZZZZ"} {
		if err := s.PutCardUID(ctx, bad, a); !errors.Is(err, ErrBadUID) {
			t.Errorf("uid %q: %v", bad, err)
		}
	}
	if err := s.PutCardUID(ctx, "01020304", "6210000000009999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown card: %v", err)
	}
	if _, err := s.CardByUID("01020304"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unmapped UID: %v", err)
	}
}
