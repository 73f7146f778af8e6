package provision

import (
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/internal/cardnum"
	"github.com/cardcenter/cardcenter/ledger"
)

// Keys, PINs and card products in a provisioning file. A clear key or PIN
// in a file is for test programs: a production program loads its keys as
// custodians' components through the admin API. Either way the store keeps
// only the sealed key (and its check value) or the PIN's one-way
// verification data. Errors about a key or a PIN never repeat its value.

// Limits on card products.
const (
	maxProducts       = 32
	maxProductNameLen = 32
)

// pinCodes are the processing codes a product may ask a PIN for: the 0100
// and 0200 requests that can need one (a void never does).
var pinCodes = map[string]string{
	"310000": "balance inquiry", "000000": "purchase or pre-authorization",
	"200000": "refund", "210000": "load", "900000": "points accrual", "910000": "points redemption",
}

// CheckPIN validates a clear PIN: 4 to 12 digits. The error does not
// repeat it.
func CheckPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 || !cardnum.Digits(pin) {
		return fmt.Errorf("want 4 to 12 digits (%d characters given)", len(pin))
	}
	return nil
}

// key reads a double-length key of 32 hex digits; "" is no key.
func (c *conv) key(path, v string) []byte {
	if v == "" {
		return nil
	}
	k, err := cardcrypto.ParseKeyHex(path, v)
	if err != nil {
		c.fail(path, "want 32 hex digits, a double-length key (%d characters given)", len(v))
		return nil
	}
	return k
}

// hexKey is a key as the file writes it ("" for none).
func hexKey(k []byte) string {
	if k == nil {
		return ""
	}
	return strings.ToUpper(hex.EncodeToString(k))
}

// products converts a program's card products.
func (c *conv) products(path string, raw []rawProduct) []ledger.Product {
	if len(raw) > maxProducts {
		c.fail(path, "%d products: at most %d per program", len(raw), maxProducts)
		return nil
	}
	var out []ledger.Product
	for i, r := range raw {
		p := fmt.Sprintf("%s[%d].", path, i)
		pr := ledger.Product{Name: r.Name, Kind: r.Kind}
		codes := make([]string, 0, len(r.PINRequired))
		for code := range r.PINRequired {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		for _, code := range codes {
			if _, ok := pinCodes[code]; !ok {
				c.fail(p+"pin_required."+code, "%q: not a processing code that can need a PIN; want one of %s", code, pinCodeList())
				continue
			}
			if pr.PINRequired == nil {
				pr.PINRequired = map[string]ledger.Amount{}
			}
			pr.PINRequired[code] = c.amount(p+"pin_required."+code, r.PINRequired[code])
		}
		out = append(out, pr)
	}
	return out
}

func pinCodeList() string {
	codes := make([]string, 0, len(pinCodes))
	for c := range pinCodes {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}

// checkProducts validates a program's products: unique names that are
// not built-in ones, a known kind, amounts not negative.
func checkProducts(e *errs, products []ledger.Product) {
	seen := map[string]int{}
	for i, pr := range products {
		p := fmt.Sprintf("products[%d].", i)
		switch {
		case pr.Name == "":
			e.add(p+"name", 0, "missing")
		case len(pr.Name) > maxProductNameLen || !isIDString(pr.Name):
			e.add(p+"name", 0, "%q: want 1 to %d letters, digits, '-', '_' or '.'", pr.Name, maxProductNameLen)
		case isBuiltinProduct(pr.Name):
			e.add(p+"name", 0, "%q is a built-in product (magstripe, chip, both need no PIN): choose another name", pr.Name)
		default:
			if j, dup := seen[pr.Name]; dup {
				e.add(p+"name", 0, "%q given twice (first at products[%d])", pr.Name, j)
			}
			seen[pr.Name] = i
		}
		if !isBuiltinProduct(pr.Kind) {
			e.add(p+"kind", 0, "%q: want magstripe, chip or both", pr.Kind)
		}
		for code, amt := range pr.PINRequired {
			if amt < 0 {
				e.add(p+"pin_required."+code, 0, "must not be negative")
			}
		}
	}
}

func isBuiltinProduct(name string) bool {
	for _, b := range ledger.BuiltinProducts {
		if b == name {
			return true
		}
	}
	return false
}

// TerminalTMK returns the clear terminal master key the file gives
// terminal tid, nil when it gives none. Only a simulator acting as that
// terminal has a use for it (test programs: a production TMK never is in
// a file).
func (f *File) TerminalTMK(tid string) []byte {
	if k := f.Keys.TMK[tid]; k != nil {
		return append([]byte(nil), k...)
	}
	return nil
}

// Product returns the product name of the file's program prog, a
// built-in one (magstripe, chip, both) included; false when the program
// is not in the file or has no such product. A simulator uses it to know
// whether a card is a chip card and when its holder is asked for a PIN.
func (f *File) Product(prog, name string) (ledger.Product, bool) {
	for i := range f.Programs {
		if f.Programs[i].ID == prog {
			return f.Programs[i].Product(name)
		}
	}
	return ledger.Product{}, false
}
