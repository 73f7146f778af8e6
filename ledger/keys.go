package ledger

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Key layouts of the Pebble store. Every key is readable ASCII, so that
// `pebble` tools and debugging dumps show what they are; numbers that must
// sort are fixed-width. Values are the binary records of codec.go unless
// noted (registry records are JSON: they are small, rarely written and
// cached by the writer).
//
//	meta/seq                          uint64: the next journal sequence number
//	meta/version                      uint64: the store's format
//	                                  (format.go; absent: format 1,
//	                                  which Open migrates)
//	meta/pvk                          the PIN verification key, sealed
//	                                  under the host master key
//
//	reg/prog/<program id>             Program (JSON)
//	reg/merch/<mid>                   Merchant (JSON)
//	reg/term/<tid>                    Terminal (JSON)
//	reg/card/<pan>                    Card (JSON)
//	reg/rules/<program id>/<version 8 digits>
//	                                  loyalty.Rules (JSON): every version
//	                                  of a program's rules PutProgram
//	                                  assigned, kept for good, so that the
//	                                  version an earning records can be
//	                                  looked up (Store.LoyaltyRules); the
//	                                  current one is also in reg/prog/
//
//	ts/<tid>                          TerminalState: signed on, open batch
//	batch/<tid>/<batch 6 digits>      Batch: state and the host's totals
//	                                  (an aggregate: written once a
//	                                  checkpoint, every second; in
//	                                  between, groups log it in alog/:
//	                                  aggregatelog.go)
//	alog/<16 hex>                     one group's aggregates (batches,
//	                                  merchant and program accounts), the
//	                                  after-images (key and value pairs)
//	                                  since the last checkpoint; Open
//	                                  applies and deletes them
//
//	acct/<account id>                 Account: posted and pending sums;
//	                                  a card's stored value (sv/<pan>)
//	                                  also names the card's newest
//	                                  journal entry (LastEntry); a
//	                                  merchant's or program's is written
//	                                  once a checkpoint, like a batch
//	txn/<seq 16 hex>                  Txn: one journal entry (RRN = seq)
//	                                  with the transfers it posted, and
//	                                  (CardPrev) the seq of its card's
//	                                  previous entry: a card's history
//	                                  is a chain from its newest entry,
//	                                  which its acct/sv/<pan> records
//	                                  (Account.LastEntry)
//	jr/<seq 16 hex>                   uint64: a business date: the
//	                                  journal entries from this seq up
//	                                  to the next jr/ key's (the end of
//	                                  the journal for the last) are
//	                                  booked on it (a run). Entries are
//	                                  booked in sequence order, so a run
//	                                  is a business date, written when
//	                                  its first entry is; a clock set
//	                                  back across the cut-off starts
//	                                  another run of the earlier date.
//	                                  Settlement entries lie inside runs
//	                                  but are booked on no date
//	                                  (JournalByDate skips them)
//	jc/<pan>/<seq 16 hex>             (empty) format 1's journal by card:
//	                                  the entries of a card older than
//	                                  its chain, kept as they are and
//	                                  never written again
//
//	idt/<field 7>/<tid>/<stan>        IdemRecord: the stored response (its
//	                                  RRN and approval code are its
//	                                  journal seq's, not stored), or a
//	                                  tombstone: a reversal arrived before
//	                                  the original of this identity.
//	                                  Field 7 first, so that a group's
//	                                  identities, sent within the same
//	                                  seconds, sit together (keyorder.go);
//	                                  formats 1–5 kept them at
//	                                  idem/<tid>/<stan>/<field 7>
//	cday/<pan>                        CardDay: the card's count and amount
//	                                  on its business date (one of an
//	                                  earlier date counts nothing today).
//	                                  Format 3 kept one key a day,
//	                                  cday/<pan>/<yyyymmdd>
//	hold/<pan>                        Holds: the card's open holds
//	csec/<pan>                        CardSecurity: wrong-PIN count, PIN
//	                                  block, highest accepted chip ATC
//	cv/<pan>                          the card values record
//	                                  (cardrecord.go): in one Pebble key
//	                                  the card's acct/sv/ and acct/pt/
//	                                  accounts, wal/, hold/, csec/ and
//	                                  cday/ records. Those keys are
//	                                  logical: named by the writer and
//	                                  every reader, never stored as they
//	                                  are (format 4)
//	reg/binbl                         BIN blacklist ranges (JSON)
//	audit/<seq 16 hex>                AuditRecord: an operator's change of
//	                                  card state, blacklist or PIN block
//	wal/<pan>                         the card's loyalty record
//	                                  (cardloyalty.go): its Membership —
//	                                  tier and its history
//	                                  (maxTierHistory), this month's visit
//	                                  days (31), birthday bonus year,
//	                                  monthly spend buckets
//	                                  (maxSpendMonths), lifetime spend and
//	                                  visits, the last month the tier
//	                                  review applied — and its wallet
//	                                  (wallet.go): the points as loyalty
//	                                  lots (seq = the earning's journal
//	                                  seq, points, remaining, earned,
//	                                  expires) in consumption order, at
//	                                  most loyalty.MaxLots, and the debt
//	                                  refunds left; its lots' remaining
//	                                  less the debt is always the
//	                                  pt/<pan> balance (Check). The record
//	                                  holds the last 1..pageLots lots; the
//	                                  others are in wlp/. Only cards of
//	                                  programs with loyalty rules have
//	                                  one.
//	wlp/<pan>/<nnn>                   sealed page nnn (three digits) of the
//	                                  card's wallet: pageLots lots, in
//	                                  order; pages 0..pagesFor(lots)-1
//	                                  exist, no others (the checker)
//	mbv/<pan>                         the merchants the card was seen at
//	                                  (visited.go; maxMerchantsSeen),
//	                                  for first-visit campaigns: written
//	                                  on a first purchase at a merchant
//	mbr/<pan>                         Membership of a card whose wal/<pan>
//	                                  an older build wrote (the wallet
//	                                  alone); moved into wal/<pan> by the
//	                                  card's next loyalty change
//	job/tiers/<yyyy-mm>               ReviewStats (JSON): the monthly tier
//	                                  review of that month ran to the end
//	job/expire/<yyyymmdd>             (1 byte) the expiry job for that
//	                                  business date is done (expiry.go)
//	notice/<pan>/<lot seq 16 hex>     (1 byte) the lot's expiry notice
//	                                  is in the outbox; deleted when the
//	                                  lot expires
//	outbox/<seq 16 hex>               NoticeEvent (JSON): one expiry
//	                                  notice, written with its marker;
//	                                  deleted by the drain in the change
//	                                  that moves meta/outbox/sent past
//	                                  it, so only undelivered events
//	                                  (sent < seq < next) are stored, all
//	                                  of them (Check; a store an older
//	                                  build drained may hold delivered
//	                                  ones too, which the next drain
//	                                  deletes)
//	meta/outbox                       uint64: the next outbox seq
//	meta/outbox/sent                  uint64: the last seq the drain
//	                                  delivered to DATA/outbox (outbox.go)
//	meta/closed                       uint64: the latest business date
//	                                  closed for settlement; decisions of
//	                                  that date or earlier are booked on
//	                                  the next date, late (settle.go)
//	job/settle/<yyyymmdd>             SettlementRecord (JSON): the date's
//	                                  close time, written once, and its
//	                                  settled summary
//	settle/<yyyymmdd>/<prog>/<mid>    uint64: the seq of the settlement
//	                                  entry that posted this merchant's
//	                                  position for the date (0: zero
//	                                  position); written with it, so a
//	                                  rerun posts nothing twice
//	job/bill/<yyyymm>                 the month's invoices (JSON, package
//	                                  settlement), recorded once when the
//	                                  month is first billed, so a rerun
//	                                  bills the same (settle_billing.go)
//	bill/<yyyymm>/<prog>/<mid>        uint64: the seq of the billing
//	                                  entry of the merchant's invoice for
//	                                  the month; written with it and with
//	                                  the month-end settlement marker
//	reg/reward/<program id>/<reward id>
//	                                  Reward (JSON): a points mall item:
//	                                  name, points price, stock, active
//	order/<seq 16 hex>                Order (JSON): a points mall order,
//	                                  keyed by its placement's journal
//	                                  seq: card, reward, qty, points,
//	                                  status and its history (mall.go)
//
// Account ids:
//
//	sv/<pan>      card stored value (credit-normal)
//	pt/<pan>      card points (credit-normal)
//	msv/<mid>     merchant stored-value clearing: credited by sales,
//	              debited by loads and refunds
//	pfl/<prog>    program float: the source of operator adjustments
//	ppt/<prog>    program points issuance: debited by earnings and
//	              credited by take-backs (refunds, voids, reversals), so
//	              minus its balance is the points outstanding
//	prd/<prog>    program points redeemed: credited by 910000
//	              redemptions and points mall orders, debited when one
//	              is undone or an order cancelled
//	pbk/<prog>    program points breakage: credited by the expiry job
//	              with the points of expired lots
//	pst/<prog>    program settlement: the other side of every
//	              merchant's settled position
//	mpr/<mid>     merchant payable/receivable: credited with positions
//	              the program owes the merchant, debited with those the
//	              merchant owes; its balance is what is owed to it
//	pt/<pan> is the one card account that may go below zero: a
//	refund's take-back beyond the card's points (debt, shown with sign
//	D in field 54), repaid by later earnings.
const (
	keyMetaSeq      = "meta/seq"
	keyMetaVersion  = "meta/version"
	keyMetaPVK      = "meta/pvk"
	keyBINBlacklist = "reg/binbl"

	prefixProgram  = "reg/prog/"
	prefixMerchant = "reg/merch/"
	prefixTerminal = "reg/term/"
	prefixCard     = "reg/card/"
	prefixRules    = "reg/rules/"

	prefixTermState  = "ts/"
	prefixBatch      = "batch/"
	prefixAccount    = "acct/"
	prefixTxn        = "txn/"
	prefixRun        = "jr/"
	prefixByCard     = "jc/" // format 1, read only
	prefixIdem       = "idt/"
	prefixIdemV5     = "idem/" // formats 1–5, moved to idt/ by the migration to 6
	prefixCardDay    = "cday/"
	prefixHolds      = "hold/"
	prefixCardSec    = "csec/"
	prefixAudit      = "audit/"
	prefixWallet     = "wal/"
	prefixWalletPage = "wlp/"
	prefixMember     = "mbr/"
	prefixVisited    = "mbv/"
	prefixTierJob    = "job/tiers/"
	prefixOutbox     = "outbox/"

	keyMetaOutboxSeq  = "meta/outbox"
	keyMetaOutboxSent = "meta/outbox/sent"
)

