package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// runner.go: the Runner: runs a parsed scenario's steps on its terminals
// and reports each result; scenario.go parses the files.
// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Terminals are the terminals a scenario may drive; the first is
	// current until a "terminal TID" line switches.
	Terminals []*Terminal
	// Cards maps card names (card=alice) to cards.
	Cards map[string]Card
	// DefaultExpiry is the expiry of a literal PAN given without exp=
	// (default DefaultExpiry).
	DefaultExpiry string
	// ChipIMK is the issuer master key (16 bytes, clear: test programs only)
	// of an entry=chip step that has no imk= and whose card has no Chip.
	ChipIMK []byte
	// CardholderPIN, when set, is the PIN the holder of the card named
	// card (a name from Cards) types for a request with processing code
	// procCode and amount, when the step gives no pin=: "" for none. A
	// simulator answers with the card's PIN when its product asks for
	// one. pin=none on a step enters none.
	CardholderPIN func(card, procCode string, amount Fen) string
	// Out receives one line per request; nil discards them.
	Out io.Writer
}

// Runner executes scenario steps against terminals and writes one line per
// request. Labels (as=) live as long as the Runner.
type Runner struct {
	cfg      RunnerConfig
	cur      *Terminal
	byTID    map[string]*Terminal
	labels   map[string]labelled
	failures []string
	lastRC   string
}

type labelled struct {
	tid string
	txn Txn
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if len(cfg.Terminals) == 0 {
		return nil, errors.New("scenario runner: no terminals")
	}
	if cfg.DefaultExpiry == "" {
		cfg.DefaultExpiry = DefaultExpiry
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ChipIMK != nil && len(cfg.ChipIMK) != cardcrypto.KeyLen {
		return nil, fmt.Errorf("scenario runner: %w: chip IMK is %d bytes, want %d", ErrBadKey, len(cfg.ChipIMK), cardcrypto.KeyLen)
	}
	r := &Runner{cfg: cfg, cur: cfg.Terminals[0], byTID: map[string]*Terminal{}, labels: map[string]labelled{}}
	for _, t := range cfg.Terminals {
		r.byTID[t.TID()] = t
	}
	return r, nil
}

// Check reports, before anything is sent, every step that names an unknown
// terminal or card or uses a label before a step defines it.
func (r *Runner) Check(sc *Scenario) error {
	var errs []error
	labels := map[string]bool{}
	for k := range r.labels {
		labels[k] = true
	}
	for _, st := range sc.Steps {
		fail := func(format string, a ...any) {
			if len(errs) < maxScenarioErrors {
				errs = append(errs, &ScenarioError{sc.Name, st.Line, fmt.Sprintf(format, a...)})
			}
		}
		if st.Op == OpTerminal {
			if r.terminal(st.TID) == nil {
				fail("unknown terminal %q (have %s, or 1..%d by position)", st.TID, strings.Join(r.tids(), ", "), len(r.cfg.Terminals))
			}
		}
		if st.Card != "" && !cardnum.Digits(st.Card) {
			if _, ok := r.cfg.Cards[st.Card]; !ok {
				fail("unknown card %q", st.Card)
			}
		}
		if st.Chip && st.IMK == "" && r.cfg.ChipIMK == nil {
			if c, ok := r.cfg.Cards[st.Card]; !ok || c.Chip == nil || c.Chip.IMK == nil {
				fail("entry=chip needs imk= (the card has no chip key and the runner no ChipIMK)")
			}
		}
		if name, ok := strings.CutPrefix(st.Ref, "@"); ok && name != "last" && !labels[name] {
			fail("label @%s is not defined by an earlier step", name)
		}
		if st.Label != "" {
			labels[st.Label] = true
		}
	}
	return errors.Join(errs...)
}

// terminal resolves a terminal by TID or by its 1-based position.
func (r *Runner) terminal(ref string) *Terminal {
	if t := r.byTID[ref]; t != nil {
		return t
	}
	if len(ref) <= 3 && cardnum.Digits(ref) {
		if i, err := strconv.Atoi(ref); err == nil && i >= 1 && i <= len(r.cfg.Terminals) {
			return r.cfg.Terminals[i-1]
		}
	}
	return nil
}

func (r *Runner) tids() []string {
	var s []string
	for tid := range r.byTID {
		s = append(s, tid)
	}
	sort.Strings(s)
	return s
}

// Run checks sc and executes its steps in order. It stops at the first step
// that gets no valid response (the error names the line); a response code
// other than a step's expect= is reported and the run goes on; the returned
// error then wraps ErrExpectation and lists them.
func (r *Runner) Run(ctx context.Context, sc *Scenario) error {
	if err := r.Check(sc); err != nil {
		return err
	}
	for _, st := range sc.Steps {
		if err := r.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s:%d: %w", sc.Name, st.Line, err)
		}
	}
	if len(r.failures) > 0 {
		return fmt.Errorf("%s: %w: %s", sc.Name, ErrExpectation, strings.Join(r.failures, "; "))
	}
	return nil
}

