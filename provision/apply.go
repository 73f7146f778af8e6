package provision

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// applyWorkers bounds the card and terminal writes Apply keeps in flight.
// Each write is one synced ledger change; keeping several in flight lets
// the ledger's group commit put them in one sync.
const applyWorkers = 16

// Notes on the journal entries Apply makes.
const (
	noteOpeningBalance = "opening balance (provision import)"
	noteOpeningPoints  = "opening points (provision import)"
)

// Counts are how many records of one kind Apply created and replaced.
type Counts struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

func (c *Counts) add(existed bool) {
	if existed {
		c.Updated++
	} else {
		c.Created++
	}
}

// Summary is what Apply did.
type Summary struct {
	Programs  Counts `json:"programs"`
	Merchants Counts `json:"merchants"`
	Terminals Counts `json:"terminals"`
	Cards     Counts `json:"cards"`
	// OpeningBalances counts the cards credited with their opening
	// balance; OpeningAmount is the sum credited.
	OpeningBalances int           `json:"opening_balances"`
	OpeningAmount   ledger.Amount `json:"opening_amount_fen"`
	// OpeningPointsCards counts the cards credited with opening points;
	// OpeningPoints is the sum credited.
	OpeningPointsCards int           `json:"opening_points_cards"`
	OpeningPoints      ledger.Points `json:"opening_points"`
	// OpeningsSkipped counts cards with an opening value in the file that
	// already had journal history, so nothing was credited (a re-import).
	OpeningsSkipped int `json:"openings_skipped"`
	// StatesKept counts existing cards whose state or blacklist flag in
	// the store differs from the file: the store's was kept.
	StatesKept int `json:"states_kept"`
	// RulesVersions counts the loyalty rules versions created: programs
	// whose rules in the file differ from the stored ones (a re-import of
	// the same rules creates none).
	RulesVersions int `json:"rules_versions"`
}

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "programs %d created %d updated; merchants %d created %d updated; ",
		s.Programs.Created, s.Programs.Updated, s.Merchants.Created, s.Merchants.Updated)
	fmt.Fprintf(&b, "terminals %d created %d updated; cards %d created %d updated; ",
		s.Terminals.Created, s.Terminals.Updated, s.Cards.Created, s.Cards.Updated)
	fmt.Fprintf(&b, "opening balances %d (%s yuan), opening points %d cards (%d points), openings skipped %d, states kept %d, rules versions %d",
		s.OpeningBalances, s.OpeningAmount, s.OpeningPointsCards, s.OpeningPoints, s.OpeningsSkipped, s.StatesKept, s.RulesVersions)
	return b.String()
}

// plan is what Apply learnt from the store before writing.
type plan struct {
	programExists  []bool
	rulesVersion   []int // the stored rules' version, 0 for none
	merchantExists []bool
	terminalExists []bool
	cards          []*ledger.Card // the stored card, nil for a new one
}

