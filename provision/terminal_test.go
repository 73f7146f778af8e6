package provision

import (
	"context"
	"strings"
	"testing"
)

// TestTerminalLoyaltyInfo: the terminal key loyalty_info (default false)
// reaches the store's terminal record, and a value other than true or
// false is refused, naming the key.
func TestTerminalLoyaltyInfo(t *testing.T) {
	const file = `
programs:
  - {id: p1, currency: "156"}
merchants:
  - {mid: MALL00000000001, program_id: p1}
terminals:
  - {tid: T0000101, mid: MALL00000000001, loyalty_info: true}
  - {tid: T0000102, mid: MALL00000000001}
`
	f, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close()
	if _, err := Apply(ctx, s, f); err != nil {
		t.Fatal(err)
	}
	for tid, want := range map[string]bool{"T0000101": true, "T0000102": false} {
		term, _, err := s.Terminal(tid)
		if err != nil {
			t.Fatal(err)
		}
		if term.LoyaltyInfo != want {
			t.Errorf("%s: loyalty_info %v, want %v", tid, term.LoyaltyInfo, want)
		}
	}

	_, err = Parse([]byte(strings.Replace(file, "loyalty_info: true", "loyalty_info: yes", 1)))
	if err == nil || !strings.Contains(err.Error(), `terminals[0].loyalty_info: "yes": want true or false`) {
		t.Fatalf("loyalty_info: yes: %v", err)
	}
}
