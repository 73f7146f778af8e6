package ledger

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDayCounterRollsOver: a card's daily count limit counts its
// business date only. Its day counter is one part of its record, not a
// key a day: the next date's first debit starts a new count in its
// place, and a clock set back to the earlier date goes on counting the
// later date's (the limits never let more through).
func TestDayCounterRollsOver(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()
	c, err := s.Card(testPAN)
	must(t, err)
	c.DailyCountLimit = 1
	must(t, s.PutCard(ctx, *c))
	if res := do(t, s, req(KindSignOn, "0800", "000001", 0)); res.Err != nil {
		t.Fatal(res.Err)
	}
	purchase := func(stan string) error { return do(t, s, req(KindPurchase, "0200", stan, 100)).Err }
	if err := purchase("000002"); err != nil {
		t.Fatal(err)
	}
	if err := purchase("000003"); !errors.Is(err, ErrCountLimit) {
		t.Fatalf("second purchase of the day: %v, want ErrCountLimit", err)
	}
	day := func() CardDay {
		v, err := s.dbGet(keyCardDay(testPAN))
		must(t, err)
		var d CardDay
		must(t, d.decode(v))
		return d
	}
	first := day()
	if want := (CardDay{Date: s.businessDate(clk.now()), Count: 1, Amount: 100}); first != want {
		t.Fatalf("day counter %+v, want %+v", first, want)
	}
	clk.t = clk.t.Add(24 * time.Hour)
	if err := purchase("000004"); err != nil {
		t.Fatalf("next day's purchase: %v", err)
	}
	if d := day(); d.Date <= first.Date || d.Count != 1 || d.Amount != 100 {
		t.Fatalf("next day's counter %+v", d)
	}
	clk.t = clk.t.Add(-24 * time.Hour)
	if err := purchase("000005"); !errors.Is(err, ErrCountLimit) {
		t.Fatalf("purchase with the clock set back: %v, want ErrCountLimit", err)
	}
	if n := countKeys(t, s.DB(), prefixCardDay); n != 0 {
		t.Fatalf("%d cday/ keys stored", n)
	}
	checkOK(t, s)
}
