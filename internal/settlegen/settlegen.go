// Package settlegen fills a ledger with a business date of card
// transactions across many merchants, fast (many requests in flight
// through Store.Submit, so the writer's group commit batches them): the
// journal that the settlement benchmark and the settlement crash test
// settle. Every request is a real one, decided by the real ledger.
package settlegen

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
	"github.com/cardcenter/cardcenter/loyalty"
)

// Config says what to generate.
type Config struct {
	Program   string // default "sp"
	Merchants int    // each a home merchant with one terminal
	Cards     int
	Txns      int // approved purchases, loads and accruals
	// InFlight bounds the requests waiting for the writer (default 2048).
	InFlight int
	// Progress, if not nil, sees the transactions done now and then.
	Progress func(done int)
}

// MID is merchant i's id; TID its terminal's.
func MID(i int) string { return fmt.Sprintf("SGM%012d", i) }
func TID(i int) string { return fmt.Sprintf("SG%06d", i) }

// PAN is card i's.
func PAN(i int) string {
	body := fmt.Sprintf("62109%09d", i)
	return body + string(cardnum.LuhnDigit(body))
}

// maxSTANs is the STANs of one terminal's identities; beyond, requests
// wrap and would collide, so Generate refuses more per terminal.
const maxSTANs = 999_999

// Generate registers the program, merchants, terminals (signed on) and
// cards (each with a stored-value balance), then sends cfg.Txns
// requests: 90 % purchases, 5 % loads, 5 % accruals, card i%Cards at
// merchant (i*7)%Merchants, so most purchases are cross-merchant. It
// returns the first error of any request.
func Generate(ctx context.Context, st *ledger.Store, cfg Config) error {
	if cfg.Program == "" {
		cfg.Program = "sp"
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 2048
	}
	if cfg.Merchants <= 0 || cfg.Cards <= 0 || cfg.Txns/cfg.Merchants+1 > maxSTANs {
		return fmt.Errorf("settlegen: %d merchants, %d cards, %d txns: want merchants and cards, at most %d txns a merchant",
			cfg.Merchants, cfg.Cards, cfg.Txns, maxSTANs)
	}
	err := st.PutProgram(ctx, ledger.Program{ID: cfg.Program, Currency: "156", InterchangeBP: 50, PointCost: 1, RedemptionValue: 1,
		Loyalty: &loyalty.Rules{EarnRateBP: 10000, Lots: loyalty.LotPolicy{Kind: loyalty.LotNever}}})
	if err != nil {
		return err
	}
	for i := range cfg.Merchants {
		m := ledger.Merchant{MID: MID(i), ProgramID: cfg.Program, Name: fmt.Sprintf("merchant %d", i), Home: true,
			MDRBP: int64(30 + i%50), LoadCommissionBP: int64(i % 40)}
		if err := st.PutMerchant(ctx, m); err != nil {
			return err
		}
		if err := st.PutTerminal(ctx, ledger.Terminal{TID: TID(i), MID: MID(i), Enabled: true}); err != nil {
			return err
		}
	}
	stans := make([]int, cfg.Merchants)
	next := func(kind ledger.Kind, m, c int, amount ledger.Amount) *ledger.Request {
		stans[m]++
		mti, proc := "0200", "000000"
		switch kind {
		case ledger.KindSignOn:
			mti, proc = "0800", ""
		case ledger.KindLoad:
			proc = "210000"
		case ledger.KindAccrual:
			proc = "900000"
		}
		r := &ledger.Request{Kind: kind, MTI: mti, ProcCode: proc, TID: TID(m), MID: MID(m), STAN: fmt.Sprintf("%06d", stans[m]),
			Time: "1123100000", Amount: amount, Batch: 1}
		if kind != ledger.KindSignOn {
			r.PAN = PAN(c)
		}
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(r.TID+r.STAN+r.PAN+proc), uint64(amount)))
		copy(r.Fingerprint[:], h[:])
		return r
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	slots := make(chan struct{}, cfg.InFlight)
	submit := func(r *ledger.Request) error {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Add(1)
		err := st.Submit(ctx, r, func(res ledger.Result) {
			if res.Err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("settlegen: %s at %s stan %s: %w", r.Kind, r.TID, r.STAN, res.Err)
				}
				mu.Unlock()
			}
			<-slots
			wg.Done()
		})
		if err != nil {
			<-slots
			wg.Done()
		}
		return err
	}
	for m := range cfg.Merchants {
		if err := submit(next(ledger.KindSignOn, m, 0, 0)); err != nil {
			return err
		}
	}
	wg.Wait()
	// Cards and their opening balances (operator adjustments:
	// program-internal), many at a time, so that group commit batches
	// them.
	per := (cfg.Txns/cfg.Cards + 1) * 20_000
	errs := make(chan error, 64)
	var awg sync.WaitGroup
	for w := range 64 {
		awg.Add(1)
		go func() {
			defer awg.Done()
			for c := w; c < cfg.Cards; c += 64 {
				err := st.PutCard(ctx, ledger.Card{PAN: PAN(c), ProgramID: cfg.Program, HomeMID: MID(c % cfg.Merchants), Product: "magstripe",
					State: ledger.CardActive, Expiry: "4912", Member: ledger.Member{Registered: true}, MaxBalance: ledger.MaxAmount})
				if err == nil {
					_, err = st.Adjust(ctx, PAN(c), ledger.Amount(per), "opening")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	awg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for i := range cfg.Txns {
		c, m := i%cfg.Cards, (i*7)%cfg.Merchants
		amount := ledger.Amount(100 + (i*37)%9900)
		kind := ledger.KindPurchase
		switch i % 20 {
		case 7:
			kind = ledger.KindLoad
		case 13:
			kind = ledger.KindAccrual
		}
		if err := submit(next(kind, m, c, amount)); err != nil {
			return err
		}
		if cfg.Progress != nil && (i+1)%100_000 == 0 {
			cfg.Progress(i + 1)
		}
	}
	wg.Wait()
	return firstErr
}
