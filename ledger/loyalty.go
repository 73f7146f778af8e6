package ledger

// loyalty.go: the loyalty steps of a decision: earning on a purchase,
// completion or accrual; the accrual (900000) and redemption (910000)
// flows; a refund's take-back; and what an undo does to points. The
// rules are package loyalty's; this file keeps the wallet (wal/<pan>)
// and the membership (mbr/<pan>) and posts what changes as balanced
// transfers: earning ppt/<prog> → pt/<pan>, redemption pt/<pan> →
// prd/<prog>, take-back pt/<pan> → ppt/<prog>.

import (
	"errors"
	"fmt"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/loyalty"
)

// loyaltyRules are the card's program's current rules; nil when the
// program has none (it earns nothing and answers 900000/910000 12).
func (d *decision) loyaltyRules() (*Program, *loyalty.Rules) {
	p, err := d.programOf(d.card.ProgramID)
	if err != nil {
		d.ioErr = errors.Join(d.ioErr, err)
		return nil, nil
	}
	if p == nil || p.Loyalty == nil {
		return p, nil
	}
	return p, p.Loyalty
}

// tierInfo is the member's tier after an approved card request of a
// program with rules (what field 63 tells an opted-in terminal); nil
// for a program without rules or tiers. It reads the membership as the
// decision left it, so a purchase that upgrades shows the new tier.
func (d *decision) tierInfo() *TierInfo {
	if d.card == nil {
		return nil
	}
	_, rules := d.loyaltyRules()
	if rules == nil || len(rules.Tiers) == 0 {
		return nil
	}
	m := d.membership()
	i := min(max(m.Tier, 0), len(rules.Tiers)-1) // rules may have lost tiers since
	t := rules.Tiers[i]
	info := takeSpare(&d.spareTier)
	*info = TierInfo{Index: i, Name: t.Name, Discount: t.DiscountBP}
	return info
}

func (d *decision) programPoints() *Account {
	return d.hotAccountOf(kindProgramPts, d.card.ProgramID, UnitPoints)
}

// earn applies the program's rules to an approved purchase, completion
// or accrual of amount (loyalty/doc.go's call order): the spend bucket
// and an immediate upgrade first, so that the crossing transaction earns
// at the new tier; then Earn with the member's facts in the business
// zone; the lot; the posting; the visit, merchant and birthday year.
// Without rules it does nothing.
func (d *decision) earn(txn *Txn, amount Amount, pts *Account) {
	_, rules := d.loyaltyRules()
	if rules == nil {
		return
	}
	loc := d.s.opts.Location
	local := d.now.In(loc)
	month := yyyymm(local)
	m := d.membership()
	if err := m.addSpend(month, month, amount); err != nil {
		d.refuse(err)
		return
	}
	var err error
	if m.LifetimeSpend, err = m.LifetimeSpend.Add(amount); err != nil {
		d.refuse(fmt.Errorf("lifetime spend: %w", err))
		return
	}
	tier := min(m.Tier, max(len(rules.Tiers)-1, 0)) // rules may have lost tiers since
	var window spendWindow
	m.setTier(loyalty.Upgrade(rules, tier, loyalty.AverageMonthlySpend(m.bucketsInto(&window, month, rules.TierWindowMonths))), d.now.UnixNano(), txn.Seq)
	e, err := loyalty.EarnAppend(d.spareCampaigns, rules, loyalty.Member{
		Birthday: d.card.Member.Birthday, Tier: m.Tier, VisitDates: m.visitDatesInto(&d.s.monthDates, &d.s.visitDates, month),
		MerchantsSeen: (*visitedBy)(d), BirthdayBonusYear: m.BirthdayBonusYear,
	}, loyalty.Purchase{Amount: amount, MID: d.r.MID, At: d.now, Location: loc})
	if err != nil {
		if errors.Is(err, loyalty.ErrInvalid) {
			d.ioErr = errors.Join(d.ioErr, fmt.Errorf("pan %s: %w", cardnum.Mask(d.card.PAN), err))
		} else {
			d.refuse(err)
		}
		return
	}
	expires, _ := rules.Lots.Expiry(d.now, loc)
	if err := d.earnLot(loyalty.Lot{Seq: txn.Seq, Points: e.Points, EarnedAt: d.now, Expires: expires}); err != nil {
		// ErrTooManyLots: the expiry job is behind; nothing is applied.
		d.ioErr = errors.Join(d.ioErr, fmt.Errorf("pan %s: %w", cardnum.Mask(d.card.PAN), err))
		return
	}
	if e.Points > 0 {
		d.post(txn, d.programPoints(), pts, int64(e.Points), 0)
	}
	txn.Earned, txn.RulesVersion, txn.Campaigns = e.Points, e.RulesVersion, e.Campaigns
	m.recordVisit(month, local.Day())
	d.recordMerchant(d.r.MID)
	if e.BirthdayBonus {
		m.BirthdayBonusYear = e.BirthdayBonusYear
	}
	d.storeLoyalty()
}

