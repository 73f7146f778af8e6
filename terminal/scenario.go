package terminal

import (
	"bufio"
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

// OpTerminal is the scenario directive that switches the current terminal
// ("terminal T0000002"); it sends nothing.
const OpTerminal Op = "terminal"

// Limits of scenario files.
const (
	maxScenarioLineBytes = 1024
	maxScenarioSteps     = 10_000
	maxScenarioErrors    = 20 // parse errors reported at once
	maxLabelLen          = 32
)

// DefaultExpiry is the expiry used for a literal PAN given without exp=.
const DefaultExpiry = "4912"

// ErrScenario is wrapped by every ScenarioError; ErrExpectation by the error
// Run returns when a step's expect= did not hold.
var (
	ErrScenario    = errors.New("scenario error")
	ErrExpectation = errors.New("expectation failed")
)

// ScenarioError is a problem with one line of a scenario file.
type ScenarioError struct {
	File   string
	Line   int
	Reason string
}

func (e *ScenarioError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }
func (e *ScenarioError) Unwrap() error { return ErrScenario }

// Step is one parsed scenario line.
type Step struct {
	Line      int
	Op        Op
	TID       string // OpTerminal: the terminal to switch to
	Card      string // card=: an alias or a literal PAN
	Exp       string // exp=YYMM, for a literal PAN
	PIN       string // pin=DIGITS
	NoPIN     bool   // pin=none: the cardholder enters no PIN
	Manual    bool   // entry=manual (entry=swipe is the default)
	Chip      bool   // entry=chip
	IMK       string // imk=: the issuer master key of a chip card, 32 hex characters (upper case)
	PSN       string // psn=: the PAN sequence number of a chip card, 2 digits
	Amount    Fen    // amount=
	HasAmount bool
	Ref       string // the original: @last, @label or a 12-character RRN (positional, ref= or rrn=)
	Label     string // as=
	Expect    string // expect=RC
}

// Scenario is a parsed scenario file.
type Scenario struct {
	Name  string
	Steps []Step
}

// opSyntax says which keys an operation takes. ref is the positional
// original (or ref=; rrn= for refunds).
type opSyntax struct {
	required []string
	optional []string
}

var cardKeys = []string{"exp", "pin", "entry", "imk", "psn"}

var scenarioOps = map[Op]opSyntax{
	OpTerminal:  {required: []string{"tid"}},
	OpSignOn:    {optional: []string{"expect"}},
	OpSignOff:   {optional: []string{"expect"}},
	OpEcho:      {optional: []string{"expect"}},
	OpKeyChange: {optional: []string{"expect"}},
	OpSettle:    {optional: []string{"expect"}},
	OpBalance:   {required: []string{"card"}, optional: append([]string{"expect"}, cardKeys...)},
	OpPreAuth:   {required: []string{"card", "amount"}, optional: append([]string{"expect", "as"}, cardKeys...)},
	OpPurchase:  {required: []string{"card", "amount"}, optional: append([]string{"expect", "as"}, cardKeys...)},
	OpLoad:      {required: []string{"card", "amount"}, optional: append([]string{"expect", "as"}, cardKeys...)},
	OpAccrual:   {required: []string{"card", "amount"}, optional: append([]string{"expect", "as"}, cardKeys...)},
	OpRedeem:    {required: []string{"card", "amount"}, optional: append([]string{"expect", "as"}, cardKeys...)},
	OpRefund:    {required: []string{"ref", "amount"}, optional: append([]string{"expect", "as", "card"}, cardKeys...)},
	OpComplete:  {required: []string{"ref", "amount"}, optional: []string{"expect", "as"}},
	OpVoid:      {required: []string{"ref"}, optional: []string{"expect", "as"}},
	OpReverse:   {required: []string{"ref"}, optional: []string{"expect", "as"}},
}

// ParseScenario reads a scenario file (format in the package doc). It
// reports every bad line it finds (up to 20), each as a *ScenarioError with
// its line number, joined.
func ParseScenario(r io.Reader, name string) (*Scenario, error) {
	sc := &Scenario{Name: name}
	br := bufio.NewReaderSize(r, 4096)
	var errs []error
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		if err == io.EOF && line == "" {
			break
		}
		if err != nil && err != io.EOF {
			if errors.Is(err, errLineTooLong) {
				errs = append(errs, &ScenarioError{name, lineNo, err.Error()})
			} else {
				return nil, fmt.Errorf("scenario %s: %w", name, err)
			}
		} else if st, ok, perr := parseLine(lineNo, line); perr != "" {
			errs = append(errs, &ScenarioError{name, lineNo, cardnum.Scrub(perr)})
		} else if ok {
			if len(sc.Steps) >= maxScenarioSteps {
				errs = append(errs, &ScenarioError{name, lineNo, fmt.Sprintf("more than %d steps", maxScenarioSteps)})
				break
			}
			sc.Steps = append(sc.Steps, st)
		}
		if len(errs) >= maxScenarioErrors || err == io.EOF {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return sc, nil
}

var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxScenarioLineBytes)

// readLine reads one line without its end; an over-long line is consumed
// and reported.
func readLine(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	tooLong := false
	for {
		chunk, isPrefix, err := br.ReadLine()
		if !tooLong {
			sb.Write(chunk)
			if sb.Len() > maxScenarioLineBytes {
				tooLong = true
			}
		}
		if err != nil {
			if tooLong {
				return "", errLineTooLong
			}
			return sb.String(), err
		}
		if !isPrefix {
			break
		}
	}
	if tooLong {
		return "", errLineTooLong
	}
	return sb.String(), nil
}

// ParseStep parses one scenario line (the CLI's one-shot commands use it).
// ok is false for a blank or comment-only line.
func ParseStep(line string) (st Step, ok bool, err error) {
	st, ok, reason := parseLine(1, line)
	if reason != "" {
		return Step{}, false, &ScenarioError{File: "step", Line: 1, Reason: cardnum.Scrub(reason)}
	}
	return st, ok, nil
}

// parseLine parses one line; reason is empty when it is fine.
func parseLine(lineNo int, line string) (st Step, ok bool, reason string) {
	if len(line) > maxScenarioLineBytes {
		return Step{}, false, errLineTooLong.Error()
	}
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' && c != '\r' || c == 0x7f {
			return Step{}, false, fmt.Sprintf("control character 0x%02x", c)
		} else if c >= 0x80 {
			return Step{}, false, "non-ASCII character"
		}
	}
	toks := strings.Fields(line)
	if len(toks) == 0 {
		return Step{}, false, ""
	}
	st.Line = lineNo
	st.Op = Op(toks[0])
	syn, known := scenarioOps[st.Op]
	if !known {
		return Step{}, false, fmt.Sprintf("unknown operation %q", truncate(toks[0]))
	}
	seen := map[string]bool{}
	set := func(key, val string) string {
		allowed := false
		for _, k := range syn.required {
			allowed = allowed || k == key
		}
		for _, k := range syn.optional {
			allowed = allowed || k == key
		}
		if !allowed {
			return fmt.Sprintf("%s does not take %s", st.Op, key)
		}
		if seen[key] {
			return fmt.Sprintf("%s given twice", key)
		}
		seen[key] = true
		if val == "" {
			return fmt.Sprintf("%s is empty", key)
		}
		switch key {
		case "tid":
			if len(val) != 8 && !(len(val) <= 3 && cardnum.Digits(val) && val[0] != '0') {
				return fmt.Sprintf("terminal %q is neither an 8-character TID nor a position 1..999", truncate(val))
			}
			st.TID = val
		case "card":
			if cardnum.Digits(val) && len(val) > 19 || !isName(val) {
				return fmt.Sprintf("card %q is neither a name nor a PAN of up to 19 digits", truncate(val))
			}
			st.Card = val
		case "exp":
			if len(val) != 4 || !cardnum.Digits(val) {
				return fmt.Sprintf("exp %q is not YYMM", truncate(val))
			}
			st.Exp = val
		case "pin":
			if val == "none" {
				st.NoPIN = true
				break
			}
			if len(val) < 4 || len(val) > 12 || !cardnum.Digits(val) {
				return "pin is not 4 to 12 digits"
			}
			st.PIN = val
		case "entry":
			switch val {
			case "manual":
				st.Manual = true
			case "chip":
				st.Chip = true
			case "swipe":
			default:
				return fmt.Sprintf("entry %q is not swipe, manual or chip", truncate(val))
			}
		case "imk":
			if _, err := cardcrypto.ParseKeyHex("imk", val); err != nil {
				return err.Error() // names the key, never echoes it
			}
			st.IMK = strings.ToUpper(val)
		case "psn":
			if len(val) != cardcrypto.PSNLen || !cardnum.Digits(val) {
				return fmt.Sprintf("psn %q is not 2 digits", truncate(val))
			}
			st.PSN = val
		case "amount":
			a, err := ParseYuan(val)
			if err != nil {
				return err.Error()
			}
			st.Amount, st.HasAmount = a, true
		case "ref":
			if r, ok := strings.CutPrefix(val, "@"); ok {
				if !isName(r) {
					return fmt.Sprintf("reference %q is not @ and a name", truncate(val))
				}
			} else if len(val) != 12 || !isName(val) {
				return fmt.Sprintf("reference %q is not @last, @name or a 12-character RRN", truncate(val))
			}
			st.Ref = val
		case "as":
			if !isName(val) || val == "last" {
				return fmt.Sprintf("label %q is not a name (letters, digits, _ and -, not \"last\")", truncate(val))
			}
			st.Label = val
		case "expect":
			if len(val) != 2 || !isName(val) {
				return fmt.Sprintf("expect %q is not a 2-character response code", truncate(val))
			}
			st.Expect = val
		}
		return ""
	}
	positional := ""
	switch st.Op {
	case OpTerminal:
		positional = "tid"
	case OpComplete, OpVoid, OpReverse:
		positional = "ref"
	}
	for _, tok := range toks[1:] {
		key, val, hasEq := strings.Cut(tok, "=")
		if !hasEq {
			if positional == "" {
				return Step{}, false, fmt.Sprintf("unexpected %q (want key=value)", truncate(tok))
			}
			key, val = positional, tok
		} else if key == "rrn" && st.Op == OpRefund {
			key = "ref"
		}
		if r := set(key, val); r != "" {
			return Step{}, false, r
		}
	}
	for _, k := range syn.required {
		if !seen[k] {
			name := k
			switch {
			case k == "ref" && st.Op == OpRefund:
				name = "rrn"
			case k == "ref":
				name = "the original (@last, @name or an RRN)"
			}
			return Step{}, false, fmt.Sprintf("%s needs %s", st.Op, name)
		}
	}
	if (st.IMK != "" || st.PSN != "") && !st.Chip {
		return Step{}, false, "imk= and psn= go with entry=chip"
	}
	if st.Exp != "" && (st.Card == "" || !cardnum.Digits(st.Card)) {
		return Step{}, false, "exp= goes with a literal PAN only"
	}
	if st.Op == OpRefund && st.Card == "" && !strings.HasPrefix(st.Ref, "@") {
		return Step{}, false, "refund of a literal RRN needs card="
	}
	return st, true, ""
}

