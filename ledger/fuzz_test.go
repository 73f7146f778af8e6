package ledger

import (
	"bytes"
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
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, newRec := range []func() recordCodec{
			func() recordCodec { return &Account{} }, func() recordCodec { return &Txn{} },
			func() recordCodec { return &IdemRecord{} }, func() recordCodec { return &TerminalState{} },
			func() recordCodec { return &CardSecurity{} }, func() recordCodec { return &Batch{} },
			func() recordCodec { return &CardDay{} }, func() recordCodec { return &Holds{} },
			func() recordCodec { return &Membership{} }, func() recordCodec { return &walletRecord{} },
			func() recordCodec { return &loyaltyRecord{} },
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
	})
}

// loyaltyRecord is a version 3 loyalty record (cardloyalty.go) as one
// codec, for the fuzz target.
type loyaltyRecord struct {
	m Membership
	w walletRecord
}

func (r *loyaltyRecord) decode(b []byte) error {
	mbr, wal, legacy, err := loyaltyParts(b)
	if err != nil {
		return err
	}
	if legacy {
		return errCorrupt // a wallet alone: walletRecord's case
	}
	if err := r.m.decode(mbr); err != nil {
		return err
	}
	return r.w.decode(wal)
}

func (r *loyaltyRecord) encode(e *encoder) { e.raw(encodeLoyaltyRecord(&r.m, &r.w)) }
