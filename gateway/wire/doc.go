// Package wire is the byte layer of the cardcenter host: it cuts a TCP (or
// serial) stream into frames and turns frame bodies into ISO 8583 messages
// and back, exactly as sections 1 and 2 of the terminal protocol contract
// (shared terminal-protocol.md) fix them. It knows nothing of what a
// message means: validation, MAC, routing and response codes live above it.
//
// # Messages
//
// A [Message] is an MTI and a map from field number to value. Values are
// what the wire carries after decoding, not interpretations: n fields are
// digit strings that keep their zero padding (field 4 is "000000001250"),
// track 2 uses '=' (or the 'D' an ascii terminal sent), text is text and b
// fields are raw bytes in a string. Fields and bitmaps are never in the map:
// [Packager.Pack] derives them, including field 1 (the secondary bitmap),
// present exactly when a field 65–128 is.
//
// # Packagers
//
// [NewPackager] returns one of three layouts, each a moov-io/iso8583
// message spec written as a data literal (spec.go):
//
//   - "ascii" (default): MTI as 4 ASCII digits, each bitmap 8 raw bytes,
//     n/z/an/ans fields as ASCII, LL/LLL prefixes as ASCII digits, b fields
//     raw.
//   - "ascii-hexbitmap": as ascii, but each bitmap is 16 ASCII hex
//     characters (upper case out, either case in).
//   - "bcd" (UnionPay-style POS): MTI in 2 bytes of packed BCD; n fields
//     packed BCD, fixed ones right-aligned (n3 "156" = 01 56), LLVAR ones and
//     field 22 left-aligned (n3 "051" = 05 10); track 2 packed with '=' as
//     nibble D and an F pad nibble; LL (1 byte) and LLL (2 bytes) prefixes in
//     BCD, counting digits for n/z fields and bytes for the others; text in
//     ASCII, b fields raw.
//
// Unpack judges structure, not content. It fails, with an error matching
// [ErrMalformed], on a non-numeric MTI, a bitmap naming a field the
// contract's table does not list (bit 65, a third bitmap, is such a field),
// a length prefix that is not decimal or exceeds the field's maximum, a
// prefix or field running past the end, and bytes left after the last
// field: the host closes the connection on those. Everything else unpacks,
// so that the host can answer it: a letter in an ascii n field, any byte in
// a text field, the nibbles A–F in a bcd n field (as the letters 'A'–'F').
// The pad nibble of an odd bcd value is not checked, and an empty secondary
// bitmap is accepted (Pack drops it). Whatever Unpack returns, Pack packs
// back to the same values; for ascii, to the same bytes (but for such an
// empty secondary bitmap).
//
// Pack zero-pads an n field shorter than its fixed length (on the left; bcd
// field 22 on the right, being left-justified) and fails, with an error
// matching [ErrPack], on any other length mismatch, on a character the
// encoding cannot carry (anything but 0–9 and A–F in a bcd n field, plus '='
// and 'D' in track 2), on field 1 or a field the table does not list, and on
// an MTI that is not 4 digits.
//
// Errors of both name the element and the problem ([FieldError]), never a
// value: they are safe to log. Card data (fields 2, 35, 52, 55) is in the
// Message; never log a Message as it is.
//
// # Framing
//
// A [Framing] delimits messages on a stream. "len2" prefixes the 2-byte
// big-endian length of what follows, "ascii4" 4 ASCII decimal digits; with
// "+tpdu" a 5-byte TPDU 60 DDDD SSSS follows the length (which counts it),
// and the response carries 60 SSSS DDDD ([SwapTPDU]). [Framing.ReadFrame]
// rejects a length above [MaxFrameBytes] (4096), a zero length, an ascii4
// header that is not 4 digits and a TPDU not starting with 60, with the
// sentinel errors below; io.EOF means a clean end between frames and
// io.ErrUnexpectedEOF an end inside one. It reads into the caller's buffer,
// so a connection loop reading into one MaxFrameBytes buffer allocates
// nothing; the slices it returns are valid until that buffer is reused.
//
// A [LineFraming] is a serial line's ("stx-bcd", "stx-binary", either
// "+tpdu"): STX, a 2-byte BCD or binary length of the message (TPDU
// included), the message, ETX, and the LRC, the XOR of the bytes after STX
// through ETX. [LineAssembler] finds such frames, ACK and NAK bytes in a
// noisy byte stream, dropping a false STX and searching again from the
// byte after it; the ACK/NAK link on top is package line.
//
// # Example
//
// A sign-on (0800, field 70 = 001) from terminal TERM0001 of merchant
// MERCHANT0000001 with the ascii packager in len2 framing:
//
//	00 3E                    length: 62 bytes follow
//	30 38 30 30              MTI "0800"
//	82 20 00 00 00 C0 00 00  primary bitmap: 1 (secondary follows), 7, 11, 41, 42
//	04 00 00 00 00 00 00 00  secondary bitmap: 70
//	31 31 32 33 31 34 33 30  field 7  "1123143015" (n10, MMDDhhmmss UTC)
//	31 35
//	30 30 30 31 32 34        field 11 "000124" (n6, STAN)
//	54 45 52 4D 30 30 30 31  field 41 "TERM0001" (ans8)
//	4D 45 52 43 48 41 4E 54  field 42 "MERCHANT0000001" (ans15)
//	30 30 30 30 30 30 31
//	30 30 31                 field 70 "001" (n3, sign-on)
//
// With the bcd packager the same message is 51 bytes (header 00 33): MTI
// 08 00, the same two bitmaps, field 7 as 11 23 14 30 15, field 11 as
// 00 01 24, fields 41 and 42 in ASCII as above, field 70 as 00 01.
//
// The package's tests hold more of these, written by hand from the contract
// for every packager, and check them against moov-io's own message packer
// and, where it is installed, Wireshark's ISO 8583 dissector.
//
// # Performance
//
// Pack and Unpack do not go through moov-io's iso8583.Message (which costs
// 50–100 allocations per message and ignores trailing bytes); they walk the
// same spec with encoders that append into one buffer. A typical 0200 packs
// with one allocation and unpacks with six (the Message, its map, one string
// shared by all values) in well under a microsecond. Packagers are
// stateless and safe for concurrent use.
package wire
