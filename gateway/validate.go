package gateway

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"

	"github.com/cardcenter/cardcenter/gateway/wire"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// The validator turns an unpacked message into a ledger request. It never
// rejects outright: a missing or malformed field becomes Request.Invalid,
// which the ledger applies after the retransmission check, exactly where
// the contract's check order puts the 30. Only fields 41 and 42 are checked
// first (errIdentity), because without them there is nobody to look up.

// errIdentity: field 41 or 42 is missing or invalid (→ 30, not stored).
var errIdentity = fmt.Errorf("field 41 or 42 missing or invalid: %w", ledger.ErrInvalidField)

func invalid(field int, why string) error {
	return fmt.Errorf("field %d %s: %w", field, why, ledger.ErrInvalidField)
}

// repeatOf folds a repeat MTI into its first (wire.FirstOf).
func repeatOf(mti string) string { return wire.FirstOf(mti) }

// ResponseMTI is the MTI of the response to mti (wire.ResponseMTI).
func ResponseMTI(mti string) string { return wire.ResponseMTI(mti) }

// classify derives the kind of request from MTI, processing code and
// field 70.
func classify(mti string, m *wire.Message) ledger.Kind {
	proc, _ := m.Get(3)
	switch mti {
	case "0800":
		switch m.Fields[70] {
		case "001":
			return ledger.KindSignOn
		case "002":
			return ledger.KindSignOff
		case "101":
			return ledger.KindKeyChange
		case "301":
			return ledger.KindEcho
		}
		return ledger.KindNetworkOther
	case "0100":
		switch proc {
		case "310000":
			return ledger.KindBalance
		case "000000":
			return ledger.KindPreAuth
		}
	case "0200":
		switch proc {
		case "000000":
			return ledger.KindPurchase
		case "200000":
			return ledger.KindRefund
		case "210000":
			return ledger.KindLoad
		case "020000":
			return ledger.KindVoid
		case "900000":
			return ledger.KindAccrual
		case "910000":
			return ledger.KindRedeem
		}
	case "0220":
		if proc == "000000" {
			return ledger.KindCompletion
		}
	case "0400", "0420":
		return ledger.KindReversal
	case "0500":
		switch proc {
		case "920000":
			return ledger.KindBatchClose
		case "960000":
			return ledger.KindBatchCloseAfterUpload
		}
	case "0320":
		return ledger.KindBatchUpload
	}
	return ledger.KindUnsupported
}

// isPrintable: ans content (printable ASCII).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == ' ') {
			return false
		}
	}
	return true
}

func between(s string, lo, hi int) bool {
	v, err := strconv.Atoi(s)
	return err == nil && v >= lo && v <= hi
}

// daysIn is the most days a month can have (February: 29, since field 7
// carries no year).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func validMMDD(s string) bool {
	if len(s) != 4 || !between(s[0:2], 1, 12) {
		return false
	}
	m, _ := strconv.Atoi(s[0:2])
	return between(s[2:4], 1, daysIn[m])
}

// validTransmissionTime checks field 7, MMDDhhmmss.
func validTransmissionTime(s string) bool {
	return len(s) == 10 && cardnum.Digits(s) && validMMDD(s[0:4]) &&
		between(s[4:6], 0, 23) && between(s[6:8], 0, 59) && between(s[8:10], 0, 59)
}

func validYYMM(s string) bool { return len(s) == 4 && cardnum.Digits(s) && between(s[2:4], 1, 12) }

// parseTrack2 splits track 2 equivalent data: PAN, separator ('=' or
// 'D'), expiry YYMM, service code, discretionary data.
func parseTrack2(t string) (pan, exp string, ok bool) {
	sep := -1
	for i := 0; i < len(t); i++ {
		if t[i] == '=' || t[i] == 'D' {
			sep = i
			break
		}
	}
	if sep < 12 || sep > 19 || !cardnum.Digits(t[:sep]) {
		return "", "", false
	}
	rest := t[sep+1:]
	if len(rest) < 7 || !validYYMM(rest[:4]) || !cardnum.Digits(rest) {
		return "", "", false
	}
	return t[:sep], rest[:4], true
}

