package terminal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// Balances is field 54 of a response, parsed (contract section 4).
type Balances struct {
	Ledger    Fen   // 00 01 156: stored value ledger balance
	Available Fen   // 00 02 156: ledger minus holds
	Points    int64 // 90 02 999: points available
	Earned    int64 // 90 90 999 C: points earned by this transaction (0 when absent)
	Debited   int64 // 90 91 999 D: points debited by this transaction (0 when absent)
}

// ErrBadBalances is wrapped by every ParseBalances error.
var ErrBadBalances = errors.New("malformed field 54")

const (
	balanceEntryLen   = 20
	maxBalanceEntries = 6 // an..120
)

// balanceEntry names one kind of field 54 entry: account type, amount type,
// currency, and the sign it naturally carries.
type balanceEntry struct {
	acct, typ, cur string
	sign           byte
}

// field54Order is the order of entries in field 54; the first three are
// mandatory, the last two present only when not zero.
var field54Order = [...]balanceEntry{
	{"00", "01", "156", 'C'},
	{"00", "02", "156", 'C'},
	{"90", "02", "999", 'C'},
	{"90", "90", "999", 'C'},
	{"90", "91", "999", 'D'},
}

// ParseBalances parses field 54 strictly: 20-character entries, 00 01, 00 02
// and 90 02 in that order, then optionally 90 90 and 90 91, each with the
// currency of its account type, a sign C or D and 12 digits (90 90 and 90 91
// only when not zero). A balance entry
// with sign D is negative; 90 90 and 90 91 are reported as the positive number
// of points earned and debited (their natural signs C and D).
func ParseBalances(s string) (Balances, error) {
	var b Balances
	bad := func(format string, a ...any) (Balances, error) {
		quoted := s
		if len(quoted) > maxBalanceEntries*balanceEntryLen {
			quoted = quoted[:maxBalanceEntries*balanceEntryLen] + "..."
		}
		return Balances{}, fmt.Errorf("%w %q: %s", ErrBadBalances, quoted, fmt.Sprintf(format, a...))
	}
	if len(s) == 0 {
		return bad("empty")
	}
	if len(s) > maxBalanceEntries*balanceEntryLen {
		return bad("longer than %d characters", maxBalanceEntries*balanceEntryLen)
	}
	if len(s)%balanceEntryLen != 0 {
		return bad("length %d is not a multiple of %d", len(s), balanceEntryLen)
	}
	next := 0 // index into field54Order of the next entry allowed
	n := len(s) / balanceEntryLen
	for i := 0; i < n; i++ {
		e := s[i*balanceEntryLen : (i+1)*balanceEntryLen]
		acct, typ, cur, sign, digits := e[0:2], e[2:4], e[4:7], e[7], e[8:20]
		k := -1
		for j := next; j < len(field54Order); j++ {
			if field54Order[j].acct == acct && field54Order[j].typ == typ {
				k = j
				break
			}
		}
		if k < 0 {
			return bad("entry %d: account %q amount type %q unknown, repeated or out of order", i+1, acct, typ)
		}
		if next < 3 && k != next {
			return bad("entry %d: mandatory entry %s %s missing", i+1, field54Order[next].acct, field54Order[next].typ)
		}
		want := field54Order[k]
		if cur != want.cur {
			return bad("entry %d: currency %q, want %q", i+1, cur, want.cur)
		}
		if sign != 'C' && sign != 'D' {
			return bad("entry %d: sign %q is not C or D", i+1, string(sign))
		}
		if !cardnum.Digits(digits) {
			return bad("entry %d: amount %q is not 12 digits", i+1, digits)
		}
		v, _ := strconv.ParseInt(digits, 10, 64)
		if k > 2 && v == 0 {
			return bad("entry %d: %s %s is present only when not zero", i+1, acct, typ)
		}
		if sign != want.sign {
			v = -v
		}
		switch k {
		case 0:
			b.Ledger = Fen(v)
		case 1:
			b.Available = Fen(v)
		case 2:
			b.Points = v
		case 3:
			b.Earned = v
		case 4:
			b.Debited = v
		}
		next = k + 1
	}
	if next < 3 {
		return bad("mandatory entry %s %s missing", field54Order[next].acct, field54Order[next].typ)
	}
	return b, nil
}

// Field54 formats b as field 54 (the inverse of ParseBalances). Amounts whose
// magnitude does not fit 12 digits are clamped; they cannot occur on the wire.
func (b Balances) Field54() string {
	var sb strings.Builder
	vals := [...]int64{int64(b.Ledger), int64(b.Available), b.Points, b.Earned, b.Debited}
	for k, e := range field54Order {
		v := vals[k]
		if k > 2 && v == 0 {
			continue
		}
		sign := e.sign
		if v < 0 {
			v = -v
			if sign == 'C' {
				sign = 'D'
			} else {
				sign = 'C'
			}
		}
		if v > 999_999_999_999 || v < 0 {
			v = 999_999_999_999
		}
		fmt.Fprintf(&sb, "%s%s%s%c%012d", e.acct, e.typ, e.cur, sign, v)
	}
	return sb.String()
}
