// Package cardnum is the module's one place for the rules about card numbers
// as text: how a PAN is masked wherever it leaves the ledger (Mask, Scrub),
// whether a string is a digit string (Digits), and the Luhn check digit
// (LuhnValid, LuhnDigit).
//
// # Why here
//
// Every layer needs these rules — the ledger validates and masks cards, the
// gateway and its wire packagers check numeric fields, the terminal side
// masks what it prints, provisioning and the admin API scrub operator
// text — and the terminal must not import the ledger. So the rules live in
// a leaf package that imports only the standard library, below all of
// them. It is under internal/ because masking is this host's card-data
// policy, not an API the module promises to others: it may tighten without
// a compatibility story. It is not called pan because pan is what every
// package names the variable holding a PAN; a package of that name would
// be shadowed exactly where it is needed (cardnum.Mask(pan)).
//
// # The mask
//
// A PAN-like value is 12 to 19 ASCII digits, the range the ledger and the
// terminal contract accept. Mask shows at most the first 6 and the last 4
// digits (PCI DSS 3.4) and always hides at least 6, so that a short PAN
// never shows almost all of itself:
//
//	digits  shown             example
//	12      first 2, last 4   62******0011
//	13      first 3, last 4   621******0011
//	14      first 4, last 4   6210******0011
//	15      first 5, last 4   62100******0011
//	16..19  first 6, last 4   621000******0011
//
// Anything else — empty, shorter than 12 or longer than 19 digits, or
// holding any byte that is not a digit — is not a PAN this host issues and
// is starred completely, one star per byte, so that a mistyped card
// number never shows in part. The output has the input's length, so a
// masked PAN lines up with the field it came from.
//
// Scrub applies Mask to every run of 12 or more digits inside free text
// (errors of unknown origin, operator notes): a last line of defence for
// text that may carry a card number typed in the wrong place.
//
// # Digits
//
// Digits reports whether s is a non-empty string of ASCII digits: the
// empty string is not a number, so a missing field never passes a
// numeric check by accident. Callers that allow an empty value say so
// (s == "" || Digits(s)).
package cardnum