// toRequest builds the ledger request of m. It returns errIdentity when
// 41 or 42 is missing or invalid; every other fault is in Request.Invalid.
func toRequest(m *wire.Message) (*ledger.Request, error) {
	tid, ok1 := m.Get(41)
	mid, ok2 := m.Get(42)
	if !ok1 || !ok2 || len(tid) != 8 || len(mid) != 15 || !isPrintable(tid) || !isPrintable(mid) {
		return nil, errIdentity
	}
	mti := repeatOf(m.MTI)
	r := &ledger.Request{MTI: mti, TID: tid, MID: mid, Kind: classify(mti, m)}
	r.ProcCode = m.Fields[3]
	r.STAN = m.Fields[11]
	r.Time = m.Fields[7]
	r.Fingerprint = fingerprint(mti, m)
	r.Invalid = fill(r, m)
	return r, nil
}

// fill checks the mandatory fields of r's kind and copies their values.
// The first fault found is returned.
func fill(r *ledger.Request, m *wire.Message) error {
	f := m.Fields
	if !validTransmissionTime(f[7]) {
		return invalid(7, "missing or not MMDDhhmmss")
	}
	if len(f[11]) != 6 || !cardnum.Digits(f[11]) {
		return invalid(11, "missing or not 6 digits")
	}
	// Optional fields are still checked when present.
	for _, n := range []int{3, 4, 12, 13, 22, 23, 25, 49, 70} {
		if v, ok := f[n]; ok && !cardnum.Digits(v) {
			return invalid(n, "not numeric")
		}
	}
	if v, ok := f[12]; ok && (len(v) != 6 || !between(v[0:2], 0, 23) || !between(v[2:4], 0, 59) || !between(v[4:6], 0, 59)) {
		return invalid(12, "not hhmmss")
	}
	if v, ok := f[13]; ok && !validMMDD(v) {
		return invalid(13, "not MMDD")
	}
	// The host keeps money in fen of CNY: any other currency is invalid
	// content wherever field 49 appears.
	if v, ok := f[49]; ok && v != "156" {
		return invalid(49, "not 156 (CNY)")
	}
	if v, ok := f[37]; ok && (len(v) != 12 || !isAlnum(v)) {
		return invalid(37, "not 12 alphanumerics")
	}
	for _, n := range []int{48, 60} {
		if v, ok := f[n]; ok && !isPrintable(v) {
			return invalid(n, "not printable")
		}
	}

	k := r.Kind
	switch r.MTI {
	case "0800":
		if _, ok := f[70]; !ok {
			return invalid(70, "missing")
		}
		return nil
	case "0100", "0200", "0220", "0400", "0420", "0320":
	case "0500":
		return fillBatchClose(r, f)
	default:
		return nil // unsupported MTI: 12 from the ledger
	}

	if _, ok := f[3]; !ok {
		return invalid(3, "missing")
	}
	if err := fillCard(r, f); err != nil {
		return err
	}
	if v, ok := f[4]; ok {
		amt, _ := strconv.ParseInt(v, 10, 64)
		r.Amount = ledger.Amount(amt)
	} else if k != ledger.KindBalance {
		return invalid(4, "missing")
	}
	entry, ok := f[22]
	if !ok {
		return invalid(22, "missing")
	}
	if !validEntryMode(entry) {
		return invalid(22, "not a known POS entry mode")
	}
	r.EntryMode = entry
	if isChipEntry(entry) {
		if err := checkICC(f); err != nil {
			return err
		}
	}
	if r.MTI != "0100" && r.MTI != "0320" {
		if _, ok := f[49]; !ok {
			return invalid(49, "missing")
		}
	}
	if err := fillBatchNumber(r, f, r.MTI != "0100"); err != nil {
		return err
	}
	if k == ledger.KindVoid || k == ledger.KindCompletion || k == ledger.KindReversal || k == ledger.KindBatchUpload {
		v, ok := f[90]
		if !ok {
			return invalid(90, "missing")
		}
		if len(v) != 42 || !cardnum.Digits(v) || v[20:] != "0000000000000000000000" || !validTransmissionTime(v[10:20]) {
			return invalid(90, "not MTI, STAN, field 7 and 22 zeros")
		}
		r.Orig = ledger.OrigRef{MTI: repeatOf(v[0:4]), STAN: v[4:10], Time: v[10:20]}
	}
	if k == ledger.KindRefund || k == ledger.KindBatchUpload {
		v, ok := f[37]
		if !ok {
			return invalid(37, "missing")
		}
		r.OrigRRN = v
	}
	return nil
}

