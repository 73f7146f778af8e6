package ledger

// check_journal.go: the checker's part for what the journal's readers
// rely on: every booked entry lies in a run of its business date
// (JournalByDate), and every card's entries form one chain, newest
// first, from its stored-value account (CardHistory).

import (
	"strings"

	"github.com/cardcenter/cardcenter/internal/cardnum"
)

// journalLinks follows the scan of txn/, in sequence order.
type journalLinks struct {
	problem func(string, ...any)
	runs    []run
	next    int    // the next run the scan enters
	date    uint32 // the date of the run the scan is in (0: before the first)
	// legacyMax and legacyCount are, per card, the newest entry format
	// 1's card index (jc/) holds and how many; legacySeen counts the
	// card's booked entries up to legacyMax.
	legacyMax   map[string]uint64
	legacyCount map[string]int
	legacySeen  map[string]int
	// last is a card's newest entry of its chain so far.
	last map[string]uint64
}

func newJournalLinks(snap reader, problem func(string, ...any)) (*journalLinks, error) {
	l := &journalLinks{problem: problem, legacyMax: map[string]uint64{}, legacyCount: map[string]int{},
		legacySeen: map[string]int{}, last: map[string]uint64{}}
	var err error
	if l.runs, err = journalRuns(snap); err != nil {
		return nil, err
	}
	err = scan(snap, prefixByCard, func(k, _ []byte) error {
		rest := string(k[len(prefixByCard):])
		pan, hex, _ := strings.Cut(rest, "/")
		seq, ok := parseHex16(hex)
		if !ok {
			problem("card index key of %s: bad sequence number", cardnum.Mask(pan))
			return nil
		}
		l.legacyMax[pan] = max(l.legacyMax[pan], seq)
		l.legacyCount[pan]++
		return nil
	})
	return l, err
}

// entry checks journal entry t, the scan's next.
func (l *journalLinks) entry(t *Txn) {
	for l.next < len(l.runs) && l.runs[l.next].first <= t.Seq {
		r := l.runs[l.next]
		if r.first != t.Seq {
			l.problem("journal run of %d at %d: no journal entry there", r.date, r.first)
		} else if t.Kind == KindSettlement {
			l.problem("journal run of %d at %d: a settlement entry, booked on no date", r.date, r.first)
		}
		l.date = r.date
		l.next++
	}
	if t.Kind == KindSettlement {
		if t.CardPrev != 0 {
			l.problem("settlement entry %d: in a card's history (previous entry %d)", t.Seq, t.CardPrev)
		}
		return
	}
	switch {
	case l.date == 0:
		l.problem("journal entry %d: booked on %d before the journal's first run", t.Seq, t.BizDate)
	case t.BizDate != l.date:
		l.problem("journal entry %d: booked on %d inside a run of %d", t.Seq, t.BizDate, l.date)
	}
	pan := t.PAN
	if pan == "" {
		l.problem("journal entry %d: booked, but of no card", t.Seq)
		return
	}
	if t.Seq <= l.legacyMax[pan] {
		l.legacySeen[pan]++
		if t.CardPrev != 0 {
			l.problem("journal entry %d: indexed by card as format 1, but chained to %d", t.Seq, t.CardPrev)
		}
		return
	}
	if t.CardPrev != l.last[pan] {
		l.problem("journal entry %d: the previous entry of card %s is %d, it says %d", t.Seq, cardnum.Mask(pan), l.last[pan], t.CardPrev)
	}
	l.last[pan] = t.Seq
}

// end checks what the scan has seen as a whole.
func (l *journalLinks) end() {
	for _, r := range l.runs[l.next:] {
		l.problem("journal run of %d at %d: past the journal's last entry", r.date, r.first)
	}
	for _, pan := range sortedKeys(l.legacyCount) {
		if n, seen := l.legacyCount[pan], l.legacySeen[pan]; n != seen {
			l.problem("card %s: format 1's index holds %d entries, the journal %d up to the newest of them", cardnum.Mask(pan), n, seen)
		}
	}
}

// account checks a's LastEntry: a card's stored value names the card's
// newest chained entry; no other account names any.
func (l *journalLinks) account(a *Account) {
	pan, isSV := strings.CutPrefix(a.ID, "sv/")
	switch {
	case !isSV && a.LastEntry != 0:
		l.problem("account %s: names journal entry %d as a card's newest", maskAccount(a.ID), a.LastEntry)
	case isSV && a.LastEntry != l.last[pan]:
		l.problem("account %s: names %d as the card's newest journal entry, the journal %d", maskAccount(a.ID), a.LastEntry, l.last[pan])
	}
	if isSV {
		delete(l.last, pan)
	}
}

// accountsEnd reports the cards with chained entries but no stored-value
// account to start their history from.
func (l *journalLinks) accountsEnd() {
	for _, pan := range sortedKeys(l.last) {
		l.problem("card %s: journal entries up to %d, but no stored-value account naming them", cardnum.Mask(pan), l.last[pan])
	}
}