func keyProgram(id string) string   { return prefixProgram + id }
func keyMerchant(mid string) string { return prefixMerchant + mid }
func keyTerminal(tid string) string { return prefixTerminal + tid }
func keyCard(pan string) string     { return prefixCard + pan }
func keyRules(prog string, version int) string {
	return fmt.Sprintf("%s%s/%08d", prefixRules, prog, version)
}
func keyTermState(tid string) string {
	return prefixTermState + tid
}
func keyBatch(tid string, batch uint32) string {
	b := make([]byte, 0, len(prefixBatch)+len(tid)+8)
	b = append(append(append(b, prefixBatch...), tid...), '/')
	return string(appendPadded(b, uint64(batch), 6))
}
func keyAccount(id string) string { return prefixAccount + id }
func keyTxn(seq uint64) string {
	var b [len(prefixTxn) + 16]byte
	return string(appendKeyTxn(b[:0], seq))
}

// appendKeyTxn appends keyTxn(seq).
func appendKeyTxn(b []byte, seq uint64) []byte { return appendHex16(append(b, prefixTxn...), seq) }

func keyRun(seq uint64) string { return prefixRun + hex16(seq) }
func keyIdem(tid, stan, f7 string) string {
	return prefixIdem + f7 + "/" + tid + "/" + stan
}
func keyCardDay(pan string) string { return prefixCardDay + pan }