// Failures returns the expectations that failed so far, one "line N: ..." each.
func (r *Runner) Failures() []string { return append([]string(nil), r.failures...) }

// LastRC is the response code of the last request Exec or Run sent ("" when
// it was not answered); after a settle, that of the batch close. One-shot
// tools turn it into their exit status.
func (r *Runner) LastRC() string { return r.lastRC }

// card resolves a step's card.
func (r *Runner) card(st Step) (Card, error) {
	var c Card
	if st.Card == "" || cardnum.Digits(st.Card) {
		c = Card{PAN: st.Card, Expiry: st.Exp}
		if c.Expiry == "" {
			c.Expiry = r.cfg.DefaultExpiry
		}
	} else {
		var ok bool
		if c, ok = r.cfg.Cards[st.Card]; !ok {
			return Card{}, fmt.Errorf("unknown card %q", st.Card)
		}
	}
	switch {
	case st.NoPIN:
		c.PIN = ""
	case st.PIN != "":
		c.PIN = st.PIN
	case c.PIN == "" && r.cfg.CardholderPIN != nil && !cardnum.Digits(st.Card):
		c.PIN = r.cfg.CardholderPIN(st.Card, opProcCode[st.Op], st.Amount)
	}
	if st.Manual {
		c.Manual = true
	}
	if !st.Chip {
		c.Chip = nil // a chip card swiped or keyed in
		return c, nil
	}
	var ch ChipCard
	if c.Chip != nil {
		ch = *c.Chip
	}
	if st.IMK != "" {
		imk, err := cardcrypto.ParseKeyHex("imk", st.IMK)
		if err != nil {
			return Card{}, err
		}
		ch.IMK = imk
	}
	if ch.IMK == nil {
		ch.IMK = r.cfg.ChipIMK
	}
	if ch.IMK == nil {
		return Card{}, fmt.Errorf("%w: entry=chip for %s without an IMK", ErrChip, cardnum.Mask(c.PAN))
	}
	if st.PSN != "" {
		ch.PSN = st.PSN
	}
	ch.PSN = ch.psn()
	c.Chip = &ch
	// The card's counter travels with it from terminal to terminal.
	for _, o := range r.cfg.Terminals {
		r.cur.RaiseATC(c.PAN, ch.PSN, o.ATC(c.PAN, ch.PSN))
	}
	return c, nil
}

// original resolves a step's reference to a transaction.
func (r *Runner) original(ref string) (Txn, error) {
	name, isLabel := strings.CutPrefix(ref, "@")
	switch {
	case isLabel && name == "last":
		if x, ok := r.cur.LastApproved(); ok {
			return x, nil
		}
		return Txn{}, fmt.Errorf("@last: %w: terminal %s has no approved transaction in its open batch", ErrNotFound, r.cur.TID())
	case isLabel:
		l, ok := r.labels[name]
		if !ok {
			return Txn{}, fmt.Errorf("@%s: %w: label not defined", name, ErrNotFound)
		}
		// Prefer the terminal's current view (voided, reversed) of the labelled transaction.
		if t := r.byTID[l.tid]; t != nil && l.txn.RRN != "" {
			if x, ok := t.FindRRN(l.txn.RRN); ok && x.ID() == l.txn.ID() {
				return x, nil
			}
		}
		return l.txn, nil
	default:
		if x, ok := r.cur.FindRRN(ref); ok {
			return x, nil
		}
		return Txn{}, fmt.Errorf("RRN %s: %w in the open batch of terminal %s", ref, ErrNotFound, r.cur.TID())
	}
}

// Exec executes one step and writes its line(s).
func (r *Runner) Exec(ctx context.Context, st Step) error {
	t := r.cur
	r.lastRC = ""
	var (
		res *Result
		err error
	)
	needCard := func() (Card, error) { return r.card(st) }
	switch st.Op {
	case OpTerminal:
		nt := r.terminal(st.TID)
		if nt == nil {
			return fmt.Errorf("unknown terminal %q", st.TID)
		}
		r.cur = nt
		return nil
	case OpSignOn:
		res, err = t.SignOn(ctx)
	case OpSignOff:
		res, err = t.SignOff(ctx)
	case OpEcho:
		res, err = t.Echo(ctx)
	case OpKeyChange:
		res, err = t.KeyChange(ctx)
	case OpSettle:
		return r.settle(ctx, st)
	case OpBalance, OpPreAuth, OpPurchase, OpLoad, OpAccrual, OpRedeem:
		c, cerr := needCard()
		if cerr != nil {
			return cerr
		}
		switch st.Op {
		case OpBalance:
			res, err = t.Balance(ctx, c)
		case OpPreAuth:
			res, err = t.PreAuth(ctx, c, st.Amount)
		case OpPurchase:
			res, err = t.Purchase(ctx, c, st.Amount)
		case OpLoad:
			res, err = t.Load(ctx, c, st.Amount)
		case OpAccrual:
			res, err = t.Accrual(ctx, c, st.Amount)
		case OpRedeem:
			res, err = t.Redeem(ctx, c, st.Amount)
		}
	case OpRefund:
		rrn := st.Ref
		var c Card
		if strings.HasPrefix(st.Ref, "@") {
			orig, oerr := r.original(st.Ref)
			if oerr != nil {
				return oerr
			}
			if orig.RRN == "" {
				return fmt.Errorf("%s: the transaction has no RRN (not approved)", st.Ref)
			}
			rrn = orig.RRN
			c = orig.card()
		}
		if st.Card != "" {
			var cerr error
			if c, cerr = needCard(); cerr != nil {
				return cerr
			}
		}
		res, err = t.Refund(ctx, c, rrn, st.Amount)
	case OpComplete, OpVoid, OpReverse:
		orig, oerr := r.original(st.Ref)
		if oerr != nil {
			return oerr
		}
		switch st.Op {
		case OpComplete:
			res, err = t.Complete(ctx, orig, st.Amount)
		case OpVoid:
			res, err = t.Void(ctx, orig)
		case OpReverse:
			res, err = t.Reverse(ctx, orig)
		}
	default:
		return fmt.Errorf("operation %q not supported", st.Op)
	}
	if res != nil {
		r.lastRC = res.RC
		fmt.Fprintln(r.cfg.Out, FormatResult(res, err))
		if st.Label != "" {
			r.labels[st.Label] = labelled{tid: t.TID(), txn: res.Txn}
		}
	}
	if err != nil && (res == nil || res.RC == "") {
		return err
	}
	r.expect(st, res)
	return err
}

