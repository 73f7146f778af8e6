package ledger

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cardcenter/cardcenter/internal/fuzzseed"
)

// recordCodec is one of the store's binary records, for the fuzz target.
type recordCodec interface {
	encode(*encoder)
	decode([]byte) error
}

// FuzzRecordDecode feeds arbitrary bytes to every binary record decoder.
// A corrupt record must be an error, never a panic (the checker reads
// every record of a damaged store), and whatever a decoder accepts must
// encode back to the same bytes and decode to the same record.
func FuzzRecordDecode(f *testing.F) {
	fuzzseed.Add(f, "FuzzRecordDecode")
	f.Add(fuzzFullMembership)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newRec := range []func() recordCodec{
			func() recordCodec { return &Account{} }, func() recordCodec { return &Txn{} },
			func() recordCodec { return &IdemRecord{} }, func() recordCodec { return &TerminalState{} },
			func() recordCodec { return &CardSecurity{} }, func() recordCodec { return &Batch{} },
			func() recordCodec { return &CardDay{} }, func() recordCodec { return &Holds{} },
			func() recordCodec { return &Membership{} }, func() recordCodec { return &walletAndPages{} },
			func() recordCodec { return &loyaltyRecord{} }, func() recordCodec { return &visitedMerchants{} },
		} {
			r := newRec()
			if r.decode(b) != nil {
				continue
			}
			e := encoder{}
			r.encode(&e)
			again := newRec()
			if err := again.decode(e.b); err != nil {
				t.Fatalf("%T: re-encoded record does not decode: %v", r, err)
			}
			e2 := encoder{}
			again.encode(&e2)
			if !bytes.Equal(e.b, e2.b) {
				t.Fatalf("%T: encode is not stable across a round trip", r)
			}
		}
		// The writer decodes every purchase's membership into the one
		// it decoded the last into (decision.spareMembership): nothing
		// of the last may show through.
		var fresh, reused Membership
		if fresh.decode(b) != nil {
			return
		}
		must(t, reused.decode(fuzzFullMembership))
		must(t, reused.decode(b))
		want, got := encoder{}, encoder{}
		fresh.encode(&want)
		reused.encode(&got)
		if !bytes.Equal(want.b, got.b) {
			t.Fatalf("a membership decoded over another differs from one decoded fresh")
		}
	})
}

// fuzzFullMembership is a membership with every list filled, that
// FuzzRecordDecode decodes each input over.
var fuzzFullMembership = func() []byte {
	m := Membership{Tier: 2, VisitMonth: 202612, VisitDays: []uint8{1, 5, 9, 30},
		Spend:         []MonthSpend{{Month: 202610, Amount: 100}, {Month: 202611, Amount: 200}, {Month: 202612, Amount: 300}},
		TierHistory:   []TierChange{{At: 1, From: 0, To: 1, Seq: 7}, {At: 2, From: 1, To: 2, Seq: 9}},
		LifetimeSpend: 600, LifetimeVisits: 4, BirthdayBonusYear: 2026, ReviewedMonth: 202611}
	e := encoder{}
	m.encode(&e)
	return e.b
}()

// walletAndPages is a wallet as stored: its part of the loyalty record
// and its sealed pages, in one input for the fuzz target (bytes the
// wallet part, then bytes each page to the end).
type walletAndPages struct{ w *walletRecord }

// splitStored splits an input of walletAndPages's form.
func splitStored(b []byte) (head []byte, pages [][]byte, err error) {
	d := decoder{b: b}
	head = d.view()
	for d.err == nil && len(d.b) > 0 {
		pages = append(pages, d.view())
	}
	return head, pages, d.done("stored wallet")
}

func joinStored(e *encoder, head []byte, pages [][]byte) {
	e.bytes(head)
	for _, p := range pages {
		e.bytes(p)
	}
}

// pagesFrom reads sealed pages from a list, as the store would.
func pagesFrom(pages [][]byte) pageReader {
	return func(n int) ([]byte, error) {
		if n >= len(pages) {
			return nil, fmt.Errorf("wallet page %d: missing: %w", n, errCorrupt)
		}
		return pages[n], nil
	}
}

func (r *walletAndPages) decode(b []byte) error {
	head, pages, err := splitStored(b)
	if err != nil {
		return err
	}
	w, read, err := decodeWallet(head, pagesFrom(pages))
	if err == nil && len(read) != len(pages) {
		err = errCorrupt // pages the wallet does not count
	}
	r.w = w
	return err
}

func (r *walletAndPages) encode(e *encoder) {
	var we encoder
	pages := r.w.encodePaged(&we)
	joinStored(e, we.b, pages)
}

// loyaltyRecord is a version 3 loyalty record (cardloyalty.go) and its
// wallet's sealed pages as one codec (walletAndPages's form, the record
// in place of the wallet part), for the fuzz target.
type loyaltyRecord struct {
	m Membership
	w *walletRecord
}

func (r *loyaltyRecord) decode(b []byte) error {
	rec, pages, err := splitStored(b)
	if err != nil {
		return err
	}
	mbr, wal, legacy, err := loyaltyParts(rec)
	if err != nil {
		return err
	}
	if legacy {
		return errCorrupt // a wallet alone: walletAndPages's case
	}
	if err := r.m.decode(mbr); err != nil {
		return err
	}
	w, read, err := decodeWallet(wal, pagesFrom(pages))
	if err == nil && len(read) != len(pages) {
		err = errCorrupt
	}
	r.w = w
	return err
}

func (r *loyaltyRecord) encode(e *encoder) {
	rec, pages := encodeLoyaltyRecord(&r.m, r.w)
	joinStored(e, rec, pages)
}

// FuzzAggregateLog feeds arbitrary bytes to the aggregate log's decoder
// (Open replays whatever alog/ holds): an error, never a panic, and
// what it accepts encodes back to the same bytes.
func FuzzAggregateLog(f *testing.F) {
	f.Add(encodeAggregateLog([]kv{{key: keyBatch("T1", 1), val: []byte{1, 2}}, {key: keyBatch("T2", 7)}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pairs []kv
		if decodeAggregateLog(b, func(key string, val []byte) error {
			pairs = append(pairs, kv{key: key, val: val})
			return nil
		}) != nil {
			return
		}
		if again := encodeAggregateLog(pairs); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, decoded from %x", again, b)
		}
	})
}
