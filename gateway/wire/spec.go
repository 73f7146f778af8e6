package wire

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// The three packagers of the terminal protocol (docs: shared
// terminal-protocol.md, section 2), each an ordinary moov-io message spec.
// Field 0 is the MTI and field 1 the bitmap, as in moov; every other entry is
// a field of the contract's table and nothing else (a bitmap naming a field
// that is not here is an unpack error), with one exception: field 63, the
// host's own loyalty field (ans..999 LLLVAR, docs/protocol.md "Field 63"),
// which only terminals that opted in ever see, in responses. The packagers
// accept it both ways; the gateway refuses it in a request.
//
// Conventions, as moov reads a field.Spec:
//   - Length is the fixed length, or the maximum for LL/LLL fields, counted
//     in characters for n/z/an/ans and bytes for b;
//   - Pref is the length prefix: a Fixed one for fixed fields;
//   - Pad is applied by Pack only, to an n value shorter than its fixed
//     length. Unpack never strips it: values are exactly as on the wire
//     (field 4 unpacks as "000000001250", not "1250").
//
// Do not replace these with specs.Spec87ASCII: its bitmap is declared as 16
// bytes of hex (32 characters) instead of 8.

var zeroLeft = padding.Left('0')

// FieldLoyalty is field 63, the member's tier in responses to terminals
// that opted in (docs/protocol.md "Field 63"). It is the one field here
// that the contract's table does not list.
const FieldLoyalty = 63