func (r *Runner) expect(st Step, res *Result) {
	if st.Expect == "" || res == nil || res.RC == st.Expect {
		return
	}
	r.failures = append(r.failures, fmt.Sprintf("line %d: %s want %s, got %s", st.Line, st.Op, st.Expect, res.RC))
	fmt.Fprintf(r.cfg.Out, "  ^ line %d: expected %s (%s), got %s (%s)\n", st.Line, st.Expect, RCMeaning(st.Expect), res.RC, RCMeaning(res.RC))
}

func (r *Runner) settle(ctx context.Context, st Step) error {
	sr, err := r.cur.Settle(ctx)
	if sr != nil {
		for _, res := range append(append([]*Result{sr.Settle}, sr.Uploads...), sr.Close) {
			if res == nil {
				continue
			}
			line := FormatResult(res, nil)
			if res.Op != OpUpload {
				line += fmt.Sprintf(" batch=%06d debits=%d/%s credits=%d/%s", sr.Batch,
					sr.Totals.DebitCount, sr.Totals.DebitAmount, sr.Totals.CreditCount, sr.Totals.CreditAmount)
			}
			fmt.Fprintln(r.cfg.Out, line)
		}
	}
	if err != nil {
		return err
	}
	final := sr.Settle
	if sr.Close != nil {
		final = sr.Close
	}
	if final != nil {
		r.lastRC = final.RC
	}
	r.expect(st, final)
	return nil
}

// FormatResult formats one request's outcome as one readable line: time,
// TID, operation, masked PAN, amount in yuan, response code and its meaning,
// RRN, and the balances after. It never shows more of a card than the
// masked PAN.
func FormatResult(res *Result, err error) string {
	var sb strings.Builder
	ts := res.Time.UTC().Format(time.DateTime)
	pan := "-"
	if res.Txn.PAN != "" {
		pan = cardnum.Mask(res.Txn.PAN)
	}
	amount := "-"
	switch res.Op {
	case OpSignOn, OpSignOff, OpEcho, OpKeyChange, OpBalance, OpSettle, OpClose:
	default:
		amount = res.Txn.Amount.String()
	}
	rc := res.RC
	meaning := resultMeaning(res.Op, rc)
	if rc == "" {
		rc, meaning = "--", "no response"
	}
	fmt.Fprintf(&sb, "%s %s %-9s %-19s %12s  %s %-24s", ts, res.TID, res.Op, pan, amount, rc, meaning)
	if res.RRN != "" {
		fmt.Fprintf(&sb, " rrn=%s", res.RRN)
	}
	if b := res.Balances; b != nil {
		fmt.Fprintf(&sb, " ledger=%s avail=%s points=%d", b.Ledger, b.Available, b.Points)
		if b.Earned != 0 {
			fmt.Fprintf(&sb, " earned=%d", b.Earned)
		}
		if b.Debited != 0 {
			fmt.Fprintf(&sb, " debited=%d", b.Debited)
		}
	} else if res.BalancesErr != nil {
		sb.WriteString(" balances=malformed")
	}
	if res.KeysTaken {
		sb.WriteString(" keys=ok")
	}
	if res.PINEntered {
		sb.WriteString(" pin=entered")
	}
	if res.MACVerified {
		sb.WriteString(" mac=ok")
	}
	if ch := res.Chip; ch != nil {
		fmt.Fprintf(&sb, " atc=%d", ch.ATC)
		if ch.ARPCVerified {
			sb.WriteString(" arpc=ok")
		}
	}
	if err != nil {
		fmt.Fprintf(&sb, " error=%q", err.Error())
	}
	return strings.TrimRight(sb.String(), " ")
}
