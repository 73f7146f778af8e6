package vcard

import (
	"bytes"
	"fmt"

	"github.com/cardcenter/cardcenter/cardcrypto"
)

// emv.go: the card's application: the commands a checkout reader sends
// (SELECT, GET PROCESSING OPTIONS, READ RECORD, GENERATE AC, EXTERNAL
// AUTHENTICATE, GET DATA UID) and the cryptography of contract section 7.

// PPSE is the name of the payment system environment directory.
var PPSE = []byte("2PAY.SYS.DDF01")

// What the card's application holds besides the keys.
var (
	aip  = []byte{0x18, 0x00}             // 82: as the POS simulator's card
	afl  = []byte{0x08, 0x01, 0x01, 0x00} // 94: SFI 1, record 1 to 1, none for offline auth
	cvr  = []byte{0x03, 0xA0, 0x00, 0x00} // the CVR inside 9F10
	iadP = []byte{0x06, 0x01, 0x0A}       // 9F10 before the CVR: length, DKI, CVN
	// CDOL1: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37, the terminal half of the
	// ARQC data in contract order. CDOL2: 8A (ARC) and 91 (issuer auth).
	cdol1 = []byte{0x9F, 0x02, 6, 0x9F, 0x03, 6, 0x9F, 0x1A, 2, 0x95, 5, 0x5F, 0x2A, 2, 0x9A, 3, 0x9C, 1, 0x9F, 0x37, 4}
	cdol2 = []byte{0x8A, 2, 0x91, 10}
)

const cdol1Len = 6 + 6 + 2 + 5 + 2 + 3 + 1 + 4

// Instructions.
const (
	insSelect   = 0xA4
	insGPO      = 0xA8
	insRead     = 0xB2
	insGenAC    = 0xAE
	insExtAuth  = 0x82
	insGetData  = 0xCA
	claProp     = 0x80
	claPCSC     = 0xFF
	p1ARQC      = 0x80
	p1TC        = 0x40
	cidAAC      = 0x00
	swOK        = 0x9000
	swNotFound  = 0x6A82
	swRecord    = 0x6A83
	swCond      = 0x6985
	swWrongData = 0x6A80
	swAuthFail  = 0x6300
	swINS       = 0x6D00
	swWrongLen  = 0x6700
)