// accrual (0200/900000) earns on a purchase paid with another tender:
// field 4 is the eligible amount. It moves no money, counts in neither
// batch total and skips the card's debit limits (it debits nothing);
// the card checks of a purchase (41, 43, 54, 57, 62) have run.
func (d *decision) accrual() {
	if !d.positiveAmount() || d.tombstoned() {
		return
	}
	if _, rules := d.loyaltyRules(); rules == nil {
		d.err = fmt.Errorf("accrual: program %s has no loyalty rules: %w", d.card.ProgramID, ErrUnsupported)
		return
	}
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	txn := d.newTxn()
	d.earn(txn, d.r.Amount, pts)
	d.finish(txn, sv, pts)
}

// redeem (0200/910000) pays field 4 with points at the program's
// redemption value: points = field 4 / redemption value, which must
// divide it (13 otherwise: the terminal asks for a value points can pay
// exactly); a program without rules or redemption value answers 12.
// The live lots are spent soonest-expiring first; short → 51 with 54.
func (d *decision) redeem() {
	if !d.positiveAmount() || d.tombstoned() {
		return
	}
	p, rules := d.loyaltyRules()
	if rules == nil || p.RedemptionValue <= 0 {
		d.err = fmt.Errorf("redemption: program %s has no loyalty rules or redemption value: %w", d.card.ProgramID, ErrUnsupported)
		return
	}
	if d.r.Amount%p.RedemptionValue != 0 {
		d.err = fmt.Errorf("redemption of %d fen: not a multiple of the redemption value %d: %w", d.r.Amount, p.RedemptionValue, ErrBadAmount)
		return
	}
	n := Points(d.r.Amount / p.RedemptionValue)
	sv, pts, err := d.cardAccounts()
	if err != nil {
		d.hostErr(err)
		return
	}
	w := d.wallet()
	lots := lotsBySeq(w)
	uses, err := w.Redeem(n, d.now)
	if err != nil {
		d.balancesOnDecline = d.balancesOf(sv, pts)
		d.err = fmt.Errorf("pan %s redeem %d points: %v: %w", cardnum.Mask(d.card.PAN), n, err, ErrInsufficientFunds)
		return
	}
	txn := d.newTxn()
	d.post(txn, pts, d.accountOf(accountPointsRedeemed(d.card.ProgramID), UnitPoints), int64(n), 0)
	txn.Debited, txn.PointUses = n, lotUses(uses, lots)
	d.storeLoyalty()
	d.finish(txn, sv, pts)
}