// asciiSpec: MTI as 4 ASCII digits, binary bitmap, everything else ASCII
// except b fields (raw bytes).
var asciiSpec = &iso8583.MessageSpec{
	Name: "ascii",
	Fields: map[int]field.Field{
		0:   field.NewString(&field.Spec{Length: 4, Description: "Message Type Indicator", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		1:   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: binaryBitmap{}, Pref: prefix.Binary.Fixed}),
		2:   field.NewString(&field.Spec{Length: 19, Description: "Primary Account Number", Enc: encASCII, Pref: prefASCIILL}),
		3:   field.NewString(&field.Spec{Length: 6, Description: "Processing Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		4:   field.NewString(&field.Spec{Length: 12, Description: "Transaction Amount", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		7:   field.NewString(&field.Spec{Length: 10, Description: "Transmission Date & Time", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		11:  field.NewString(&field.Spec{Length: 6, Description: "Systems Trace Audit Number (STAN)", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		12:  field.NewString(&field.Spec{Length: 6, Description: "Local Transaction Time", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		13:  field.NewString(&field.Spec{Length: 4, Description: "Local Transaction Date", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		14:  field.NewString(&field.Spec{Length: 4, Description: "Expiration Date", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		22:  field.NewString(&field.Spec{Length: 3, Description: "Point of Service Entry Mode", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		23:  field.NewString(&field.Spec{Length: 3, Description: "Card Sequence Number", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		25:  field.NewString(&field.Spec{Length: 2, Description: "Point of Service Condition Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		35:  field.NewString(&field.Spec{Length: 37, Description: "Track 2 Data", Enc: encASCII, Pref: prefASCIILL}),
		37:  field.NewString(&field.Spec{Length: 12, Description: "Retrieval Reference Number", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		38:  field.NewString(&field.Spec{Length: 6, Description: "Authorization Identification Response", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		39:  field.NewString(&field.Spec{Length: 2, Description: "Response Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		41:  field.NewString(&field.Spec{Length: 8, Description: "Card Acceptor Terminal Identification", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		42:  field.NewString(&field.Spec{Length: 15, Description: "Card Acceptor Identification Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		48:  field.NewString(&field.Spec{Length: 999, Description: "Additional Data - Private (batch totals)", Enc: encASCII, Pref: prefASCIILLL}),
		49:  field.NewString(&field.Spec{Length: 3, Description: "Transaction Currency Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		52:  field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		54:  field.NewString(&field.Spec{Length: 120, Description: "Additional Amounts (balances)", Enc: encASCII, Pref: prefASCIILLL}),
		55:  field.NewBinary(&field.Spec{Length: 255, Description: "ICC Data (EMV)", Enc: encBinary, Pref: prefASCIILLL}),
		60:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (batch number)", Enc: encASCII, Pref: prefASCIILLL}),
		62:  field.NewBinary(&field.Spec{Length: 999, Description: "Reserved Private (working keys)", Enc: encBinary, Pref: prefASCIILLL}),
		63:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (loyalty tier, opt-in)", Enc: encASCII, Pref: prefASCIILLL}),
		64:  field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		70:  field.NewString(&field.Spec{Length: 3, Description: "Network Management Information Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		90:  field.NewString(&field.Spec{Length: 42, Description: "Original Data Elements", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		128: field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
	},
}

// asciiHexBitmapSpec is asciiSpec with each bitmap sent as 16 ASCII hex
// characters.
var asciiHexBitmapSpec = &iso8583.MessageSpec{
	Name: "ascii-hexbitmap",
	Fields: map[int]field.Field{
		0:   field.NewString(&field.Spec{Length: 4, Description: "Message Type Indicator", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		1:   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: hexBitmap{}, Pref: prefix.ASCII.Fixed}),
		2:   field.NewString(&field.Spec{Length: 19, Description: "Primary Account Number", Enc: encASCII, Pref: prefASCIILL}),
		3:   field.NewString(&field.Spec{Length: 6, Description: "Processing Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		4:   field.NewString(&field.Spec{Length: 12, Description: "Transaction Amount", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		7:   field.NewString(&field.Spec{Length: 10, Description: "Transmission Date & Time", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		11:  field.NewString(&field.Spec{Length: 6, Description: "Systems Trace Audit Number (STAN)", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		12:  field.NewString(&field.Spec{Length: 6, Description: "Local Transaction Time", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		13:  field.NewString(&field.Spec{Length: 4, Description: "Local Transaction Date", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		14:  field.NewString(&field.Spec{Length: 4, Description: "Expiration Date", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		22:  field.NewString(&field.Spec{Length: 3, Description: "Point of Service Entry Mode", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		23:  field.NewString(&field.Spec{Length: 3, Description: "Card Sequence Number", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		25:  field.NewString(&field.Spec{Length: 2, Description: "Point of Service Condition Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		35:  field.NewString(&field.Spec{Length: 37, Description: "Track 2 Data", Enc: encASCII, Pref: prefASCIILL}),
		37:  field.NewString(&field.Spec{Length: 12, Description: "Retrieval Reference Number", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		38:  field.NewString(&field.Spec{Length: 6, Description: "Authorization Identification Response", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		39:  field.NewString(&field.Spec{Length: 2, Description: "Response Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		41:  field.NewString(&field.Spec{Length: 8, Description: "Card Acceptor Terminal Identification", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		42:  field.NewString(&field.Spec{Length: 15, Description: "Card Acceptor Identification Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		48:  field.NewString(&field.Spec{Length: 999, Description: "Additional Data - Private (batch totals)", Enc: encASCII, Pref: prefASCIILLL}),
		49:  field.NewString(&field.Spec{Length: 3, Description: "Transaction Currency Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		52:  field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		54:  field.NewString(&field.Spec{Length: 120, Description: "Additional Amounts (balances)", Enc: encASCII, Pref: prefASCIILLL}),
		55:  field.NewBinary(&field.Spec{Length: 255, Description: "ICC Data (EMV)", Enc: encBinary, Pref: prefASCIILLL}),
		60:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (batch number)", Enc: encASCII, Pref: prefASCIILLL}),
		62:  field.NewBinary(&field.Spec{Length: 999, Description: "Reserved Private (working keys)", Enc: encBinary, Pref: prefASCIILLL}),
		63:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (loyalty tier, opt-in)", Enc: encASCII, Pref: prefASCIILLL}),
		64:  field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		70:  field.NewString(&field.Spec{Length: 3, Description: "Network Management Information Code", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		90:  field.NewString(&field.Spec{Length: 42, Description: "Original Data Elements", Enc: encASCII, Pref: prefix.ASCII.Fixed, Pad: zeroLeft}),
		128: field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
	},
}

// bcdSpec: the packed layout of UnionPay-style POS terminals. MTI and n
// fields in packed BCD (fixed fields right-aligned; LLVAR n fields and
// field 22 left-aligned), track 2 in packed BCD with '=' as 0xD and an F pad
// nibble, BCD length prefixes (1 byte LL, 2 bytes LLL) counting digits for
// n/z and bytes otherwise, text in ASCII, b fields raw.
//
// Field 22 is padded on the right both as a nibble and, when Pack is given a
// short value, as a value ("05" packs as "050" = 05 00): it is a
// left-justified field in this layout.
var bcdSpec = &iso8583.MessageSpec{
	Name: "bcd",
	Fields: map[int]field.Field{
		0:   field.NewString(&field.Spec{Length: 4, Description: "Message Type Indicator", Enc: encBCDRight, Pref: prefix.BCD.Fixed}),
		1:   field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: binaryBitmap{}, Pref: prefix.Binary.Fixed}),
		2:   field.NewString(&field.Spec{Length: 19, Description: "Primary Account Number", Enc: encBCDLeft, Pref: prefBCDLL}),
		3:   field.NewString(&field.Spec{Length: 6, Description: "Processing Code", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		4:   field.NewString(&field.Spec{Length: 12, Description: "Transaction Amount", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		7:   field.NewString(&field.Spec{Length: 10, Description: "Transmission Date & Time", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		11:  field.NewString(&field.Spec{Length: 6, Description: "Systems Trace Audit Number (STAN)", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		12:  field.NewString(&field.Spec{Length: 6, Description: "Local Transaction Time", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		13:  field.NewString(&field.Spec{Length: 4, Description: "Local Transaction Date", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		14:  field.NewString(&field.Spec{Length: 4, Description: "Expiration Date", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		22:  field.NewString(&field.Spec{Length: 3, Description: "Point of Service Entry Mode", Enc: encBCDLeft, Pref: prefix.BCD.Fixed, Pad: padding.Right('0')}),
		23:  field.NewString(&field.Spec{Length: 3, Description: "Card Sequence Number", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		25:  field.NewString(&field.Spec{Length: 2, Description: "Point of Service Condition Code", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		35:  field.NewString(&field.Spec{Length: 37, Description: "Track 2 Data", Enc: encBCDTrack2, Pref: prefBCDLL}),
		37:  field.NewString(&field.Spec{Length: 12, Description: "Retrieval Reference Number", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		38:  field.NewString(&field.Spec{Length: 6, Description: "Authorization Identification Response", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		39:  field.NewString(&field.Spec{Length: 2, Description: "Response Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		41:  field.NewString(&field.Spec{Length: 8, Description: "Card Acceptor Terminal Identification", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		42:  field.NewString(&field.Spec{Length: 15, Description: "Card Acceptor Identification Code", Enc: encASCII, Pref: prefix.ASCII.Fixed}),
		48:  field.NewString(&field.Spec{Length: 999, Description: "Additional Data - Private (batch totals)", Enc: encASCII, Pref: prefBCDLLL}),
		49:  field.NewString(&field.Spec{Length: 3, Description: "Transaction Currency Code", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		52:  field.NewBinary(&field.Spec{Length: 8, Description: "PIN Data", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		54:  field.NewString(&field.Spec{Length: 120, Description: "Additional Amounts (balances)", Enc: encASCII, Pref: prefBCDLLL}),
		55:  field.NewBinary(&field.Spec{Length: 255, Description: "ICC Data (EMV)", Enc: encBinary, Pref: prefBCDLLL}),
		60:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (batch number)", Enc: encASCII, Pref: prefBCDLLL}),
		62:  field.NewBinary(&field.Spec{Length: 999, Description: "Reserved Private (working keys)", Enc: encBinary, Pref: prefBCDLLL}),
		63:  field.NewString(&field.Spec{Length: 999, Description: "Reserved Private (loyalty tier, opt-in)", Enc: encASCII, Pref: prefBCDLLL}),
		64:  field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
		70:  field.NewString(&field.Spec{Length: 3, Description: "Network Management Information Code", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		90:  field.NewString(&field.Spec{Length: 42, Description: "Original Data Elements", Enc: encBCDRight, Pref: prefix.BCD.Fixed, Pad: zeroLeft}),
		128: field.NewBinary(&field.Spec{Length: 8, Description: "Message Authentication Code (MAC)", Enc: encBinary, Pref: prefix.Binary.Fixed}),
	},
}

// specs maps each packager name to its spec, in the order of Packagers.
var specs = []*iso8583.MessageSpec{asciiSpec, asciiHexBitmapSpec, bcdSpec}
