package terminal

import (
	"bytes"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
)

// load_answer.go: an answer of a load run, checked on its packed bytes.
// It is held to what the Client does with a response (session.handle,
// checkMAC) and what the load worker then did with it:
//
//   - an answer that does not scan (what wire's Unpack refuses) is
//     dropped, and its request runs into its timeout;
//   - it is matched by field 11, field 41 and the response MTI to a
//     request in flight; an answer that matches none is dropped;
//   - with TPDU framing its TPDU must be the request's swapped
//     (ErrTPDUMismatch), and when the request was MACed its MAC must be
//     right, or absent only with 03, 58 or 63 (ErrBadMAC): either is an
//     error, not an answer;
//   - else its latency is recorded and field 39 counted: 00 approved,
//     anything else (a missing 39 included) declined under its code; an
//     approved purchase's RRN (37) is kept for refunds, and a declined
//     refund gives its amount back.

// handle checks and counts one answer (reading side).
func (lc *loadConn) handle(tpdu, msg []byte) {
	s := &lc.scan
	if err := lc.layout.scan(msg, s); err != nil {
		// The reason names the element, never a value.
		lc.cfg.Logger.Warn().Str("reason", err.Error()).Msg("load: answer not unpackable, dropped")
		return
	}
	k, ok := keyOf(msg, s)
	i, found := lc.pending[k]
	if !ok || !found || !bytes.Equal(lc.slots[i].respMTI[:3], s.mti[:3]) {
		lc.cfg.Logger.Debug().Str("mti", string(s.mti[:])).Msg("load: unmatched answer dropped")
		return
	}
	delete(lc.pending, k)
	defer func() { lc.free = append(lc.free, i) }()
	slot := &lc.slots[i]
	if lc.cfg.Framing.TPDU && !bytes.Equal(tpdu, lc.wantTPDU) {
		lc.tally.countError(fmt.Errorf("%w: got % X, want % X", ErrTPDUMismatch, tpdu, lc.wantTPDU))
		return
	}
	if slot.maced {
		if err := checkAnswerMAC(msg, s, slot.req.lt.mac); err != nil {
			lc.tally.countError(err)
			return
		}
	}
	lc.tally.hist.Record(lc.now.Sub(slot.origin))
	r := &slot.req
	rc := s.field(msg, 39)
	if string(rc) != RCApproved {
		lc.tally.declined[string(rc)]++
		if r.refundOf != nil {
			giveBack(r.lt, *r.refundOf, r.amount)
		}
		return
	}
	lc.tally.approved++
	if r.op == OpPurchase && lc.cfg.Mix.Refund > 0 {
		if rrn, ok := lc.layout.decodeField(msg, s, 37); ok {
			remember(r.lt, slot.rng, refundable{rrn: rrn, card: r.cardIdx, remaining: r.amount})
		}
	}
}

// checkAnswerMAC checks the MAC of an answer to a MACed request, as
// Client.checkMAC does: field 128, else 64, holding the last 8 bytes of
// the message and their MAC under the TAK; only 03, 58 and 63 answers
// carry none.
func checkAnswerMAC(msg []byte, s *scannedMsg, tak *cardcrypto.MACKey) error {
	macField := 0
	if s.has(128) {
		macField = 128
	} else if s.has(64) {
		macField = 64
	}
	rc := s.field(msg, 39)
	if macField == 0 {
		switch string(rc) {
		case RCUnknownMerchant, RCNotSignedOn, RCSecurity:
			return nil
		}
		return fmt.Errorf("%w: %s rc %s carries no MAC", ErrBadMAC, s.mti[:], rc)
	}
	if len(msg) < macLen || !bytes.Equal(msg[len(msg)-macLen:], s.field(msg, macField)) {
		return fmt.Errorf("%w: field %d is not the last 8 bytes", ErrBadMAC, macField)
	}
	if !cardcrypto.MACEqual(tak.MAC(msg[:len(msg)-macLen]), msg[len(msg)-macLen:]) {
		return fmt.Errorf("%w: %s rc %s", ErrBadMAC, s.mti[:], rc)
	}
	return nil
}
