package terminal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

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
