package ledger

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/loyalty"
)

var mallOp = Operator{Name: "alice", Reason: "member asked"}

// openMall is openTest with loyalty rules on p1 and a reward "mug" of
// 40 points with the given stock.
func openMall(t *testing.T, stock int64) (*Store, *fixedClock) {
	t.Helper()
	s, clk := openTest(t)
	ctx := context.Background()
	setLots(t, s, 60)
	must(t, s.PutReward(ctx, Reward{ID: "mug", ProgramID: "p1", Name: "Mug", Price: 40, Stock: stock, Active: true}, mallOp))
	return s, clk
}

// setLots gives p1 rules whose lots expire days after earning.
func setLots(t *testing.T, s *Store, days int) {
	t.Helper()
	rules := &loyalty.Rules{EarnRateBP: 10000, Lots: loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: days}}
	must(t, s.PutProgram(context.Background(), Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 1, Loyalty: rules}))
}

func storedWallet(t *testing.T, s *Store, pan string) walletRecord {
	t.Helper()
	cl, err := readCardLoyalty(s.dbGet, pan)
	must(t, err)
	return cl.Wallet
}

func pointsOf(t *testing.T, s *Store, pan string) Points {
	t.Helper()
	b, err := s.CardBalances(pan)
	must(t, err)
	return b.Points
}

func stockOf(t *testing.T, s *Store) int64 {
	t.Helper()
	r, err := s.Reward("p1", "mug")
	must(t, err)
	return r.Stock
}

