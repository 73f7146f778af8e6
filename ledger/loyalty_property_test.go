package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

// The loyalty property test: random sequences of earning, redemption,
// refunds, voids, reversals (of voids too), clock moves and expiry runs
// on a real on-disk store, on a program whose rules give tiers, a
// multiplier campaign, a birthday bonus, a first-visit bonus and 3-day
// lots (so expiry happens within a sequence). After every step it
// checks what must always hold, from the store's own records:
//
//   - Store.Check is consistent (which includes each wallet against its
//     points account and per-program conservation of the accounts);
//   - per card, from the journal alone: Σ earned − Σ taken back −
//     Σ redeemed − Σ expired = the points balance, and the program's
//     issuance, redeemed and breakage accounts equal those sums;
//   - every wallet passes Wallet.Check (no lot negative or above its
//     points), and its lots less its debt equal the balance;
//   - available = live lots − debt;
//   - a declined step changes nothing (wallets, memberships, balances,
//     the program's points accounts, byte for byte);
//   - an approved step moves the balance by what it should: a
//     redemption by −N (and it is declined 51 exactly when N exceeds
//     what is available), an earning by what it reports earned, an undo
//     of an earning by −(earned − taken back), an undo of a redemption
//     by +N, a reversed void of a purchase re-earns exactly what the
//     purchase earned, an expiry run by the remaining of the lots due.

const (
	propMID2 = "MALL00000000002"
	propTID2 = "T0000201"
)

func propStore(t *testing.T) (*Store, *fixedClock, []string) {
	t.Helper()
	s, clk := openTest(t)
	ctx := context.Background()
	rules := &loyalty.Rules{
		EarnRateBP: 10000, TierWindowMonths: 1,
		Tiers: []loyalty.Tier{{Name: "Pearl", MultiplierBP: 10000}, {Name: "Ruby", ThresholdFen: 50000, MultiplierBP: 15000}},
		Campaigns: []loyalty.Campaign{
			{ID: "double", Kind: loyalty.CampaignPeriod, MultiplierBP: 20000, From: "2026-11-26", To: "2026-12-02"},
			{ID: "birthday", Kind: loyalty.CampaignBirthday, BonusPoints: 100, WindowDays: 2},
			{ID: "first", Kind: loyalty.CampaignFirstVisit, BonusPoints: 30, Merchants: []string{propMID2}},
		},
		Lots: loyalty.LotPolicy{Kind: loyalty.LotRollingDays, Days: 3},
	}
	must(t, s.PutProgram(ctx, Program{ID: "p1", Currency: "156", PointCost: 1, RedemptionValue: 10, Loyalty: rules}))
	must(t, s.PutMerchant(ctx, Merchant{MID: propMID2, ProgramID: "p1", MDRBP: 60}))
	must(t, s.PutTerminal(ctx, Terminal{TID: propTID2, MID: propMID2, Enabled: true}))
	pans := []string{testPAN}
	for i, bd := range []string{"1990-11-27", "1985-11-30"} {
		body := fmt.Sprintf("62100000000000%d", i+2)
		pan := body + string(cardnum.LuhnDigit(body))
		c := testCard(pan)
		c.Member.Birthday = bd
		must(t, s.PutCard(ctx, c))
		pans = append(pans, pan)
	}
	for _, pan := range pans {
		if _, err := s.Adjust(ctx, pan, 390_000, "opening"); err != nil {
			t.Fatal(err)
		}
	}
	return s, clk, pans
}

// propSent is an approved request a later step may refund or undo.
type propSent struct {
	kind     Kind
	mti, tid string
	stan     string
	pan      string
	amount   Amount
	rrn      string
	origKind Kind // of a void: what it voided
	undone   bool
}

type propRun struct {
	t     *testing.T
	s     *Store
	clk   *fixedClock
	rng   *rand.Rand
	pans  []string
	stan  int
	sent  []*propSent
	ctx   context.Context
	lastX uint32 // last business date expired
	label string
	stats map[string]int // what the sequence exercised, for -v
}