// refundPoints takes back a refund's share of what orig earned:
// RefundTakeBack of the purchase's refunds so far, from the earning's
// own lot first; what the lots cannot cover becomes debt (a negative
// points balance, repaid by later earnings). The spend the tier follows
// is reduced in the refund's month (each entry's spend counts in its
// own month, so that undoing it finds it there).
func (d *decision) refundPoints(orig, txn *Txn, refundedTotal Amount, pts *Account) {
	if err := d.adjustSpend(d.now.UnixNano(), -int64(d.r.Amount)); err != nil {
		d.refuse(err)
		return
	}
	if orig.Earned <= 0 {
		return
	}
	n, err := loyalty.RefundTakeBack(orig.Earned, orig.TakenBack, refundedTotal, orig.Amount)
	if err != nil {
		d.ioErr = errors.Join(d.ioErr, fmt.Errorf("refund of rrn %s: %w", orig.RRN(), err))
		return
	}
	if n == 0 {
		return
	}
	w := d.wallet()
	lots := lotsBySeq(w)
	uses, debt, err := w.TakeBack(orig.Seq, n, d.now)
	if err != nil {
		d.refuse(fmt.Errorf("refund of rrn %s take-back: %w", orig.RRN(), err))
		return
	}
	d.post(txn, pts, d.programPoints(), int64(n), 0)
	txn.Debited, txn.PointUses, txn.DebtAdded = n, lotUses(uses, lots), debt
	orig.TakenBack += n // <= orig.Earned: RefundTakeBack's bound
	d.storeLoyalty()
}

// adjustSpend changes the spend bucket of the month of the instant at
// (unix nanoseconds) by delta fen, when the program has rules.
func (d *decision) adjustSpend(at int64, delta int64) error {
	if _, rules := d.loyaltyRules(); rules == nil || delta == 0 {
		return nil
	}
	m := d.membership()
	loc := d.s.opts.Location
	if err := m.addSpend(yyyymm(d.now.In(loc)), yyyymm(timeOrZero(at).In(loc)), Amount(delta)); err != nil {
		return err
	}
	d.storeLoyalty()
	return nil
}

// pointsTransfer is orig's one posting on the card's points account, if
// any: every flow makes at most one. credit says it credited the card.
func pointsTransfer(orig *Txn) (tr Transfer, credit, ok bool) {
	pt := accountPoints(orig.PAN)
	for _, t := range orig.Transfers {
		if t.Unit == UnitPoints && (t.Credit == pt || t.Debit == pt) {
			return t, t.Credit == pt, true
		}
	}
	return Transfer{}, false, false
}

// undoTakes is the points undoing orig takes from the card: what it
// credited less what refunds already took back of it.
func undoTakes(orig *Txn) Points {
	tr, credit, ok := pointsTransfer(orig)
	if !ok || !credit {
		return 0
	}
	return Points(tr.Posted) - orig.TakenBack
}

// coversPoints declines 51 when undoing orig would take more points
// than the card has available: an undo never creates points debt (only
// a refund may), as an undo never takes stored value the card lacks.
func (d *decision) coversPoints(orig *Txn, sv, pts *Account) bool {
	need := undoTakes(orig)
	if need == 0 {
		return true
	}
	if avail, _ := d.pointsAvailable(); need > avail {
		d.balancesOnDecline = d.balancesOf(sv, pts)
		d.err = fmt.Errorf("undoing rrn %s takes %d points, available %d: %w", orig.RRN(), need, avail, ErrInsufficientFunds)
		return false
	}
	return true
}

// undoPoints undoes orig's points under owner, exactly: a credit
// (earning, void of a redemption or refund) is taken back less what
// refunds took, from orig's own lot first; a debit (redemption,
// refund's take-back, void of an earning) is given back to the lots it
// came from (a lot since emptied or expired is re-created with its
// original expiry — an expired one is expired at once, left to the
// expiry job) and the debt it added is cancelled or, if since repaid,
// credited as a lot of its own.
func (d *decision) undoPoints(orig, owner *Txn) error {
	tr, credit, ok := pointsTransfer(orig)
	if !ok {
		return nil
	}
	pts := d.cardAccountOf(orig.PAN, slotPoints)
	other := tr.Debit
	if !credit {
		other = tr.Credit
	}
	counter := d.accountOf(other, UnitPoints)
	w := d.wallet()
	if credit {
		n := undoTakes(orig)
		if n <= 0 {
			return d.ioErr
		}
		lots := lotsBySeq(w)
		uses, debt, err := w.TakeBack(orig.Seq, n, d.now)
		if err != nil || debt != 0 {
			return fmt.Errorf("undo of rrn %s takes %d points: debt %d: %v", orig.RRN(), n, debt, err)
		}
		d.post(owner, pts, counter, int64(n), 0)
		owner.Debited, owner.PointUses = n, lotUses(uses, lots)
	} else {
		n := Points(tr.Posted)
		for _, u := range orig.PointUses {
			if err := giveBack(w, loyalty.Lot{Seq: u.Seq, Points: u.Points, EarnedAt: timeOrZero(u.EarnedAt), Expires: timeOrZero(u.Expires)}); err != nil {
				return err
			}
		}
		if orig.DebtAdded > 0 {
			_, rules := d.loyaltyRules()
			lot := loyalty.Lot{Seq: owner.Seq, Points: orig.DebtAdded, EarnedAt: d.now}
			if rules != nil {
				lot.Expires, _ = rules.Lots.Expiry(d.now, d.s.opts.Location)
			}
			if err := giveBack(w, lot); err != nil {
				return err
			}
		}
		d.post(owner, counter, pts, int64(n), 0)
		owner.Earned = n
	}
	d.storeLoyalty() // orig's card is the decision's
	return d.ioErr
}

