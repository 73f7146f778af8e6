package ledger

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestAnswersKeepTheirBalances: purchases decided one after another in
// the same groups, with the writer's scratch reused from op to op
// (opScratch.accounts, op.balances), each answer keeps the balances its
// own decision left, whatever the writer decides after it, and the
// declines among them keep theirs too.
func TestAnswersKeepTheirBalances(t *testing.T) {
	s, _ := openTest(t)
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	const n = 40
	results := make([]Result, n)
	var wg sync.WaitGroup
	for i := range n {
		amount := Amount(100)
		if i%5 == 4 {
			amount = 1_000_000 // declined 51, with the balances as they stood
		}
		wg.Add(1)
		r := req(KindPurchase, "0200", fmt.Sprintf("%06d", i+2), amount)
		if err := s.Submit(context.Background(), r, func(res Result) {
			results[i] = res
			wg.Done()
		}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	ledgers := make([]Amount, 0, n)
	want := Amount(10000)
	for i, res := range results {
		if res.Balances == nil {
			t.Fatalf("purchase %d: no balances (%v)", i, res.Err)
		}
		if i%5 != 4 {
			if res.Err != nil {
				t.Fatalf("purchase %d: %v", i, res.Err)
			}
			want -= 100
		} else if res.Err == nil {
			t.Fatalf("purchase %d of 1,000,000 approved", i)
		}
		if res.Balances.Ledger != want || res.Balances.Available != want {
			t.Fatalf("purchase %d: balances %+v, want ledger and available %d", i, *res.Balances, want)
		}
		ledgers = append(ledgers, res.Balances.Ledger)
	}
	// Each approval's balances are its own object: none points at another's.
	for i := range results {
		for j := i + 1; j < n; j++ {
			if results[i].Balances == results[j].Balances {
				t.Fatalf("purchases %d and %d share one Balances", i, j)
			}
		}
	}
	if !slices.IsSortedFunc(ledgers, func(a, b Amount) int { return int(b - a) }) {
		t.Fatalf("ledger balances not in decision order: %v", ledgers)
	}
}

// TestScratchMembershipStartsEmpty: the writer decodes every request's
// membership into one scratch (opScratch.membership); a card with no
// membership yet, decided right after a card that has one, starts from
// none: its spend, visits and tier are its own purchase's alone.
func TestScratchMembershipStartsEmpty(t *testing.T) {
	s, _ := openTiers(t)
	ctx := context.Background()
	second := testPANs("62100000000009%02d", 1)[0]
	must(t, s.PutCard(ctx, testCard(second)))
	if _, err := s.Adjust(ctx, second, 10000, "opening"); err != nil {
		t.Fatal(err)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000002", 500000)); res.Err != nil || res.Tier == nil || res.Tier.Index == 0 {
		t.Fatalf("the first card's upgrade: %+v", res)
	}
	res := do(t, s, req(KindPurchase, "0200", "000003", 1000, func(r *Request) { r.PAN = second }))
	if res.Err != nil || res.Tier == nil || res.Tier.Index != 0 {
		t.Fatalf("the second card's first purchase: %v, tier %+v", res.Err, res.Tier)
	}
	v, err := s.Member(second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.LifetimeSpend != 1000 || v.WindowSpend != 1000 || v.LifetimeVisits != 1 || v.Tier != 0 || len(v.TierHistory) != 0 {
		t.Fatalf("the second card's membership holds another's: %+v", v)
	}
}

// TestCloseAnswersEveryRequest: requests submitted just before Close are
// each answered exactly once, approved and durable, before Close
// returns, in the order they were decided: the releaser (runReleaser)
// answers the last groups after the writer has stopped retiring them.
func TestCloseAnswersEveryRequest(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTestIn(t, dir, Options{})
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	const n = 60
	var mu sync.Mutex
	var answered []Amount
	calls := 0
	for i := range n {
		r := req(KindPurchase, "0200", fmt.Sprintf("%06d", i+2), 100)
		if err := s.Submit(context.Background(), r, func(res Result) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if res.Err == nil {
				answered = append(answered, res.Balances.Ledger)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.Close())
	mu.Lock()
	defer mu.Unlock()
	if calls != n || len(answered) != n {
		t.Fatalf("%d answers, %d approved, for %d requests", calls, len(answered), n)
	}
	for i, l := range answered {
		if want := Amount(10000 - 100*(i+1)); l != want {
			t.Fatalf("answer %d: ledger %d, want %d (answers in decision order)", i, l, want)
		}
	}
	s2, _ := openTestIn(t, dir, Options{})
	b, err := s2.CardBalances(testPAN)
	if err != nil {
		t.Fatal(err)
	}
	// openTestIn credits the card its opening 10,000 again.
	if want := Amount(20000 - 100*n); b.Ledger != want {
		t.Fatalf("after reopening: ledger %d, want %d", b.Ledger, want)
	}
}
