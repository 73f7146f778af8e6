package ledger

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

func TestCheckedArithmetic(t *testing.T) {
	for _, tc := range []struct {
		a, b    int64
		add     int64
		addOK   bool
		sub     int64
		subOK   bool
		comment string
	}{
		{1, 2, 3, true, -1, true, "small"},
		{MaxAmount, 0, MaxAmount, true, MaxAmount, true, "at the top"},
		{MaxAmount, 1, 0, false, MaxAmount - 1, true, "one past the top"},
		{-MaxAmount, 1, -MaxAmount + 1, true, 0, false, "one past the bottom"},
		{0, math.MaxInt64, 0, false, 0, false, "int64 max"},
		{0, math.MinInt64, 0, false, 0, false, "int64 min: no negation"},
		{math.MaxInt64, math.MaxInt64, 0, false, 0, true, "wraps up; the difference is fine"},
		{math.MinInt64, -1, 0, false, 0, false, "wraps down"},
	} {
		got, err := Amount(tc.a).Add(Amount(tc.b))
		if (err == nil) != tc.addOK || (tc.addOK && int64(got) != tc.add) || (!tc.addOK && !errors.Is(err, ErrOutOfRange)) {
			t.Errorf("%s: %d + %d = %d, %v", tc.comment, tc.a, tc.b, got, err)
		}
		gotP, err := Points(tc.a).Sub(Points(tc.b))
		if (err == nil) != tc.subOK || (tc.subOK && int64(gotP) != tc.sub) || (!tc.subOK && !errors.Is(err, ErrOutOfRange)) {
			t.Errorf("%s: %d - %d = %d, %v", tc.comment, tc.a, tc.b, gotP, err)
		}
	}
	if _, err := addInt64(math.MaxInt64, 1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("running sum wrapped: %v", err)
	}
	if v, err := addInt64(MaxAmount, MaxAmount); err != nil || v != 2*MaxAmount {
		t.Errorf("running sums may pass MaxAmount: %d %v", v, err)
	}
}

// An operator adjustment of ±2^63 (or anything past MaxAmount) is refused
// with an error naming the field, and changes nothing: no journal entry,
// no balance, and the store still checks clean.
func TestAdjustOutOfRangeRefused(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	before, _ := s.CardBalances(testPAN)
	hist, _ := s.CardHistory(testPAN, 100)
	refused := func(what, field string, err error) {
		t.Helper()
		if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), field) || strings.Contains(err.Error(), testPAN) {
			t.Errorf("%s: want ErrOutOfRange naming %q (PAN masked), got %v", what, field, err)
		}
		if b, _ := s.CardBalances(testPAN); b != before {
			t.Errorf("%s changed balances %+v → %+v", what, before, b)
		}
		if h, _ := s.CardHistory(testPAN, 100); len(h) != len(hist) {
			t.Errorf("%s journaled: %d entries → %d", what, len(hist), len(h))
		}
		if rep, err := s.Check(ctx); err != nil || !rep.OK() {
			t.Errorf("%s: check %v %v", what, err, rep.Problems)
		}
	}
	for _, v := range []int64{math.MinInt64, math.MaxInt64, MaxAmount + 1, -MaxAmount - 1} {
		_, err := s.AdjustPoints(ctx, testPAN, Points(v), "wrap")
		refused("points adjustment", "points", err)
		_, err = s.Adjust(ctx, testPAN, Amount(v), "wrap")
		refused("money adjustment", "amount", err)
	}
	// Up to the top is fine; one point more is refused.
	if _, err := s.AdjustPoints(ctx, testPAN, MaxAmount, "top"); err != nil {
		t.Fatal(err)
	}
	before, _ = s.CardBalances(testPAN)
	hist, _ = s.CardHistory(testPAN, 100)
	if before.Points != MaxAmount {
		t.Fatalf("points at the top: %+v", before)
	}
	_, err := s.AdjustPoints(ctx, testPAN, 1, "one more")
	refused("points past the top", "points", err)
}

// A change the ledger cannot represent declines the request (13 on the
// wire) and changes nothing: here the credit total of a batch.
func TestBatchTotalOutOfRangeDeclines(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	second := "621000000000002" + string(cardnum.LuhnDigit("621000000000002"))
	for _, pan := range []string{testPAN, second} {
		c := testCard(pan)
		c.MaxBalance = MaxAmount
		must(t, s.PutCard(ctx, c))
	}
	do(t, s, req(KindSignOn, "0800", "000001", 0))
	if res := do(t, s, req(KindLoad, "0200", "000002", MaxAmount-10000)); res.Err != nil {
		t.Fatalf("load to the top: %v", res.Err)
	}
	// Each load fits its card; together they pass the batch's 12 digits.
	res := do(t, s, req(KindLoad, "0200", "000003", 10001, func(r *Request) { r.PAN = second }))
	if !errors.Is(res.Err, ErrOutOfRange) || !res.Stored {
		t.Fatalf("load past the batch's range: want a stored ErrOutOfRange, got %+v", res)
	}
	if b, _ := s.CardBalances(second); b.Ledger != 0 {
		t.Errorf("the refused load changed the card: %+v", b)
	}
	again := do(t, s, req(KindLoad, "0200", "000003", 10001, func(r *Request) { r.PAN = second }))
	if !again.Replayed || !errors.Is(again.Err, ErrOutOfRange) {
		t.Errorf("retransmission: %+v", again)
	}
	if res := do(t, s, req(KindPurchase, "0200", "000004", MaxAmount+1)); !errors.Is(res.Err, ErrOutOfRange) {
		t.Errorf("a request amount past MaxAmount: %v", res.Err)
	}
	rep, err := s.Check(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("check: %v %v", err, rep.Problems)
	}
}

