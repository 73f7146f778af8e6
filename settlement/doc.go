// Package settlement will be the nightly batch that nets, per business
// date, what every merchant of a coalition owes or is owed (contract
// section 8): purchases and completions at a merchant, refunds, loads,
// points earned and redemptions, with each merchant's MDR and load
// commission and the program's interchange to a card's home merchant,
// every fee rounded half-up to a whole fen per transaction. It will read
// the ledger's journal (ledger.Store.ScanJournal, indexed by business date
// and merchant) and write the settlement files and reports, idempotent per
// business date and resumable.
//
// It arrives with the settlement issue; the journal it needs is in place.
package settlement