// Apply writes a validated file to the store: programs, then merchants,
// then terminals and cards, then each new card's opening value. Before
// it writes anything it validates the file again and checks every
// reference to a record that is not in the file against the store, so a
// file with a problem changes nothing.
//
// Apply is idempotent, by these rules:
//
//   - programs, merchants, terminals and cards are created or replaced
//     (a terminal's runtime state and a card's balances are kept by the
//     store);
//   - an existing card keeps its state and blacklist flag: those change
//     by operator action (admin API), and a re-import must not undo a
//     card reported lost or stolen;
//   - a card's opening balance and points are credited only while the card
//     has no journal history and zero balances — a new card, or one whose
//     earlier import stopped before its opening value was posted. Once
//     anything was posted to the card, its opening value is never credited
//     again, so importing a file twice does not double a balance. (If a
//     crash falls between a card's opening balance and its opening points,
//     the points are not posted by a re-import; Summary.OpeningsSkipped
//     and the card's history show it, and an operator adjusts.)
//
// A write that fails stops Apply and returns the error with the record's
// key path; what was written before it stays written and a re-run after
// the fix completes the import.
func Apply(ctx context.Context, store *ledger.Store, f *File) (Summary, error) {
	var sum Summary
	if err := f.Validate(); err != nil {
		return sum, err
	}
	pl, err := preflight(store, f)
	if err != nil {
		return sum, err
	}
	for i, p := range f.Programs {
		if k := f.Keys.IMK[p.ID]; k != nil {
			if p.IMK, p.IMKKCV, err = sealKey(k, func(k []byte) ([]byte, error) { return store.SealIMK(p.ID, k) }); err != nil {
				return sum, f.writeErr(fmt.Sprintf("programs[%d].issuer_master_key", i), err)
			}
		}
		if err := store.PutProgram(ctx, p); err != nil {
			return sum, f.writeErr(fmt.Sprintf("programs[%d]", i), err)
		}
		sum.Programs.add(pl.programExists[i])
		if p.Loyalty != nil {
			// PutProgram assigned the version: read what it stored.
			got, err := store.Program(p.ID)
			if err != nil {
				return sum, f.writeErr(fmt.Sprintf("programs[%d].loyalty", i), err)
			}
			if got.Loyalty != nil && got.Loyalty.Version != pl.rulesVersion[i] {
				sum.RulesVersions++
			}
		}
	}
	for i, m := range f.Merchants {
		if err := store.PutMerchant(ctx, m); err != nil {
			return sum, f.writeErr(fmt.Sprintf("merchants[%d]", i), err)
		}
		sum.Merchants.add(pl.merchantExists[i])
	}

	var mu sync.Mutex // guards sum from here on
	err = parallel(ctx, len(f.Terminals), func(ctx context.Context, i int) error {
		term := f.Terminals[i]
		if k := f.Keys.TMK[term.TID]; k != nil {
			var err error
			if term.TMK, term.TMKKCV, err = sealKey(k, func(k []byte) ([]byte, error) { return store.SealTMK(term.TID, k) }); err != nil {
				return f.writeErr(fmt.Sprintf("terminals[%d].tmk", i), err)
			}
		}
		if err := store.PutTerminal(ctx, term); err != nil {
			return f.writeErr(fmt.Sprintf("terminals[%d]", i), err)
		}
		mu.Lock()
		sum.Terminals.add(pl.terminalExists[i])
		mu.Unlock()
		return nil
	})
	if err != nil {
		return sum, err
	}
	err = parallel(ctx, len(f.Cards), func(ctx context.Context, i int) error {
		c := f.Cards[i]
		path := fmt.Sprintf("cards[%d]", i)
		rec := c.Card
		old := pl.cards[i]
		if old != nil {
			rec.State, rec.Blacklisted = old.State, old.Blacklisted
		}
		if c.PIN != "" {
			var err error
			if rec.PINData, err = store.PINData(c.PAN, c.PIN); err != nil {
				return f.writeErr(path+".pin", err)
			}
		}
		if err := store.PutCard(ctx, rec); err != nil {
			return f.writeErr(path, err)
		}
		if c.UID != "" {
			if err := store.PutCardUID(ctx, c.UID, c.PAN); err != nil {
				return f.writeErr(path+".uid", err)
			}
		}
		var o opening
		if c.OpeningBalance > 0 || c.OpeningPoints > 0 {
			var err error
			if o, err = postOpening(ctx, store, &c); err != nil {
				return f.writeErr(path, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Cards.add(old != nil)
		if old != nil && (old.State != c.State || old.Blacklisted != c.Blacklisted) {
			sum.StatesKept++
		}
		if o.skipped {
			sum.OpeningsSkipped++
		}
		if o.amount > 0 {
			sum.OpeningBalances++
			sum.OpeningAmount += o.amount
		}
		if o.points > 0 {
			sum.OpeningPointsCards++
			sum.OpeningPoints += o.points
		}
		return nil
	})
	return sum, err
}

// sealKey seals a clear key with seal and returns it with its check value
// (hex), the form the store keeps.
func sealKey(k []byte, seal func([]byte) ([]byte, error)) ([]byte, string, error) {
	kcv, err := cardcrypto.KCV(k)
	if err != nil {
		return nil, "", err
	}
	sealed, err := seal(k)
	if err != nil {
		return nil, "", err
	}
	return sealed, strings.ToUpper(hex.EncodeToString(kcv)), nil
}

type opening struct {
	amount  ledger.Amount
	points  ledger.Points
	skipped bool
}

// postOpening credits a card's opening value when the card is untouched:
// no journal history and zero balances.
func postOpening(ctx context.Context, store *ledger.Store, c *Card) (opening, error) {
	var o opening
	hist, err := store.CardHistory(c.PAN, 1)
	if err != nil {
		return o, err
	}
	bal, err := store.CardBalances(c.PAN)
	if err != nil {
		return o, err
	}
	if len(hist) > 0 || bal.Ledger != 0 || bal.Available != 0 || bal.Points != 0 {
		o.skipped = true
		return o, nil
	}
	if c.OpeningBalance > 0 {
		if _, err := store.Adjust(ctx, c.PAN, c.OpeningBalance, noteOpeningBalance); err != nil {
			return o, fmt.Errorf("opening balance %s: %w", c.OpeningBalance, err)
		}
		o.amount = c.OpeningBalance
	}
	if c.OpeningPoints > 0 {
		if _, err := store.AdjustPoints(ctx, c.PAN, c.OpeningPoints, noteOpeningPoints); err != nil {
			return o, fmt.Errorf("opening points %d: %w", c.OpeningPoints, err)
		}
		o.points = c.OpeningPoints
	}
	return o, nil
}

// parallel runs fn(0..n-1) on at most applyWorkers goroutines, all of which
// it waits for. The first error cancels the rest and is returned.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	next := make(chan int)
	workers := min(applyWorkers, n)
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// writeErr names the record whose write failed. Ledger errors carry masked
// PANs only; the scrub is a second line of defence.
func (f *File) writeErr(path string, err error) error {
	return &WriteError{Path: path, Line: f.line(path), Err: err}
}

// WriteError is a store write that failed during Apply. Records before it
// may have been written; re-running the import after the fix is safe.
type WriteError struct {
	Path string
	Line int
	Err  error
}

func (e *WriteError) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s (line %d)", e.Path, e.Line)
	}
	return cardnum.Scrub(fmt.Sprintf("provision: write %s: %v (records before it may be written; fix and re-run, the import is idempotent)", loc, e.Err))
}

func (e *WriteError) Unwrap() error { return e.Err }

// preflight checks the file against the store without writing: every
// reference to a record that is not in the file must resolve in the store,
// and no merchant or card may move to another program.
func preflight(store *ledger.Store, f *File) (*plan, error) {
	var e errs
	pl := &plan{
		programExists:  make([]bool, len(f.Programs)),
		rulesVersion:   make([]int, len(f.Programs)),
		merchantExists: make([]bool, len(f.Merchants)),
		terminalExists: make([]bool, len(f.Terminals)),
		cards:          make([]*ledger.Card, len(f.Cards)),
	}
	at := func(path string) int { return f.line(path) }
	notFound := func(err error) bool { return errors.Is(err, ledger.ErrNotFound) }

	inFile := map[string]*ledger.Program{}
	for i := range f.Programs {
		p := &f.Programs[i]
		inFile[p.ID] = p
		old, err := store.Program(p.ID)
		if err != nil && !notFound(err) {
			return nil, fmt.Errorf("provision: read program %s: %w", p.ID, err)
		}
		pl.programExists[i] = err == nil
		if old != nil && old.Loyalty != nil {
			pl.rulesVersion[i] = old.Loyalty.Version
		}
	}
	programKnown := func(id string) (bool, error) {
		if inFile[id] != nil {
			return true, nil
		}
		_, err := store.Program(id)
		if notFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	merchInFile := map[string]*ledger.Merchant{}
	for i := range f.Merchants {
		m := &f.Merchants[i]
		pre := fmt.Sprintf("merchants[%d]", i)
		merchInFile[m.MID] = m
		old, err := store.Merchant(m.MID)
		if err != nil && !notFound(err) {
			return nil, fmt.Errorf("provision: read merchant %s: %w", m.MID, err)
		}
		if old != nil {
			pl.merchantExists[i] = true
			if old.ProgramID != m.ProgramID {
				e.add(pre+".program_id", at(pre+".program_id"), "%q, but merchant %s is in program %q in the store; moving a merchant to another program is not supported", m.ProgramID, m.MID, old.ProgramID)
			}
		}
		if ok, err := programKnown(m.ProgramID); err != nil {
			return nil, fmt.Errorf("provision: read program %s: %w", m.ProgramID, err)
		} else if !ok {
			e.add(pre+".program_id", at(pre+".program_id"), "program %q is neither in this file nor in the store", m.ProgramID)
		}
	}
	if err := preflightCampaignMerchants(store, f, merchInFile, &e); err != nil {
		return nil, err
	}
	merchant := func(mid string) (*ledger.Merchant, error) {
		if m := merchInFile[mid]; m != nil {
			return m, nil
		}
		m, err := store.Merchant(mid)
		if notFound(err) {
			return nil, nil
		}
		return m, err
	}
	for i := range f.Terminals {
		t := &f.Terminals[i]
		pre := fmt.Sprintf("terminals[%d]", i)
		_, _, err := store.Terminal(t.TID)
		if err != nil && !notFound(err) {
			return nil, fmt.Errorf("provision: read terminal %s: %w", t.TID, err)
		}
		pl.terminalExists[i] = err == nil
		if m, err := merchant(t.MID); err != nil {
			return nil, fmt.Errorf("provision: read merchant %s: %w", t.MID, err)
		} else if m == nil {
			e.add(pre+".mid", at(pre+".mid"), "merchant %q is neither in this file nor in the store", t.MID)
		}
		if e.full() {
			break
		}
	}
	for i := range f.Cards {
		c := &f.Cards[i]
		pre := fmt.Sprintf("cards[%d]", i)
		old, err := store.Card(c.PAN)
		if err != nil && !notFound(err) {
			return nil, fmt.Errorf("provision: read card %s: %w", cardnum.Mask(c.PAN), err)
		}
		pl.cards[i] = old
		if old != nil && old.ProgramID != c.ProgramID {
			e.add(pre+".program_id", at(pre+".program_id"), "%q, but card %s is in program %q in the store; moving a card to another program is not supported", c.ProgramID, cardnum.Mask(c.PAN), old.ProgramID)
		}
		if ok, err := programKnown(c.ProgramID); err != nil {
			return nil, fmt.Errorf("provision: read program %s: %w", c.ProgramID, err)
		} else if !ok {
			e.add(pre+".program_id", at(pre+".program_id"), "program %q is neither in this file nor in the store", c.ProgramID)
		}
		if merchInFile[c.HomeMID] == nil { // in-file homes were checked by Validate
			m, err := merchant(c.HomeMID)
			switch {
			case err != nil:
				return nil, fmt.Errorf("provision: read merchant %s: %w", c.HomeMID, err)
			case m == nil:
				e.add(pre+".home_mid", at(pre+".home_mid"), "merchant %q is neither in this file nor in the store", c.HomeMID)
			case !m.Home:
				e.add(pre+".home_mid", at(pre+".home_mid"), "merchant %s is not a home merchant in the store", c.HomeMID)
			case m.ProgramID != c.ProgramID:
				e.add(pre+".home_mid", at(pre+".home_mid"), "merchant %s is in program %q in the store, the card in %q", c.HomeMID, m.ProgramID, c.ProgramID)
			}
		}
		if e.full() {
			break
		}
	}
	if len(e.list) > 0 {
		sortErrors(e.list)
		return nil, e.list
	}
	return pl, nil
}