func TestCardLimitsInRange(t *testing.T) {
	for _, c := range []Card{{MaxBalance: MaxAmount + 1}, {PerTxnLimit: MaxAmount + 1}, {DailyLimit: math.MaxInt64}} {
		c.PAN, c.ProgramID, c.HomeMID, c.Product, c.State, c.Expiry = testPAN, "p1", testMID, "chip", CardActive, "2912"
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "above") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// The checker flags a figure out of range in every kind of record. Each
// case corrupts one record of a store with holds, a batch, day counters
// and a journal, straight in Pebble (no commit follows, so -tags
// invariants does not stop at it), and expects the checker to say so.
func TestCheckFlagsOutOfRange(t *testing.T) {
	enc := func(rec interface{ encode(*encoder) }) []byte {
		e := encoder{}
		rec.encode(&e)
		return e.b
	}
	for _, tc := range []struct {
		name, want string
		corrupt    func(s *Store) (key string, val []byte)
	}{
		{"stored value wrapped", "negative running sum", func(s *Store) (string, []byte) {
			return keyAccount(accountSV(testPAN)), enc(&Account{Unit: UnitMoney, CreditsPosted: math.MinInt64 + 5})
		}},
		{"stored value pending negative", "negative running sum", func(s *Store) (string, []byte) {
			return keyAccount(accountSV(testPAN)), enc(&Account{Unit: UnitMoney, CreditsPosted: 10000, DebitsPending: -1})
		}},
		{"points past the top", "out of range 0..", func(s *Store) (string, []byte) {
			return keyAccount(accountPoints(testPAN)), enc(&Account{Unit: UnitPoints, CreditsPosted: MaxAmount + 1})
		}},
		{"available negative", "out of range 0..", func(s *Store) (string, []byte) {
			return keyAccount(accountSV(testPAN)), enc(&Account{Unit: UnitMoney, CreditsPosted: 10, DebitsPending: 4000})
		}},
		{"hold negative", "out of range", func(s *Store) (string, []byte) {
			return keyHolds(testPAN), enc(Holds{{Seq: 1, Amount: -4000}})
		}},
		{"holds and pending differ", "pending debits", func(s *Store) (string, []byte) {
			return keyHolds(testPAN), enc(Holds{})
		}},
		{"batch total negative", "out of range", func(s *Store) (string, []byte) {
			return keyBatch(testTID, 1), enc(&Batch{Number: 1, State: BatchOpen, Totals: BatchTotals{DebitCount: 1, DebitAmount: -1}})
		}},
		{"batch total past the top", "out of range", func(s *Store) (string, []byte) {
			return keyBatch(testTID, 1), enc(&Batch{Number: 1, State: BatchOpen, Totals: BatchTotals{CreditCount: 1, CreditAmount: MaxAmount + 1}})
		}},
		{"day counter negative", "out of range", func(s *Store) (string, []byte) {
			date := s.businessDate(s.opts.Now())
			return keyCardDay(testPAN), enc(&CardDay{Date: date, Count: -1, Amount: 100})
		}},
		{"journal transfer past the top", "out of range", func(s *Store) (string, []byte) {
			raw, _ := s.dbGet(keyTxn(1))
			var txn Txn
			if err := txn.decode(raw); err != nil || len(txn.Transfers) == 0 {
				t.Fatalf("journal entry 1: %v", err)
			}
			txn.Transfers[0].Posted = MaxAmount + 1
			return keyTxn(1), enc(&txn)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			do(t, s, req(KindSignOn, "0800", "000001", 0))
			for _, r := range []*Request{req(KindPurchase, "0200", "000002", 100), req(KindPreAuth, "0100", "000003", 4000)} {
				if res := do(t, s, r); res.Err != nil {
					t.Fatal(res.Err)
				}
			}
			if rep, err := s.Check(ctx); err != nil || !rep.OK() {
				t.Fatalf("before: %v %v", err, rep.Problems)
			}
			key, val := tc.corrupt(s)
			if isAggregateKey(key) {
				// The aggregate's latest value is in the aggregate log,
				// laid over its key: write it at its key first, as a
				// checkpoint would, so that the corrupted value counts.
				if err := replayAggregateLog(s.db); err != nil {
					t.Fatal(err)
				}
			}
			if err := setStored(s.db, key, val); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), tc.want) {
				t.Fatalf("want a problem with %q, got %q", tc.want, rep.Problems)
			}
			for _, p := range rep.Problems {
				if strings.Contains(p, testPAN) {
					t.Errorf("problem shows the clear PAN: %s", cardnum.Mask(p))
				}
			}
		})
	}
}
