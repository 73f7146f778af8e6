package main

import (
	"fmt"
	"slices"

	"github.com/cardcenter/cardcenter/terminal"
)

// The scale comparison (more than 10,000 cards or 256 terminals): each
// purchase run over the whole population follows the same run over its
// first 10,000 cards and 256 terminals, on the same host, and their
// ratio is printed. Right after provisioning, a run over a million
// cards is almost all first touches: the host reads each card's record,
// accounts and day counter from Pebble the first time it sees the card,
// and keeps them (the bench host's hot_cards is the population), while
// the subset is warm after its first seconds. So the pairs are made
// twice: cold, as provisioned (what a host sees after a restart), and,
// after a warm-up pass that makes one purchase with every card of the
// population (untimed as a comparison; its report is printed), warm
// (the steady state, the fair comparison).

// Defaults of the comparison a large population is held against: the
// standard bench's population.
const (
	benchSmallCards     = 10_000
	benchSmallTerminals = 256
)

// scalePair runs cfg's subset, then cfg over the whole population, and
// keeps their ratio under "scale" (phase "cold") or "scale-warm". It
// returns the population's run.
func (b *benchRun) scalePair(k int, cfg terminal.LoadConfig, lts []terminal.LoadTerminal, cards []terminal.Card, phase string) (terminal.LoadReport, error) {
	sc := cfg
	sc.Terminals, sc.Cards = lts[:min(len(lts), benchSmallTerminals)], cards[:min(len(cards), benchSmallCards)]
	sc.Connections = min(cfg.Connections, len(sc.Terminals))
	name := fmt.Sprintf("%s, %d cards and %d terminals of the population, %d in flight per connection", b.o.mix, len(sc.Cards), len(sc.Terminals), k)
	key := "scale"
	if phase == "warm" {
		name += ", warm"
		key = "scale-warm"
	}
	small, err := b.run(name, sc)
	if err != nil {
		return small, err
	}
	name = fmt.Sprintf("%s, %d cards and %d terminals, %d in flight per connection, %s", b.o.mix, b.o.cards, b.o.terminals, k, phase)
	rep, err := b.run(name, cfg)
	if err != nil {
		return rep, err
	}
	r := terminal.ThroughputRatio(rep, small)
	fmt.Fprintf(b.out, "ratio        %.2f × the run over %d cards and %d terminals (%s)\n", r, len(sc.Cards), len(sc.Terminals), phase)
	b.ratios[key] = append(b.ratios[key], formatRatios([]float64{r}, k))
	return rep, nil
}

// warmScale makes one purchase with every card of the population, in
// turn, then the pairs again, warm.
func (b *benchRun) warmScale(base terminal.LoadConfig, lts []terminal.LoadTerminal, cards []terminal.Card) error {
	warm := base
	warm.Mix, warm.Sweep = terminal.Mix{Purchase: 1}, true
	warm.Requests, warm.Duration = int64(len(cards)), 0
	warm.InFlight = slices.Max(b.o.inFlight)
	name := fmt.Sprintf("warm-up: one purchase with each of the %d cards, %d in flight per connection", len(cards), warm.InFlight)
	rep, err := b.run(name, warm)
	if err != nil {
		return err
	}
	if rep.Approved != int64(len(cards)) {
		return fmt.Errorf("warm-up: %d of %d purchases approved (%d errors: %v): the population is not warm", rep.Approved, len(cards), rep.Errors, rep.ErrorSample)
	}
	for _, k := range b.o.inFlight {
		cfg := base
		cfg.InFlight = k
		rep, err := b.scalePair(k, cfg, lts, cards, "warm")
		if err != nil {
			return err
		}
		b.maxPurchase = max(b.maxPurchase, rep.Throughput)
	}
	return nil
}
