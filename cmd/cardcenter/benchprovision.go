package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/terminal"
)

// The bench's population: one program, a merchant per 32 terminals,
// the terminals and the cards, each card with a large opening balance.
// The host registers them (provisionBench) and the load generator, in
// another process, derives the same lists from the counts.
//
// Provisioning writes through the store's writer like any admin call;
// what makes a million cards take minutes rather than an hour is many
// writes in flight at once (provisionWorkers), which group commit turns
// into few synced batches. The writer's CPU per card (a card record and
// an opening-balance journal entry) is then the limit.

// provisionWorkers submit registrations at once, so that group commit
// batches them.
const provisionWorkers = 512

// benchTerminalsOf are n terminals <prefix>0000000…, 32 to a merchant
// named by mid (merchant 0, 1, …): every bench population's layout.
func benchTerminalsOf(n int, prefix string, mid func(int) string) []terminal.LoadTerminal {
	lts := make([]terminal.LoadTerminal, n)
	for i := range lts {
		lts[i] = terminal.LoadTerminal{TID: fmt.Sprintf("%s%07d", prefix, i), MID: mid(i / 32), Batch: 1}
	}
	return lts
}

// benchCardsOf are n cards of the 6-digit bin, serials from 0, with pin
// ("" for none).
func benchCardsOf(n int, bin, pin string) []terminal.Card {
	cards := make([]terminal.Card, n)
	for i := range cards {
		body := fmt.Sprintf("%s%09d", bin, i)
		cards[i] = terminal.Card{PAN: body + string(cardnum.LuhnDigit(body)), Expiry: "4912", ServiceCode: "101", PIN: pin}
	}
	return cards
}

func benchTerminals(n int) []terminal.LoadTerminal { return benchTerminalsOf(n, "B", benchMID) }

func benchMID(i int) string { return fmt.Sprintf("BENCH%010d", i) }

func benchCards(n int) []terminal.Card { return benchCardsOf(n, "629000", "") }

// provisionBench registers the program, the merchants, the terminals
// and the cards.
func provisionBench(ctx context.Context, st *ledger.Store, nTerm, nCards int, security bool) error {
	if err := st.PutProgram(ctx, benchProgram(security)); err != nil {
		return err
	}
	lts := benchTerminals(nTerm)
	if err := provisionTerminals(ctx, st, lts, "bench"); err != nil {
		return err
	}
	cards := benchCards(nCards)
	return provisionCards(ctx, st, len(cards), func(i int) (ledger.Card, error) {
		return ledger.Card{PAN: cards[i].PAN, ProgramID: "bench", HomeMID: benchMID(0),
			Product: "magstripe", State: ledger.CardActive, Expiry: "4912", MaxBalance: 1_000_000_000,
			Member: ledger.Member{Registered: true}}, nil
	})
}

// provisionTerminals registers the merchants of lts (home merchants of
// program) and then the terminals, many at a time.
func provisionTerminals(ctx context.Context, st *ledger.Store, lts []terminal.LoadTerminal, program string) error {
	var mids []string
	for i, lt := range lts {
		if i == 0 || lt.MID != lts[i-1].MID {
			mids = append(mids, lt.MID)
		}
	}
	err := inParallel(provisionWorkers, len(mids), func(i int) error {
		return st.PutMerchant(ctx, ledger.Merchant{MID: mids[i], ProgramID: program, Home: true, MDRBP: 50})
	})
	if err != nil {
		return err
	}
	return inParallel(provisionWorkers, len(lts), func(i int) error {
		return st.PutTerminal(ctx, ledger.Terminal{TID: lts[i].TID, MID: lts[i].MID, Enabled: true})
	})
}

// provisionCards registers n cards made by card, each with a large
// opening balance, many at a time.
func provisionCards(ctx context.Context, st *ledger.Store, n int, card func(i int) (ledger.Card, error)) error {
	return inParallel(provisionWorkers, n, func(i int) error {
		c, err := card(i)
		if err == nil {
			err = st.PutCard(ctx, c)
		}
		if err == nil {
			_, err = st.Adjust(ctx, c.PAN, 100_000_000, "bench opening balance")
		}
		return err
	})
}

// inParallel calls fn for 0..n-1 from workers goroutines and returns
// the first error (the others still run: a bench that failed is thrown
// away with its store).
func inParallel(workers, n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