// TestMallOrderSpendsLotsAndCancelGivesBack: an order spends the lot
// that expires soonest first (here the later-earned one, under shorter
// rules), posts pt → prd, takes the stock; cancelling gives each lot
// back exactly what it gave and restores the stock, and the checker
// agrees at every step.
func TestMallOrderSpendsLotsAndCancelGivesBack(t *testing.T) {
	s, clk := openMall(t, 3)
	ctx := context.Background()
	if _, err := s.AdjustPoints(ctx, testPAN, 100, "lot A, 60 days"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(24 * time.Hour)
	setLots(t, s, 10)
	if _, err := s.AdjustPoints(ctx, testPAN, 30, "lot B, 10 days"); err != nil {
		t.Fatal(err)
	}
	before := storedWallet(t, s, testPAN)
	if len(before.Lots) != 2 || before.Lots[0].Points != 30 {
		t.Fatalf("lots %+v: want B (30, sooner) first", before.Lots)
	}
	o, err := s.PlaceOrder(ctx, testPAN, "p1", "mug", 2, mallOp)
	if err != nil {
		t.Fatal(err)
	}
	if o.Points != 80 || o.Status != OrderPlaced || stockOf(t, s) != 1 || pointsOf(t, s, testPAN) != 50 {
		t.Fatalf("order %+v, stock %d, points %d: want 80 points placed, stock 1, 50 left", o, stockOf(t, s), pointsOf(t, s, testPAN))
	}
	txn, err := s.TxnByRRN(FormatRRN(o.Seq))
	must(t, err)
	bSeq, aSeq := before.Lots[0].Seq, before.Lots[1].Seq
	if len(txn.PointUses) != 2 || txn.PointUses[0].Seq != bSeq || txn.PointUses[0].Points != 30 ||
		txn.PointUses[1].Seq != aSeq || txn.PointUses[1].Points != 50 || txn.Kind != KindMallOrder || txn.TID != "" {
		t.Fatalf("entry %+v: want 30 from lot B then 50 from lot A, no terminal", txn)
	}
	if tr := txn.Transfers[0]; tr.Debit != accountPoints(testPAN) || tr.Credit != accountPointsRedeemed("p1") || tr.Posted != 80 {
		t.Fatalf("transfer %+v: want pt → prd 80", tr)
	}
	checkOK(t, s)

	if _, err := s.SetOrderStatus(ctx, o.Seq, OrderShipped, mallOp); err != nil {
		t.Fatal(err)
	}
	got, err := s.SetOrderStatus(ctx, o.Seq, OrderCancelled, Operator{Name: "bob", Reason: "lost in the post"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != OrderCancelled || got.CancelSeq == 0 || len(got.History) != 3 || got.History[2].Operator != "bob" {
		t.Fatalf("order %+v: want cancelled with three events", got)
	}
	after := storedWallet(t, s, testPAN)
	if !reflect.DeepEqual(after.Lots, before.Lots) || after.Debt != before.Debt {
		t.Fatalf("lots after cancel %+v: want exactly %+v", after.Lots, before.Lots)
	}
	if stockOf(t, s) != 3 || pointsOf(t, s, testPAN) != 130 {
		t.Fatalf("stock %d, points %d: want 3 and 130 back", stockOf(t, s), pointsOf(t, s, testPAN))
	}
	checkOK(t, s)
	stored, err := s.Order(o.Seq)
	must(t, err)
	if !reflect.DeepEqual(stored, got) {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	list, err := s.CardOrders(testPAN, 0)
	must(t, err)
	if len(list) != 1 || list[0].Seq != o.Seq {
		t.Fatalf("card orders %+v: want the one order", list)
	}
	recs, err := s.AuditLog(0, 0)
	must(t, err)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
		if r.Target == testPAN {
			t.Fatalf("audit record %+v names the clear PAN", r)
		}
	}
	want := []string{"mall_reward_put", "mall_order_place", "mall_order_status", "mall_order_status"}
	if !reflect.DeepEqual(actions, want) {
		t.Fatalf("audit actions %q: want %q", actions, want)
	}
}

// TestMallOrderTransitions: the status machine; an illegal move is
// refused with ErrConflict and changes nothing.
func TestMallOrderTransitions(t *testing.T) {
	s, _ := openMall(t, 5)
	ctx := context.Background()
	if _, err := s.AdjustPoints(ctx, testPAN, 200, "points"); err != nil {
		t.Fatal(err)
	}
	o, err := s.PlaceOrder(ctx, testPAN, "p1", "mug", 1, mallOp)
	must(t, err)
	for _, st := range []OrderStatus{OrderDelivered, OrderPlaced} {
		if _, err := s.SetOrderStatus(ctx, o.Seq, st, mallOp); !errors.Is(err, ErrConflict) {
			t.Fatalf("placed → %s: %v, want ErrConflict", st, err)
		}
	}
	for _, st := range []OrderStatus{OrderShipped, OrderDelivered} {
		_, err := s.SetOrderStatus(ctx, o.Seq, st, mallOp)
		must(t, err)
	}
	before, _ := s.Order(o.Seq)
	for _, st := range []OrderStatus{OrderCancelled, OrderShipped} {
		if _, err := s.SetOrderStatus(ctx, o.Seq, st, mallOp); !errors.Is(err, ErrConflict) {
			t.Fatalf("delivered → %s: %v, want ErrConflict", st, err)
		}
	}
	if _, err := s.SetOrderStatus(ctx, o.Seq, "lost", mallOp); err == nil {
		t.Fatal("status lost accepted")
	}
	if _, err := s.SetOrderStatus(ctx, o.Seq+100, OrderShipped, mallOp); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	if _, err := s.SetOrderStatus(ctx, o.Seq, OrderShipped, Operator{Name: "alice"}); !errors.Is(err, ErrNoOperator) {
		t.Fatalf("no reason: %v", err)
	}
	after, _ := s.Order(o.Seq)
	if !reflect.DeepEqual(before, after) || stockOf(t, s) != 4 || pointsOf(t, s, testPAN) != 160 {
		t.Fatalf("refused moves changed the order %+v → %+v, stock %d, points %d", before, after, stockOf(t, s), pointsOf(t, s, testPAN))
	}
	checkOK(t, s)
}

// TestMallOrderRefusals: every refused order names why and changes
// nothing: no journal entry, no audit record, same stock, points, wallet.
func TestMallOrderRefusals(t *testing.T) {
	s, _ := openMall(t, 2)
	ctx := context.Background()
	if _, err := s.AdjustPoints(ctx, testPAN, 50, "points"); err != nil {
		t.Fatal(err)
	}
	must(t, s.PutReward(ctx, Reward{ID: "old", ProgramID: "p1", Name: "Old", Price: 1, Stock: 9, Active: false}, mallOp))
	must(t, s.PutProgram(ctx, Program{ID: "p2", Currency: "156"}))
	snapshot := func() string {
		h, err := s.CardHistory(testPAN, 0)
		must(t, err)
		a, err := s.AuditLog(0, 0)
		must(t, err)
		return fmt.Sprintf("%d %d %d %d %+v", len(h), len(a), stockOf(t, s), pointsOf(t, s, testPAN), storedWallet(t, s, testPAN))
	}
	before := snapshot()
	for _, tc := range []struct {
		name    string
		program string
		reward  string
		qty     int64
		op      Operator
		want    error
	}{
		{"insufficient points", "p1", "mug", 2, mallOp, ErrInsufficientPoints},
		{"out of stock", "p1", "mug", 3, mallOp, ErrOutOfStock},
		{"inactive reward", "p1", "old", 1, mallOp, ErrNotAllowed},
		{"unknown reward", "p1", "nope", 1, mallOp, ErrNotFound},
		{"other program", "p2", "mug", 1, mallOp, ErrNotAllowed},
		{"zero qty", "p1", "mug", 0, mallOp, ErrBadAmount},
		{"no operator", "p1", "mug", 1, Operator{}, ErrNoOperator},
	} {
		_, err := s.PlaceOrder(ctx, testPAN, tc.program, tc.reward, tc.qty, tc.op)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && containsPAN(err.Error()) {
			t.Errorf("%s: error %q shows the clear PAN", tc.name, err)
		}
	}
	if !errors.Is(ErrInsufficientPoints, ErrInsufficientFunds) {
		t.Fatal("insufficient points must be an insufficient-funds error")
	}
	must(t, s.SetCardState(ctx, testPAN, CardFrozen, mallOp))
	before = snapshot()
	if _, err := s.PlaceOrder(ctx, testPAN, "p1", "mug", 1, mallOp); !errors.Is(err, ErrCardNotActive) {
		t.Fatalf("frozen card: %v", err)
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused orders changed the store:\n%s\n%s", before, after)
	}
	checkOK(t, s)
}

func containsPAN(s string) bool {
	for i := 0; i+len(testPAN) <= len(s); i++ {
		if s[i:i+len(testPAN)] == testPAN {
			return true
		}
	}
	return false
}

// TestMallConcurrentLastItems: N cards order the last K items at once:
// exactly K orders succeed, the rest are out of stock, the stock ends at
// 0 and the points are conserved.
func TestMallConcurrentLastItems(t *testing.T) {
	const n, k = 24, 5
	s, _ := openMall(t, k)
	ctx := context.Background()
	pans := testPANs("62100000010%04d", n)
	for _, pan := range pans {
		must(t, s.PutCard(ctx, testCard(pan)))
		if _, err := s.AdjustPoints(ctx, pan, 100, "points"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range pans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.PlaceOrder(ctx, pans[i], "p1", "mug", 1, mallOp)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	var spent Points
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			spent += 100 - pointsOf(t, s, pans[i])
		case errors.Is(err, ErrOutOfStock):
			if p := pointsOf(t, s, pans[i]); p != 100 {
				t.Errorf("refused card %d has %d points, want 100", i, p)
			}
		default:
			t.Errorf("card %d: %v", i, err)
		}
	}
	if ok != k || stockOf(t, s) != 0 || spent != k*40 {
		t.Fatalf("%d orders succeeded, stock %d, %d points spent: want %d, 0, %d", ok, stockOf(t, s), spent, k, k*40)
	}
	checkOK(t, s)
}

// TestCheckMallCorruption: the checker notices an order that does not
// match its journal entries and a reward with a negative stock.
func TestCheckMallCorruption(t *testing.T) {
	s, _ := openMall(t, 3)
	ctx := context.Background()
	if _, err := s.AdjustPoints(ctx, testPAN, 100, "points"); err != nil {
		t.Fatal(err)
	}
	o, err := s.PlaceOrder(ctx, testPAN, "p1", "mug", 1, mallOp)
	must(t, err)
	checkOK(t, s)
	for _, tc := range []struct {
		name string
		key  string
		v    any
		want string
	}{
		{"order points differ", keyOrder(o.Seq), func() Order { c := *o; c.Points = 41; return c }(), "placement entry is missing or does not match"},
		{"cancelled without its entry", keyOrder(o.Seq), func() Order { c := *o; c.Status = OrderCancelled; return c }(), "cancellation entry 0 is missing"},
		{"negative stock", keyReward("p1", "mug"), Reward{ID: "mug", ProgramID: "p1", Name: "Mug", Price: 40, Stock: -1, Active: true}, "stock -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must(t, putRaw(s, tc.key, tc.v))
			rep, err := s.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("problems %q: want one with %q", rep.Problems, tc.want)
			}
		})
		must(t, putRaw(s, keyOrder(o.Seq), o))
		must(t, putRaw(s, keyReward("p1", "mug"), Reward{ID: "mug", ProgramID: "p1", Name: "Mug", Price: 40, Stock: 2, Active: true}))
	}
	checkOK(t, s)
}

// TestMallRestock: a restock adds to the stock as it stands (after the
// orders since the operator read it), audited with before and after; a
// write-off takes away; a result outside 0..MaxRewardStock, a zero or
// oversized count, an unknown reward and a missing operator are
// refused, naming the values, and change nothing.
func TestMallRestock(t *testing.T) {
	s, _ := openMall(t, 3)
	ctx := context.Background()
	if _, err := s.AdjustPoints(ctx, testPAN, 200, "points"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlaceOrder(ctx, testPAN, "p1", "mug", 2, mallOp); err != nil { // read 3, then 2 ordered
		t.Fatal(err)
	}
	rw, err := s.RestockReward(ctx, "p1", "mug", 10, Operator{Name: "bob", Reason: "delivery 17"})
	if err != nil || rw.Stock != 11 || stockOf(t, s) != 11 || rw.Price != 40 || !rw.Active {
		t.Fatalf("restock +10 after 2 of 3 ordered: %+v %v, stored %d: want 11", rw, err, stockOf(t, s))
	}
	if rw, err = s.RestockReward(ctx, "p1", "mug", -4, Operator{Name: "bob", Reason: "four broken"}); err != nil || rw.Stock != 7 {
		t.Fatalf("write-off -4: %+v %v: want 7", rw, err)
	}
	recs, err := s.AuditLog(0, 0)
	must(t, err)
	last := recs[len(recs)-1]
	if last.Action != "mall_reward_restock" || last.Target != "p1/mug" || last.Detail != "stock 11 -> 7 (-4)" || last.Operator != "bob" || last.Reason != "four broken" {
		t.Fatalf("audit record %+v", last)
	}
	checkOK(t, s)
	snapshot := func() string {
		a, err := s.AuditLog(0, 0)
		must(t, err)
		return fmt.Sprintf("%d %d", len(a), stockOf(t, s))
	}
	before := snapshot()
	for _, tc := range []struct {
		name    string
		program string
		reward  string
		add     int64
		op      Operator
		want    error
		text    string
	}{
		{"below zero", "p1", "mug", -8, mallOp, ErrStockOutOfRange, "add -8 to stock 7 makes -1: want 0..1000000000"},
		{"beyond the maximum", "p1", "mug", MaxRewardStock - 6, mallOp, ErrStockOutOfRange, "add 999999994 to stock 7 makes 1000000001"},
		{"zero", "p1", "mug", 0, mallOp, ErrBadAmount, "add 0: want a nonzero count"},
		{"oversized", "p1", "mug", MaxRewardStock + 1, mallOp, ErrBadAmount, "add 1000000001"},
		{"oversized down", "p1", "mug", -MaxRewardStock - 1, mallOp, ErrBadAmount, "add -1000000001"},
		{"unknown reward", "p1", "nope", 1, mallOp, ErrNotFound, "reward p1/nope"},
		{"other program", "p2", "mug", 1, mallOp, ErrNotFound, "reward p2/mug"},
		{"bad reward id", "p1", "a/b", 1, mallOp, ErrNotFound, `reward "a/b"`},
		{"no operator", "p1", "mug", 1, Operator{}, ErrNoOperator, ""},
	} {
		_, err := s.RestockReward(ctx, tc.program, tc.reward, tc.add, tc.op)
		if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.text) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.want, tc.text)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("refused restocks changed the store: %s, then %s", before, after)
	}
	checkOK(t, s)
}