// checkICC checks a chip request's field 23 and field 55: strict BER-TLV
// with every tag of contract section 7 (cardcrypto.ParseICC's rules).
// The error names the tag, never a value.
func checkICC(f map[int]string) error {
	v55, ok := f[55]
	if !ok {
		return invalid(55, "missing in a chip request")
	}
	if _, ok := f[23]; !ok {
		return invalid(23, "missing in a chip request")
	}
	icc, err := cardcrypto.ParseICC([]byte(v55))
	if err != nil {
		return fmt.Errorf("field 55: %w: %w", err, ledger.ErrInvalidField)
	}
	if missing := icc.Missing(); len(missing) > 0 {
		return invalid(55, "lacks tag "+strings.Join(missing, ", "))
	}
	if _, err := icc.ARQCData(); err != nil {
		return fmt.Errorf("field 55: %w: %w", err, ledger.ErrInvalidField)
	}
	return nil
}

func validEntryMode(v string) bool {
	if len(v) != 3 {
		return false
	}
	switch v[:2] {
	case "01", "02", "05", "07", "90":
		return true
	}
	return false
}

// fillCard reads the card from field 35, or from 2 with 14.
func fillCard(r *ledger.Request, f map[int]string) error {
	pan2, has2 := f[2]
	if has2 && (len(pan2) < 12 || len(pan2) > 19 || !cardnum.Digits(pan2)) {
		return invalid(2, "not a PAN of 12 to 19 digits")
	}
	exp14, has14 := f[14]
	if has14 && !validYYMM(exp14) {
		return invalid(14, "not YYMM")
	}
	if t2, ok := f[35]; ok {
		pan, exp, ok := parseTrack2(t2)
		if !ok {
			return invalid(35, "not track 2 equivalent data")
		}
		if has2 && pan2 != pan {
			return invalid(2, "differs from the PAN in field 35")
		}
		r.PAN, r.CardExp = pan, exp
		if has14 && exp14 != exp {
			return invalid(14, "differs from the expiry in field 35")
		}
		return nil
	}
	if !has2 {
		return invalid(35, "missing (and no field 2)")
	}
	if !has14 {
		return invalid(14, "missing with field 2")
	}
	r.PAN, r.CardExp = pan2, exp14
	return nil
}

func fillBatchNumber(r *ledger.Request, f map[int]string, mandatory bool) error {
	v, ok := f[60]
	if !ok {
		if mandatory {
			return invalid(60, "missing")
		}
		return nil
	}
	if len(v) != 6 || !cardnum.Digits(v) || v == "000000" {
		return invalid(60, "not a 6-digit batch number")
	}
	n, _ := strconv.Atoi(v)
	r.Batch = uint32(n)
	return nil
}

func fillBatchClose(r *ledger.Request, f map[int]string) error {
	if _, ok := f[3]; !ok {
		return invalid(3, "missing")
	}
	v, ok := f[48]
	if !ok {
		return invalid(48, "missing")
	}
	if len(v) != 30 || !cardnum.Digits(v) {
		return invalid(48, "not 30 digits of batch totals")
	}
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	r.Totals = ledger.BatchTotals{
		DebitCount: num(v[0:3]), DebitAmount: ledger.Amount(num(v[3:15])),
		CreditCount: num(v[15:18]), CreditAmount: ledger.Amount(num(v[18:30])),
	}
	return fillBatchNumber(r, f, true)
}

// fingerprint digests a request's whole content except the MAC (64, 128),
// with a repeat MTI folded into its first, so that a repeat and its first
// compare equal: SHA-256, cut to 16 bytes, of the MTI and then, in field
// order, each field as "number:length:value". The ledger stores it with
// every answer, so these bytes are a stored format: a change would make
// every retransmission of a request decided before it a 94.
func fingerprint(mti string, m *wire.Message) [16]byte {
	var numsArr [maxFingerprintFields]int
	nums := numsArr[:0]
	for n := range m.Fields {
		if n != 64 && n != 128 {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	var bufArr [512]byte // a request's fields fit; a longer one grows
	buf := append(bufArr[:0], mti...)
	for _, n := range nums {
		v := m.Fields[n]
		buf = strconv.AppendInt(buf, int64(n), 10)
		buf = append(buf, ':')
		buf = strconv.AppendInt(buf, int64(len(v)), 10)
		buf = append(buf, ':')
		buf = append(buf, v...)
	}
	sum := sha256.Sum256(buf)
	return [16]byte(sum[:16])
}

// maxFingerprintFields: the fields of a request that fingerprint sorts
// without allocating (the packagers' specs list 30).
const maxFingerprintFields = 32