// isName reports whether s is 1..32 of [A-Za-z0-9_-].
func isName(s string) bool {
	if len(s) == 0 || len(s) > maxLabelLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// String formats st as a scenario line that parses back to st (apart from
// Line). It includes the PIN and the IMK when they were given (scenario
// lines are test input; neither is ever logged).
func (st Step) String() string {
	parts := []string{string(st.Op)}
	switch st.Op {
	case OpTerminal:
		parts = append(parts, st.TID)
	case OpComplete, OpVoid, OpReverse:
		parts = append(parts, st.Ref)
	}
	if st.Card != "" {
		parts = append(parts, "card="+st.Card)
	}
	if st.Exp != "" {
		parts = append(parts, "exp="+st.Exp)
	}
	if st.PIN != "" {
		parts = append(parts, "pin="+st.PIN)
	}
	if st.NoPIN {
		parts = append(parts, "pin=none")
	}
	if st.Manual {
		parts = append(parts, "entry=manual")
	}
	if st.Chip {
		parts = append(parts, "entry=chip")
	}
	if st.IMK != "" {
		parts = append(parts, "imk="+st.IMK)
	}
	if st.PSN != "" {
		parts = append(parts, "psn="+st.PSN)
	}
	if st.Op == OpRefund {
		parts = append(parts, "rrn="+st.Ref)
	}
	if st.HasAmount {
		parts = append(parts, "amount="+st.Amount.String())
	}
	if st.Label != "" {
		parts = append(parts, "as="+st.Label)
	}
	if st.Expect != "" {
		parts = append(parts, "expect="+st.Expect)
	}
	return strings.Join(parts, " ")
}

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