// keyCardDayV3 is format 3's day counter of pan on date, which the
// migration to format 4 folds into the card's record.
func keyCardDayV3(pan string, date uint32) string {
	b := make([]byte, 0, len(prefixCardDay)+len(pan)+9)
	b = append(append(append(b, prefixCardDay...), pan...), '/')
	return string(strconv.AppendUint(b, uint64(date), 10))
}
func keyHolds(pan string) string   { return prefixHolds + pan }
func keyCardSec(pan string) string { return prefixCardSec + pan }
func keyAudit(seq uint64) string   { return prefixAudit + hex16(seq) }
func keyWallet(pan string) string  { return prefixWallet + pan }

// keyWalletPage is sealed page n of pan's wallet (wallet.go); three
// digits keep a card's pages in order (at most MaxLots/pageLots).
func keyWalletPage(pan string, n int) string {
	b := make([]byte, 0, len(prefixWalletPage)+len(pan)+4)
	b = append(append(append(b, prefixWalletPage...), pan...), '/')
	return string(appendPadded(b, uint64(n), 3))
}
func keyVisited(pan string) string { return prefixVisited + pan }
func keyMembership(pan string) string {
	return prefixMember + pan
}
func keyTierJob(month string) string { return prefixTierJob + month }

func keyExpiryDone(date uint32) string { return "job/expire/" + strconv.Itoa(int(date)) }
func keyNotice(pan string, lot uint64) string {
	return "notice/" + pan + "/" + hex16(lot)
}
func keyOutbox(seq uint64) string        { return prefixOutbox + hex16(seq) }
func accountBreakage(prog string) string { return "pbk/" + prog }

