package ledger

// check_loyalty.go: the checker's loyalty part: every wallet against
// its points account, and every program's points conserved.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cockroachdb/pebble/v2"
)

// checkWallets verifies, for every card with a wallet (wal/<pan>), the
// wallet's own invariants (loyalty.Wallet.Check: 0 < remaining <= points,
// expiry order, at most MaxLots, debt in range) and that its lots'
// remaining (live and expired not yet removed) less its debt equal the
// card's points balance; that a card without a wallet is not in points
// debt; and, per program, conservation of points:
//
//	−ppt/<prog> (earned − taken back) = Σ pt/<pan> of its cards + prd/<prog> (redeemed) + pbk/<prog> (expired)
//
// which with the journal recomputation above is earned = available +
// redeemed + expired + taken back (expired points stay in their lots
// until the expiry job posts their breakage).
func checkWallets(ctx context.Context, snap *pebble.Snapshot, pointBal map[string]int64, problem func(string, ...any)) error {
	walleted := map[string]int{} // card → its wallet's sealed pages
	get := getterOf(snap)
	err := scan(snap, prefixWallet, func(k, _ []byte) error {
		problem("card %s: a wal/ key, which store format 3 and later keep in the card's values record (cv/)", cardnum.Mask(string(k[len(prefixWallet):])))
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	err = scanCardParts(snap, partWallet, func(pan string, v []byte) error {
		w, err := walletOf(get, pan, v)
		if err != nil {
			return fmt.Errorf("wallet of %s: %w", cardnum.Mask(pan), err)
		}
		walleted[pan] = pagesFor(len(w.Lots))
		if err := w.Check(); err != nil {
			problem("wallet of card %s: %v", cardnum.Mask(pan), err)
			return ctx.Err()
		}
		sum := -int64(w.Debt)
		for _, l := range w.Lots {
			sum += int64(l.Remaining) // at most MaxLots × MaxAmount: no wrap
		}
		if bal := pointBal[accountPoints(pan)]; sum != bal {
			problem("wallet of card %s holds %d points (lots less debt), its points account %d", cardnum.Mask(pan), sum, bal)
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	// A sealed page its wallet does not count would be read by no one
	// and resurface, wrongly, when the wallet grows back to it.
	err = scan(snap, prefixWalletPage, func(k, _ []byte) error {
		pan, n, _ := strings.Cut(string(k[len(prefixWalletPage):]), "/")
		page, err := strconv.Atoi(n)
		if pages, ok := walleted[pan]; !ok || err != nil || page >= pages {
			problem("wallet page %q of card %s: not one its wallet counts", n, cardnum.Mask(pan))
		}
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	cardsOf := map[string]int64{} // program → Σ its cards' points balances
	err = scan(snap, prefixCard, func(k, v []byte) error {
		pan := string(k[len(prefixCard):])
		var c struct {
			ProgramID string `json:"program_id"`
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("card %s: %w", cardnum.Mask(pan), err)
		}
		bal := pointBal[accountPoints(pan)]
		if _, ok := walleted[pan]; bal < 0 && !ok {
			problem("card %s: points balance %d without a wallet", cardnum.Mask(pan), bal)
		}
		cardsOf[c.ProgramID] += bal // a store's cards: far inside int64
		return ctx.Err()
	})
	if err != nil {
		return err
	}
	for _, id := range sortedKeys(pointBal) {
		prog, ok := strings.CutPrefix(id, "ppt/")
		if !ok {
			continue
		}
		issued := -pointBal[id]
		if held := cardsOf[prog] + pointBal[accountPointsRedeemed(prog)] + pointBal[accountBreakage(prog)]; issued != held {
			problem("program %s points: issued %d (earned less taken back), cards hold %d, %d redeemed and %d expired", prog, issued, cardsOf[prog], pointBal[accountPointsRedeemed(prog)], pointBal[accountBreakage(prog)])
		}
	}
	return nil
}
