package cardcrypto

// BER-TLV as a chip card answers it (EMV 4.3 Book 3 Annex B): unlike field
// 55, card responses nest primitive objects in constructed templates (6F
// FCI, A5 proprietary template, BF0C, 61 directory entries, 70 record
// template, 77 response message template format 2) and may pad between
// objects with 00 or FF. ParseCardTLV reads them with the same tag and
// length readers as ParseICC and flattens them into the primitive objects
// in the order met.

// Limits of a card response.
const (
	// MaxCardTLVBytes bounds a card response's data: a short APDU answers
	// at most 256 bytes, and GET RESPONSE chains are cut at 1024.
	MaxCardTLVBytes = 1024
	// MaxCardTLVObjects bounds the primitive objects kept from one response.
	MaxCardTLVObjects = 64
	// maxCardTLVDepth bounds template nesting (6F > A5 > BF0C > 61 is 4).
	maxCardTLVDepth = 6
)

// Card-side tags the terminal reads (EMV 4.3 Book 3 Annex A).
const (
	TagFCI           Tag = 0x6F   // FCI template
	TagAID           Tag = 0x4F   // application identifier (ADF name) in a directory entry
	TagDFName        Tag = 0x84   // DF name in the FCI
	TagRespFormat1   Tag = 0x80   // response message template format 1: values without tags
	TagRecord        Tag = 0x70   // READ RECORD response template
	TagRespFormat2   Tag = 0x77   // response message template format 2
	TagAFL           Tag = 0x94   // application file locator
	TagTrack2Equiv   Tag = 0x57   // track 2 equivalent data, b..19
	TagPAN           Tag = 0x5A   // application PAN
	TagPSN           Tag = 0x5F34 // application PAN sequence number, n2
	TagExpiry        Tag = 0x5F24 // application expiration date YYMMDD, n6
	TagARC           Tag = 0x8A   // authorisation response code, an2
	TagCardholderRef Tag = 0x5F20 // cardholder name (never read by this package)
)

// CardTLV is a card response parsed into its primitive objects, templates
// flattened, in the order received. A tag may appear more than once (one 4F
// per directory entry of a PPSE); Get returns the first.
type CardTLV struct {
	objs []TLV
}

// ParseCardTLV parses the data of a card response (SW1 SW2 removed). It
// accepts 1 to MaxCardTLVBytes bytes of BER-TLV whose tags are one or two
// bytes and lengths one byte or 81 and one byte, templates nested at most
// 6 deep, each template's content exactly filling it, at most
// MaxCardTLVObjects primitive objects, and 00 or FF padding between
// objects. Errors wrap ErrBadICC and name the tag and offset, never a
// value.
func ParseCardTLV(b []byte) (CardTLV, error) {
	if len(b) == 0 {
		return CardTLV{}, badICC("card response has no data")
	}
	if len(b) > MaxCardTLVBytes {
		return CardTLV{}, badICC("card response is %d bytes, at most %d", len(b), MaxCardTLVBytes)
	}
	var c CardTLV
	if err := c.walk(b, 0, 0); err != nil {
		return CardTLV{}, err
	}
	if len(c.objs) == 0 {
		return CardTLV{}, badICC("card response holds padding only")
	}
	return c, nil
}

// walk reads the objects of b, which starts at offset base of the response.
func (c *CardTLV) walk(b []byte, base, depth int) error {
	if depth > maxCardTLVDepth {
		return badICC("templates nested deeper than %d at offset %d", maxCardTLVDepth, base)
	}
	for off := 0; off < len(b); {
		if b[off] == 0x00 || b[off] == 0xFF { // padding between objects (Book 3 B1)
			off++
			continue
		}
		constructed := b[off]&0x20 != 0
		tag, n, err := readBERTag(b[off:], base+off)
		if err != nil {
			return err
		}
		off += n
		vlen, n, err := readLen(b[off:], tag)
		if err != nil {
			return err
		}
		off += n
		if vlen > len(b)-off {
			return badICC("tag %s: length %d overruns its template (%d bytes left)", tag, vlen, len(b)-off)
		}
		val := b[off : off+vlen]
		if constructed {
			if err := c.walk(val, base+off, depth+1); err != nil {
				return err
			}
		} else {
			if len(c.objs) == MaxCardTLVObjects {
				return badICC("more than %d data objects", MaxCardTLVObjects)
			}
			c.objs = append(c.objs, TLV{Tag: tag, Value: append([]byte(nil), val...)})
		}
		off += vlen
	}
	return nil
}

// Get returns a copy of the value of the first object with tag.
func (c CardTLV) Get(tag Tag) ([]byte, bool) {
	for _, o := range c.objs {
		if o.Tag == tag {
			return append([]byte(nil), o.Value...), true
		}
	}
	return nil, false
}

// All returns copies of the values of every object with tag, in order.
func (c CardTLV) All(tag Tag) [][]byte {
	var out [][]byte
	for _, o := range c.objs {
		if o.Tag == tag {
			out = append(out, append([]byte(nil), o.Value...))
		}
	}
	return out
}

// Len is the number of primitive objects.
func (c CardTLV) Len() int { return len(c.objs) }
