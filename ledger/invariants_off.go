//go:build !invariants

package ledger

// invariantsEnabled: see invariants_on.go (build with -tags invariants).
const invariantsEnabled = false