// giveBack returns points to a wallet: they repay debt first, then go
// back into the lot of that Seq if held, else into a lot like it.
func giveBack(w *walletRecord, lot loyalty.Lot) error {
	repay := min(w.Debt, lot.Points)
	w.Debt -= repay
	rest := lot.Points - repay
	if rest == 0 {
		return nil
	}
	for i := range w.Lots {
		if l := &w.Lots[i]; l.Seq == lot.Seq {
			l.Remaining += rest
			l.Points = max(l.Points, l.Remaining)
			return nil
		}
	}
	lot.Points = rest
	_, _, err := w.Earn(lot)
	return err
}

func lotsBySeq(w *walletRecord) map[uint64]loyalty.Lot {
	m := make(map[uint64]loyalty.Lot, len(w.Lots))
	for _, l := range w.Lots {
		m[l.Seq] = l
	}
	return m
}

// lotUses records the wallet's uses with the dates of their lots (read
// before the wallet dropped the emptied ones).
func lotUses(uses []loyalty.Use, lots map[uint64]loyalty.Lot) []LotUse {
	out := make([]LotUse, 0, len(uses))
	for _, u := range uses {
		l := lots[u.Seq]
		out = append(out, LotUse{Seq: u.Seq, Points: u.Points, EarnedAt: l.EarnedAt.UnixNano(), Expires: nanosOrZero(l.Expires)})
	}
	return out
}

// spendForUndo moves the spend an undone (sign -1) or re-applied (+1)
// entry counted: an earning's amount, a refund's negative amount.
func (d *decision) spendForUndo(orig *Txn, sign int64) error {
	switch orig.Kind {
	case KindPurchase, KindCompletion, KindAccrual:
		return d.adjustSpend(orig.At, sign*int64(orig.Amount))
	case KindRefund:
		return d.adjustSpend(orig.At, -sign*int64(orig.Amount))
	}
	return nil
}

// adjustWallet mirrors an operator's points adjustment (admin
// AdjustPoints) in the wallet of a card whose program has rules, so the
// wallet keeps matching the points account: a credit is a lot of its
// own (repaying debt first, expiring by the lot policy), a debit spends
// the live lots soonest-expiring first, as a redemption would.
func (d *decision) adjustWallet(txn *Txn, delta int64) error {
	_, rules := d.loyaltyRules()
	if rules == nil {
		return d.ioErr
	}
	w := d.wallet()
	if delta > 0 {
		expires, _ := rules.Lots.Expiry(d.now, d.s.opts.Location)
		if _, _, err := w.Earn(loyalty.Lot{Seq: txn.Seq, Points: Points(delta), EarnedAt: d.now, Expires: expires}); err != nil {
			return fmt.Errorf("card %s: points credit %d: %w", cardnum.Mask(d.card.PAN), delta, err)
		}
	} else {
		lots := lotsBySeq(w)
		uses, err := w.Redeem(Points(-delta), d.now)
		if err != nil {
			return fmt.Errorf("card %s: points debit %d: %v: %w", cardnum.Mask(d.card.PAN), -delta, err, ErrInsufficientFunds)
		}
		txn.PointUses = lotUses(uses, lots)
	}
	d.storeLoyalty()
	return d.ioErr
}