func accountSV(pan string) string          { return "sv/" + pan }
func accountPoints(pan string) string      { return "pt/" + pan }
func accountMerchantSV(mid string) string  { return kindMerchantSV + mid }
func accountFloat(prog string) string      { return "pfl/" + prog }
func accountProgramPts(prog string) string { return kindProgramPts + prog }
func accountPointsRedeemed(prog string) string {
	return "prd/" + prog
}

// isCardAccount: a card's stored value or points account. Card accounts
// are credit-normal, never below zero, and their balances are what field
// 54 shows, so they stay within MaxAmount.
// The ID prefixes of the accounts every purchase at a merchant, or in a
// program with rules, posts to (their keys are hot: hotKeys.account).
const (
	kindMerchantSV = "msv/"
	kindProgramPts = "ppt/"
)

func isCardAccount(id string) bool {
	return strings.HasPrefix(id, "sv/") || strings.HasPrefix(id, "pt/")
}

const hexDigits = "0123456789abcdef"

func hex16(v uint64) string {
	var b [16]byte
	return string(appendHex16(b[:0], v))
}

// appendHex16 appends v as 16 lower-case hex digits.
func appendHex16(b []byte, v uint64) []byte {
	var h [16]byte
	for i := 15; i >= 0; i-- {
		h[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(b, h[:]...)
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var d [20]byte
	n := len(strconv.AppendUint(d[:0], v, 10))
	for ; n < width; n++ {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, v, 10)
}

func parseHex16(s string) (uint64, bool) {
	if len(s) != 16 {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 16, 64)
	return v, err == nil
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p string) []byte {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
