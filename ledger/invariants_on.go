//go:build invariants

package ledger

// invariantsEnabled turns on the expensive self-checks (build tag
// invariants): every posting keeps holds and card balances non-negative,
// and after every group commit the whole store passes Check.
const invariantsEnabled = true
