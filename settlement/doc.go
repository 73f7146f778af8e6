// Package settlement is the nightly batch that tells every merchant of a
// coalition what it owes and is owed for a business date (contract
// section 8), posts it in the ledger, and writes the files merchants
// are paid from. docs/settlement.md documents the arithmetic, every
// column of every file, and the decisions behind them.
//
// # The computation
//
// A date's settlement is a pure function of its journal (the entries the
// ledger booked on the date, read in sequence order with
// ledger.Store.JournalByDate),
// the originals its undos name, and a RateBook. Each journal entry gives
// one Contribution (contrib.go): its Figures from the point of view of
// the merchant where it happened (sales, refunds, loads, redeemed value,
// points earned and redeemed, MDR, interchange to the card's home
// merchant, load commission, point cost), its MerchantNet and, when the
// card's home merchant is another, the HomeNet that merchant receives.
// Fees are rounded half-up to a whole fen once per transaction
// (money.Scale). Rates are the ones the entry recorded when it was
// decided (ledger.Txn.Rates, record version 3); entries from before
// that use the registry's current rates.
//
// Which entries count: purchases, completions, refunds (with their
// points take-back), loads, 900000 accruals and 910000 redemptions.
// Pre-authorizations count nothing (their completion counts). A void or
// reversal and its original on the same date are both Excluded; an undo
// of an original from an earlier date is an Adjustment, the exact
// negation of the original's figures; a reversal of a same-date void
// re-applies the voided entry and counts as it. Operator adjustments,
// mall orders, expiry breakage and settlement postings are
// program-internal and not in merchant settlement (Day.Internal counts
// them).
//
// Computer sums Contributions into a Position per (program, merchant)
// and a ProgramPosition per program, whose Net is minus the sum of its
// merchants' (so positions and program sum to zero by construction; the
// property test checks it from the files). Reports per merchant and day
// reuse Contribution and Figures: they are the one computation of a
// transaction's money.
//
// # Billing, reports, reconciliation
//
// On a month's last business date (ledger.IsMonthEnd) the job also
// bills the month (billing.go): an Invoice per merchant of a program
// with ledger.Program.Billing (a merchant fee and a fee per enabled
// terminal), computed from the registry the first time and recorded in
// the ledger (RecordInvoices) so every rerun bills the same; each
// lowers its merchant's position (Totals.Billing), is posted beside the
// settlement posting with its own marker, and appears as invoice rows
// in the merchant's files. ReportMerchants (report.go) and Reconcile
// (reconcile.go) compute a date as the job does (loadDay) without
// closing or posting: for a settled date their figures are the files'.
//
// # The job
//
// Job.Settle runs five idempotent steps through a small Ledger
// interface (a *ledger.Store):
//
//  1. close the date (ledger.Store.CloseBusinessDate): a fence through
//     the ledger's single writer, so the date's journal is frozen; a
//     transaction decided later for a closed date is booked on the next
//     one, flagged late;
//  2. compute the Day from the frozen journal;
//  3. post each position (ledger.Store.PostSettlement): pst/<program> ↔
//     mpr/<mid>, one journal entry per (program, date, merchant) with a
//     marker in the same batch, so nothing is posted twice;
//  4. write the files (WriteFiles): <mid>.csv, <mid>.json, summary.csv
//     and summary.json under Dir(root, date), each atomically, every
//     byte a function of the journal, the close time the ledger recorded
//     once and the posting entries' RRNs;
//  5. mark the date settled (ledger.Store.MarkSettled).
//
// A run stopped anywhere, SIGKILL included, is finished by running it
// again, with the same files and postings; a rerun of a settled date
// rewrites the same bytes and posts nothing.
//
// # Use
//
//	j := &settlement.Job{Ledger: store, Root: filepath.Join(dataDir, "settlement")}
//	res, err := j.Settle(ctx, 20261123, false)
//
// cmd/cardcenter wires it as `cardcenter settle --date YYYY-MM-DD` and as
// serve's nightly loop. The package never imports the gateway.
package settlement