// TestMallConcurrentOrdersAndRestocks: orders, restocks and write-offs
// of one reward at once, while a reader watches the stock: it is never
// negative, and ends at the initial stock − ordered + restocked −
// written off, counting only the changes that succeeded; the refused
// ones (out of stock, a write-off beyond the stock) changed nothing.
//
// Which of them succeed depends on the order the writer receives them
// in (one write-off first can leave every order out of stock), so a
// round that did not both order and restock, its checks passed, is run
// again on a fresh store, up to five rounds.
func TestMallConcurrentOrdersAndRestocks(t *testing.T) {
	for round := 1; ; round++ {
		ordered, restocked := mallConcurrentRound(t)
		if ordered > 0 && restocked > 0 {
			return
		}
		if round == 5 {
			t.Fatalf("five rounds, none with both an order and a restock (last: %d ordered, %d restocked)", ordered, restocked)
		}
	}
}

// mallConcurrentRound is one round of TestMallConcurrentOrdersAndRestocks;
// it returns how many orders and how many units of restock succeeded.
func mallConcurrentRound(t *testing.T) (orders, restockedUnits int64) {
	t.Helper()
	const cards, restocks, writeOffs, initial = 24, 12, 12, 3
	s, _ := openMall(t, initial)
	ctx := context.Background()
	pans := testPANs("62100000020%04d", cards)
	for _, pan := range pans {
		must(t, s.PutCard(ctx, testCard(pan)))
		if _, err := s.AdjustPoints(ctx, pan, 80, "points"); err != nil {
			t.Fatal(err)
		}
	}
	var ordered, restocked, writtenOff atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	failures := make(chan error, 2*cards+restocks+writeOffs)
	for i := range 2 * cards { // two orders a card: some find no stock
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.PlaceOrder(ctx, pans[i%cards], "p1", "mug", 1, mallOp)
			switch {
			case err == nil:
				ordered.Add(1)
			case errors.Is(err, ErrOutOfStock):
			default:
				failures <- err
			}
		}()
	}
	for i := range restocks + writeOffs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			add := int64(2)
			if i >= restocks {
				add = -3
			}
			_, err := s.RestockReward(ctx, "p1", "mug", add, mallOp)
			switch {
			case err == nil && add > 0:
				restocked.Add(add)
			case err == nil:
				writtenOff.Add(-add)
			case errors.Is(err, ErrStockOutOfRange) && add < 0:
			default:
				failures <- err
			}
		}()
	}
	stop, watched := make(chan struct{}), make(chan int64)
	go func() { // the lowest stock a reader sees while the changes run
		lowest := int64(initial)
		for {
			select {
			case <-stop:
				watched <- lowest
				return
			default:
			}
			if r, err := s.Reward("p1", "mug"); err == nil && r.Stock < lowest {
				lowest = r.Stock
			}
		}
	}()
	close(start)
	wg.Wait()
	close(stop)
	lowest := <-watched
	close(failures)
	for err := range failures {
		t.Error(err)
	}
	want := initial - ordered.Load() + restocked.Load() - writtenOff.Load()
	if got := stockOf(t, s); got != want || min(lowest, got) < 0 {
		t.Fatalf("stock %d, lowest seen %d: want %d = %d − %d ordered + %d restocked − %d written off, never below 0",
			got, lowest, want, initial, ordered.Load(), restocked.Load(), writtenOff.Load())
	}
	t.Logf("%d ordered, %d restocked, %d written off: stock %d, lowest seen %d", ordered.Load(), restocked.Load(), writtenOff.Load(), want, lowest)
	var spent Points
	for _, p := range pans {
		spent += 80 - pointsOf(t, s, p)
	}
	if spent != Points(ordered.Load())*40 {
		t.Fatalf("%d points spent for %d orders: want 40 each", spent, ordered.Load())
	}
	checkOK(t, s)
	return ordered.Load(), restocked.Load()
}
