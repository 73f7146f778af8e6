package terminal

import (
	"bytes"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
	"github.com/cardcenter/cardcenter/gateway/wire"
)

// load_template.go: a load request's bytes without packing a message per
// request. The first request of each shape (operation, how the card is
// presented, the lengths of the variable fields, PIN, MAC) is made the
// reference way, fillLoadRequest and the packager's Pack, and kept as
// that shape's template with the spans of the fields that change from
// request to request; every later request of the shape is the template
// copied into the connection's write buffer with those fields written
// over it in the packager's encoding, then MACed. TestLoadTemplateBytes
// holds the result to Pack byte for byte.

// templateKey is a request's shape: requests of one shape differ only in
// the values of templateFields, each of the same length.
type templateKey struct {
	op       int // loadOpIndex: a map key of numbers only hashes fast
	manual   bool
	cardLen  int // track 2, or the PAN when key-entered
	rrnLen   int
	batchLen int
	pin      bool
	mac      bool
}

// templateFields are the fields a template's requests fill in.
var templateFields = [...]int{2, 4, 7, 11, 14, 35, 37, 41, 42, 52, 60}

// reqTemplate is one shape's packed request and where its variable
// fields lie in it.
type reqTemplate struct {
	msg  []byte
	mac  bool
	scan scannedMsg // the spans of msg's fields
}

// maxTemplates bounds a connection's templates: a run has a handful of
// shapes (four operations, the cards' few track lengths, PIN or not);
// past the bound a new shape is packed the reference way every time.
const maxTemplates = 64

// requestPacker makes a connection's requests: from the templates, or
// the reference way.
type requestPacker struct {
	pk        wire.Packager
	layout    *msgLayout
	templates map[templateKey]*reqTemplate // bounded by maxTemplates
	msg       *wire.Message                // reused by the reference way
	buf       []byte                       // the last request packed from a template
}

func newRequestPacker(pk wire.Packager, layout *msgLayout) *requestPacker {
	return &requestPacker{pk: pk, layout: layout, templates: map[templateKey]*reqTemplate{}, msg: wire.NewMessage("0800")}
}

func (r *loadRequest) key() templateKey {
	k := templateKey{op: loadOpIndex(r.op), batchLen: len(r.lt.batch), mac: r.lt.mac != nil && wire.MACScope(r.mti())}
	if r.op == OpEcho {
		return k
	}
	k.manual, k.pin = r.card.Manual, r.pinBlock != nil
	if k.manual {
		k.cardLen = len(r.card.PAN)
	} else {
		k.cardLen = len(r.track)
	}
	if r.refundOf != nil {
		k.rrnLen = len(r.refundOf.rrn)
	}
	return k
}

// mti is the request's MTI, as fillLoadRequest sets it.
func (r *loadRequest) mti() string {
	switch r.op {
	case OpEcho:
		return "0800"
	case OpBalance:
		return "0100"
	}
	return "0200"
}

// pack packs request r, MACed when its terminal has a TAK, and says
// where its fields are. Both are valid until the next call.
func (p *requestPacker) pack(r *loadRequest) ([]byte, *scannedMsg, error) {
	k := r.key()
	if t := p.templates[k]; t != nil {
		p.buf = append(p.buf[:0], t.msg...)
		msg := p.buf
		if p.fill(t, msg, r) {
			if t.mac {
				copy(msg[len(msg)-macLen:], r.lt.mac.MAC(msg[:len(msg)-macLen]))
			}
			return msg, &t.scan, nil
		}
		// A value the template cannot take (a character the encoding
		// cannot carry): the reference way says what is wrong with it.
	}
	b, err := p.reference(r)
	if err != nil {
		return nil, nil, err
	}
	t := &reqTemplate{msg: b, mac: k.mac}
	if err := p.layout.scan(b, &t.scan); err != nil {
		// The packager and the layout disagree: a bug, which the
		// template tests exist to catch.
		return nil, nil, fmt.Errorf("%w: a packed %s does not scan: %w", ErrBadRequest, r.mti(), err)
	}
	if _, ok := p.templates[k]; !ok && len(p.templates) < maxTemplates {
		p.templates[k] = t
	}
	return b, &t.scan, nil
}

// fill writes r's values of templateFields over the template's copy msg.
func (p *requestPacker) fill(t *reqTemplate, msg []byte, r *loadRequest) bool {
	l := p.layout
	for _, n := range templateFields {
		if !t.scan.has(n) {
			continue
		}
		dst, f := t.scan.field(msg, n), &l.fields[n]
		var ok bool
		switch n {
		case 2:
			ok = f.putValue(dst, r.card.PAN)
		case 4:
			ok = f.putDigits(dst, uint64(r.amount), 12)
		case 7:
			ok = f.putValue(dst, r.f7)
		case 11:
			ok = f.putDigits(dst, uint64(r.stan), 6)
		case 14:
			ok = f.putValue(dst, r.card.Expiry)
		case 35:
			ok = f.putValue(dst, r.track)
		case 37:
			ok = f.putValue(dst, r.refundOf.rrn)
		case 41:
			ok = f.putValue(dst, r.lt.tid)
		case 42:
			ok = f.putValue(dst, r.lt.mid)
		case 52:
			ok = len(dst) == len(r.pinBlock) && copy(dst, r.pinBlock) == len(dst)
		case 60:
			ok = f.putValue(dst, r.lt.batch)
		}
		if !ok {
			return false
		}
	}
	return true
}

// reference packs r the reference way: fillLoadRequest, then Pack, with
// the MAC as the Client sets it (packLoadMessage).
func (p *requestPacker) reference(r *loadRequest) ([]byte, error) {
	fillLoadRequest(p.msg, r)
	return packLoadMessage(p.pk, p.msg, r.lt.mac)
}

// packLoadMessage packs m and, when mac is set and m's MTI carries one,
// MACs it as Client.pack does: the MAC field (64, or 128) holds zeros
// while packing, so that its bit is in the bitmap and its bytes end the
// message, then the MAC of everything before them.
func packLoadMessage(pk wire.Packager, m *wire.Message, mac *cardcrypto.MACKey) ([]byte, error) {
	if mac == nil || !wire.MACScope(m.MTI) {
		b, err := pk.Pack(m)
		if err != nil {
			return nil, fmt.Errorf("%w: pack %s: %w", ErrBadRequest, m.MTI, err)
		}
		return b, nil
	}
	delete(m.Fields, 64)
	delete(m.Fields, 128)
	wire.SetMACPlaceholder(m)
	b, err := pk.Pack(m)
	if err != nil {
		return nil, fmt.Errorf("%w: pack %s: %w", ErrBadRequest, m.MTI, err)
	}
	var zero [macLen]byte
	if len(b) < macLen || !bytes.Equal(b[len(b)-macLen:], zero[:]) {
		return nil, fmt.Errorf("%w: packager %s does not put the MAC field last", ErrBadRequest, pk.Name())
	}
	copy(b[len(b)-macLen:], mac.MAC(b[:len(b)-macLen]))
	return b, nil
}