func (c *Card) answer(apdu []byte) []byte {
	if len(apdu) < 4 {
		return sw(nil, swWrongLen)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.INS = append(c.stats.INS, apdu[1])
	cla, ins, p1, p2 := apdu[0], apdu[1], apdu[2], apdu[3]
	chip := c.mk != nil
	switch {
	case cla == claPCSC && ins == insGetData && p1 == 0 && p2 == 0:
		if len(c.cfg.UID) == 0 {
			return sw(nil, 0x6A81)
		}
		return sw(append([]byte(nil), c.cfg.UID...), swOK)
	case !chip:
		if ins == insSelect {
			return sw(nil, swNotFound)
		}
		return sw(nil, swINS)
	case cla == 0x00 && ins == insSelect && p1 == 0x04:
		return c.selectApp(bodyOf(apdu))
	case cla == claProp && ins == insGPO:
		return sw(tlv(0x77, tlv(cardcrypto.TagAIP, aip), tlv(cardcrypto.TagAFL, afl)), swOK)
	case cla == 0x00 && ins == insRead:
		if p1 != 1 || p2 != 1<<3|4 {
			return sw(nil, swRecord)
		}
		return c.record()
	case cla == claProp && ins == insGenAC:
		if p1 == p1ARQC {
			return c.firstAC(bodyOf(apdu))
		}
		return c.secondAC(p1, bodyOf(apdu))
	case cla == 0x00 && ins == insExtAuth:
		return c.externalAuth(bodyOf(apdu))
	}
	return sw(nil, swINS)
}

func (c *Card) selectApp(name []byte) []byte {
	switch {
	case bytes.Equal(name, PPSE):
		entry := tlv(0x61, tlv(cardcrypto.TagAID, c.cfg.AID), tlv(0x87, []byte{1}))
		return sw(tlv(cardcrypto.TagFCI, tlv(cardcrypto.TagDFName, PPSE), tlv(0xA5, tlv(0xBF0C, entry))), swOK)
	case bytes.Equal(name, c.cfg.AID):
		c.sk, c.arqc, c.arpcOK = nil, nil, false
		return sw(tlv(cardcrypto.TagFCI, tlv(cardcrypto.TagDFName, c.cfg.AID), tlv(0xA5, tlv(0x50, []byte("MEMBER")))), swOK)
	}
	return sw(nil, swNotFound)
}

// record is SFI 1 record 1: track 2 equivalent, PSN, CDOL1, CDOL2.
func (c *Card) record() []byte {
	t2 := c.cfg.PAN + "D" + c.cfg.Expiry + "201" + "0000"
	if len(t2)%2 == 1 {
		t2 += "F"
	}
	b := make([]byte, len(t2)/2)
	for i := range b {
		b[i] = nibble(t2[2*i])<<4 | nibble(t2[2*i+1])
	}
	psn, _ := cardcrypto.BCD(c.cfg.PSN)
	return sw(tlv(cardcrypto.TagRecord, tlv(cardcrypto.TagTrack2Equiv, b), tlv(cardcrypto.TagPSN, psn),
		tlv(0x8C, cdol1), tlv(0x8D, cdol2)), swOK)
}

func nibble(ch byte) byte {
	if ch >= '0' && ch <= '9' {
		return ch - '0'
	}
	return ch - 'A' + 10
}

// firstAC counts one more transaction and answers an ARQC over the CDOL1
// data ‖ AIP ‖ ATC ‖ CVR (contract section 7 step 3).
func (c *Card) firstAC(data []byte) []byte {
	if len(data) != cdol1Len {
		return sw(nil, swWrongLen)
	}
	if c.atc == 0xFFFF {
		return sw(nil, swCond)
	}
	c.atc++
	atc := [2]byte{byte(c.atc >> 8), byte(c.atc)}
	sk, err := cardcrypto.SessionKeyCommon(c.mk, atc)
	if err != nil {
		return sw(nil, swCond)
	}
	in := bytes.Join([][]byte{data, aip, atc[:], cvr}, nil)
	ac, err := cardcrypto.ARQC(sk, in)
	if err != nil {
		return sw(nil, swCond)
	}
	c.sk, c.arqc, c.arpcOK = sk, ac, false
	c.stats.ARQCs++
	c.stats.LastCryptoCID = p1ARQC
	return sw(c.acResponse(p1ARQC, ac), swOK)
}

func (c *Card) acResponse(cid byte, ac []byte) []byte {
	atc := []byte{byte(c.atc >> 8), byte(c.atc)}
	return tlv(0x77, tlv(cardcrypto.TagCID, []byte{cid}), tlv(cardcrypto.TagATC, atc),
		tlv(cardcrypto.TagAC, ac), tlv(cardcrypto.TagIAD, iadP, cvr))
}

// externalAuth verifies tag 91's ARPC against the last ARQC.
func (c *Card) externalAuth(data []byte) []byte {
	if len(data) != cardcrypto.IssuerAuthLen {
		return sw(nil, swWrongLen)
	}
	if c.sk == nil {
		return sw(nil, swCond)
	}
	if !c.arpcVerifies(data) {
		c.stats.ARPCRejected++
		return sw(nil, swAuthFail)
	}
	c.arpcOK = true
	c.stats.ARPCVerified++
	return sw(nil, swOK)
}

func (c *Card) arpcVerifies(issuerAuth []byte) bool {
	var arc [2]byte
	copy(arc[:], issuerAuth[cardcrypto.ACLen:])
	want, err := cardcrypto.ARPCMethod1(c.sk, c.arqc, arc)
	return err == nil && cardcrypto.MACEqual(want, issuerAuth[:cardcrypto.ACLen])
}

// secondAC ends the transaction: a TC when the terminal asks for one, the
// issuer's ARPC verified and its ARC is 00; an AAC otherwise.
func (c *Card) secondAC(p1 byte, data []byte) []byte {
	if len(data) != 2+cardcrypto.IssuerAuthLen {
		return sw(nil, swWrongLen)
	}
	if c.sk == nil {
		return sw(nil, swCond)
	}
	arc, auth := data[:2], data[2:]
	cid := byte(cidAAC)
	if p1&0xC0 == p1TC && (c.arpcOK || c.arpcVerifies(auth)) && string(arc) == "00" {
		cid = p1TC
		c.stats.TCs++
	} else {
		c.stats.AACs++
	}
	ac, err := cardcrypto.ARQC(c.sk, bytes.Join([][]byte{arc, c.arqc, {cid}}, nil))
	if err != nil {
		return sw(nil, swCond)
	}
	c.sk, c.arqc = nil, nil
	c.stats.LastCryptoCID = cid
	return sw(c.acResponse(cid, ac), swOK)
}

// String names the card without card data.
func (c *Card) String() string {
	if c.mk == nil {
		return fmt.Sprintf("member card (uid of %d bytes)", len(c.cfg.UID))
	}
	return "chip card"
}