func (p *propRun) request(kind Kind, mti, proc, pan string, amount Amount, mod func(*Request)) *Request {
	p.stan++
	tid, mid := testTID, testMID
	if p.rng.IntN(3) == 0 {
		tid, mid = propTID2, propMID2
	}
	r := &Request{Kind: kind, MTI: mti, ProcCode: proc, TID: tid, MID: mid, STAN: fmt.Sprintf("%06d", p.stan),
		Time: "1123100000", PAN: pan, Amount: amount, Batch: 1}
	if mod != nil {
		mod(r)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%s|%s|%s|%d|%s|%+v", kind, mti, proc, r.TID, r.STAN, amount, r.OrigRRN, r.Orig))
	r.Fingerprint = [16]byte(sum[:16])
	return r
}

// state is what a declined step must leave as it was.
func (p *propRun) state() []byte {
	var b bytes.Buffer
	for _, pan := range p.pans {
		for _, k := range []string{keyWallet(pan), keyMembership(pan), keyAccount(accountPoints(pan))} {
			raw, err := p.s.dbGet(k)
			must(p.t, err)
			b.Write(raw)
			b.WriteByte(0)
		}
		must(p.t, scan(p.s.db, prefixWalletPage+pan+"/", func(k, v []byte) error {
			b.Write(k)
			b.Write(v)
			return nil
		}))
		bal, err := p.s.CardBalances(pan)
		must(p.t, err)
		fmt.Fprintf(&b, "%+v|", bal)
	}
	for _, k := range []string{accountProgramPts("p1"), accountPointsRedeemed("p1"), accountBreakage("p1")} {
		raw, err := p.s.dbGet(keyAccount(k))
		must(p.t, err)
		b.Write(raw)
	}
	return b.Bytes()
}

func (p *propRun) fail(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("%s: %s", p.label, fmt.Sprintf(format, args...))
}

// do submits r; declined: nothing changed. It returns the result and
// the change of the card's points balance.
func (p *propRun) do(r *Request) (Result, Points) {
	p.t.Helper()
	before, bal0 := p.state(), pointsOf(p.t, p.s, r.PAN)
	res, err := p.s.Do(p.ctx, r)
	if err != nil {
		p.fail("%s: %v", r.Kind, err)
	}
	outcome := "approved"
	if res.Err != nil {
		outcome = "declined"
	}
	p.stats[r.Kind.String()+" "+outcome]++
	if res.Err == nil && r.Kind != KindRedeem {
		if x := p.txn(res.RRN); len(x.Campaigns) > 0 {
			for _, c := range x.Campaigns {
				p.stats["campaign "+c]++
			}
		}
	}
	if res.Err != nil && !bytes.Equal(before, p.state()) {
		p.fail("declined %s (%v) changed the store", r.Kind, res.Err)
	}
	return res, pointsOf(p.t, p.s, r.PAN) - bal0
}

func (p *propRun) record(r *Request, res Result, origKind Kind) *propSent {
	if res.Err != nil {
		return nil
	}
	e := &propSent{kind: r.Kind, mti: r.MTI, tid: r.TID, stan: r.STAN, pan: r.PAN, amount: r.Amount, rrn: res.RRN, origKind: origKind}
	p.sent = append(p.sent, e)
	return e
}

func (p *propRun) txn(rrn string) *Txn {
	p.t.Helper()
	x, err := p.s.TxnByRRN(rrn)
	if err != nil || x == nil {
		p.fail("journal entry %s: %v", rrn, err)
	}
	return x
}

func (p *propRun) pick(ok func(*propSent) bool) *propSent {
	var c []*propSent
	for _, e := range p.sent {
		if !e.undone && ok(e) {
			c = append(c, e)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[p.rng.IntN(len(c))]
}

func (p *propRun) purchase(pan string) {
	r := p.request(KindPurchase, "0200", "000000", pan, Amount(1+p.rng.IntN(40000)), nil)
	res, d := p.do(r)
	p.record(r, res, 0)
	if res.Err == nil && d != p.txn(res.RRN).Earned-p.txn(res.RRN).Debited {
		p.fail("purchase moved the points by %d, its entry earned %d", d, p.txn(res.RRN).Earned)
	}
}

func (p *propRun) step() {
	pan := p.pans[p.rng.IntN(len(p.pans))]
	switch n := p.rng.IntN(100); {
	case n < 25:
		p.purchase(pan)
	case n < 32: // accrual (900000)
		r := p.request(KindAccrual, "0200", "900000", pan, Amount(1+p.rng.IntN(20000)), nil)
		res, _ := p.do(r)
		p.record(r, res, 0)
	case n < 37: // pre-auth, then its completion
		pa := p.request(KindPreAuth, "0100", "030000", pan, Amount(100+p.rng.IntN(20000)), nil)
		if res, _ := p.do(pa); res.Err == nil {
			c := p.request(KindCompletion, "0220", "000000", pan, Amount(1+p.rng.IntN(int(pa.Amount))), func(r *Request) {
				r.TID, r.MID, r.Orig = pa.TID, pa.MID, OrigRef{"0100", pa.STAN, pa.Time}
			})
			res, _ := p.do(c)
			p.record(c, res, 0)
		}
	case n < 55: // redemption: N points (sometimes not a whole number)
		w := storedWallet(p.t, p.s, pan)
		avail := w.Available(p.clk.t)
		pts := Points(1 + p.rng.IntN(int(max(avail, 0))+30))
		amt := Amount(pts * 10)
		if p.rng.IntN(10) == 0 {
			amt += 3
		}
		r := p.request(KindRedeem, "0200", "910000", pan, amt, nil)
		res, d := p.do(r)
		p.record(r, res, 0)
		switch {
		case amt%10 != 0:
			if res.Err == nil {
				p.fail("redemption of %d fen approved", amt)
			}
		case pts > avail:
			if !errors.Is(res.Err, ErrInsufficientFunds) {
				p.fail("redemption of %d with %d available: %v, want insufficient points", pts, avail, res.Err)
			}
		case res.Err != nil || d != -pts:
			p.fail("redemption of %d with %d available: %v, moved %d", pts, avail, res.Err, d)
		}
	case n < 65: // partial refund of a purchase or completion
		e := p.pick(func(e *propSent) bool { return e.kind == KindPurchase || e.kind == KindCompletion })
		if e == nil {
			return
		}
		left := e.amount - p.txn(e.rrn).Refunded
		amt := Amount(1 + p.rng.IntN(int(left)+5)) // sometimes too much: declined
		r := p.request(KindRefund, "0200", "200000", e.pan, amt, func(r *Request) { r.OrigRRN = e.rrn })
		res, _ := p.do(r)
		p.record(r, res, e.kind)
		if amt > left && res.Err == nil {
			p.fail("refund of %d beyond the %d left approved", amt, left)
		}
	case n < 80: // void or reversal of an approved request
		e := p.pick(func(e *propSent) bool { return e.kind != KindVoid && e.kind != KindReversal })
		if e == nil {
			return
		}
		kind, mti, proc := KindVoid, "0200", "020000"
		if p.rng.IntN(2) == 0 {
			kind, mti, proc = KindReversal, "0400", ""
		}
		orig := p.txn(e.rrn)
		r := p.request(kind, mti, proc, e.pan, e.amount, func(r *Request) {
			r.TID, r.MID, r.Orig = e.tid, terminalMIDOf(e.tid), OrigRef{e.mti, e.stan, "1123100000"}
		})
		res, d := p.do(r)
		v := p.record(r, res, e.kind)
		if res.Err != nil {
			return
		}
		e.undone = true
		switch e.kind {
		case KindPurchase, KindCompletion, KindAccrual:
			if d != -(orig.Earned - orig.TakenBack) {
				p.fail("undo of an earning of %d (taken back %d) moved %d", orig.Earned, orig.TakenBack, d)
			}
		case KindRedeem:
			if d != orig.Debited {
				p.fail("undo of a redemption of %d moved %d", orig.Debited, d)
			}
		}
		if kind == KindVoid && v != nil && e.kind == KindPurchase && orig.TakenBack == 0 && p.rng.IntN(2) == 0 {
			// Reverse the void: the purchase earns again, exactly.
			rv := p.request(KindReversal, "0400", "", e.pan, e.amount, func(x *Request) {
				x.TID, x.MID, x.Orig = r.TID, r.MID, OrigRef{"0200", r.STAN, "1123100000"}
			})
			res, d := p.do(rv)
			if res.Err == nil {
				v.undone, e.undone = true, false
				p.stats["void reversed"]++
				if d != orig.Earned {
					p.fail("reversal of a void re-earned %d, the purchase earned %d", d, orig.Earned)
				}
			}
		}
	case n < 93: // the clock moves 1..40 hours
		p.clk.t = p.clk.t.Add(time.Duration(1+p.rng.IntN(40)) * time.Hour)
	default: // the expiry job for the last ended business date
		local := p.clk.t.In(cst)
		y, m, dd := local.AddDate(0, 0, -1).Date()
		d := uint32(y*10000 + int(m)*100 + dd)
		if d <= p.lastX || p.clk.t.Before(p.s.BusinessDayEnd(d)) {
			return
		}
		due, bal0 := map[string]Points{}, map[string]Points{}
		for _, pan := range p.pans {
			for _, l := range storedWallet(p.t, p.s, pan).Lots {
				if !l.Expires.IsZero() && !l.Expires.After(p.s.BusinessDayEnd(d)) {
					due[pan] += l.Remaining
				}
			}
			bal0[pan] = pointsOf(p.t, p.s, pan)
		}
		pr, err := p.s.ExpireLots(p.ctx, d, nil)
		if err != nil || !pr.Done {
			p.fail("expire %d: %+v %v", d, pr, err)
		}
		p.lastX = d
		p.stats["expired lots"] += pr.Expired
		for _, pan := range p.pans {
			if got := bal0[pan] - pointsOf(p.t, p.s, pan); got != due[pan] {
				p.fail("expire %d: card %s lost %d points, %d were due", d, cardnum.Mask(pan), got, due[pan])
			}
		}
	}
}

// terminalMIDOf is the MID of a terminal of propStore.
func terminalMIDOf(tid string) string {
	if tid == propTID2 {
		return propMID2
	}
	return testMID
}

// invariants checks what holds after every step.
func (p *propRun) invariants() {
	p.t.Helper()
	rep, err := p.s.Check(p.ctx)
	if err != nil || !rep.OK() {
		p.fail("check: %v %v", err, rep.Problems)
	}
	type sums struct{ earned, takenBack, redeemed, expired Points }
	per := map[string]*sums{}
	all := map[uint64]*Txn{}
	err = p.s.ScanJournal(p.ctx, func(x *Txn) error {
		all[x.Seq] = x
		return nil
	})
	must(p.t, err)
	root := func(x *Txn) Kind { // what an undo chain finally undoes
		for (x.Kind == KindVoid || x.Kind == KindReversal) && all[x.OrigSeq] != nil {
			x = all[x.OrigSeq]
		}
		return x.Kind
	}
	var tot sums
	for _, x := range all {
		if x.Earned == 0 && x.Debited == 0 {
			continue
		}
		s := per[x.PAN]
		if s == nil {
			s = &sums{}
			per[x.PAN] = s
		}
		switch k := root(x); k {
		case KindPurchase, KindCompletion, KindAccrual:
			s.earned += x.Earned
			s.takenBack += x.Debited
		case KindRedeem:
			s.redeemed += x.Debited - x.Earned
		case KindRefund:
			s.takenBack += x.Debited - x.Earned
		case KindExpiry:
			s.expired += x.Debited - x.Earned
		default:
			p.fail("journal entry %d of kind %s (root %s) moved points", x.Seq, x.Kind, k)
		}
	}
	for _, pan := range p.pans {
		s := per[pan]
		if s == nil {
			s = &sums{}
		}
		tot.earned, tot.takenBack, tot.redeemed, tot.expired = tot.earned+s.earned, tot.takenBack+s.takenBack, tot.redeemed+s.redeemed, tot.expired+s.expired
		bal := pointsOf(p.t, p.s, pan)
		if got := s.earned - s.takenBack - s.redeemed - s.expired; got != bal {
			p.fail("card %s: earned %d − taken back %d − redeemed %d − expired %d = %d, balance %d",
				cardnum.Mask(pan), s.earned, s.takenBack, s.redeemed, s.expired, got, bal)
		}
		w := storedWallet(p.t, p.s, pan)
		if err := w.Check(); err != nil {
			p.fail("wallet of %s: %v", cardnum.Mask(pan), err)
		}
		held, live := -w.Debt, -w.Debt
		for _, l := range w.Lots {
			held += l.Remaining
			if l.Expires.IsZero() || p.clk.t.Before(l.Expires) {
				live += l.Remaining
			}
		}
		if held != bal || w.Available(p.clk.t) != live {
			p.fail("card %s: lots less debt %d, balance %d; available %d, live lots less debt %d",
				cardnum.Mask(pan), held, bal, w.Available(p.clk.t), live)
		}
	}
	if ppt := -accountBalance(p.t, p.s, accountProgramPts("p1")); ppt != int64(tot.earned-tot.takenBack) {
		p.fail("issuance account %d, journal earned − taken back %d", ppt, tot.earned-tot.takenBack)
	}
	if prd := accountBalance(p.t, p.s, accountPointsRedeemed("p1")); prd != int64(tot.redeemed) {
		p.fail("redeemed account %d, journal %d", prd, tot.redeemed)
	}
	if pbk := accountBalance(p.t, p.s, accountBreakage("p1")); pbk != int64(tot.expired) {
		p.fail("breakage account %d, journal %d", pbk, tot.expired)
	}
}

func TestLoyaltyProperty(t *testing.T) {
	sequences, steps := 30, 60
	paged := 0 // the most sealed wallet pages a step left
	if testing.Short() {
		sequences = 6
	}
	// About 3 s, also with -tags invariants (whose per-commit check then
	// runs on every step as well): no part is skipped under that tag.
	for seq := range sequences {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			s, clk, pans := propStore(t)
			clk.t = time.Date(2026, 11, 24, 9, 0, 0, 0, cst)
			p := &propRun{t: t, s: s, clk: clk, rng: rand.New(rand.NewPCG(uint64(seq), 7)), pans: pans, stan: 100, ctx: context.Background(), stats: map[string]int{}}
			for _, tid := range []string{testTID, propTID2} {
				r := p.request(KindSignOn, "0800", "", testPAN, 0, func(r *Request) { r.TID, r.MID = tid, terminalMIDOf(tid) })
				if res, err := s.Do(p.ctx, r); err != nil || res.Err != nil {
					t.Fatalf("sign-on %s: %v %v", tid, err, res.Err)
				}
			}
			if seq%3 == 0 {
				// One card with a history: its wallet outgrows the record
				// into sealed pages (pageLots lots each) before the steps
				// redeem, refund and expire across them.
				p.pans = pans[:1]
				for i := range 2*pageLots + 3 {
					p.label = fmt.Sprintf("seed %d history %d", seq, i)
					p.purchase(pans[0])
					p.invariants()
				}
			}
			for i := range steps {
				p.label = fmt.Sprintf("seed %d step %d", seq, i)
				p.step()
				p.invariants()
				n := 0
				must(t, scan(s.db, prefixWalletPage, func(_, _ []byte) error { n++; return nil }))
				paged = max(paged, n)
			}
			t.Logf("%v", p.stats)
		})
	}
	if paged == 0 {
		t.Fatal("no sequence sealed a wallet page: the property no longer covers paged wallets")
	}
}
