// Package vcard is a virtual card for tests: a Go program playing the
// program's chip card (or a contactless member card that only has a UID)
// in the vpcd virtual reader of a real pcscd (vsmartcard-vpcd; the rig is
// internal/rig.PCSCD). Insert dials vpcd on localhost:35963, which pcscd
// sees as a card inserted in "Virtual PCD 00 00"; Close pulls it out.
//
// # Wire
//
// vpcd frames every message with a 2-byte big-endian length. A one-byte
// message is a control command: 00 power off, 01 power on, 02 reset (no
// answer), 04 get ATR (answered with ATR). Anything longer is a command
// APDU, answered with a response APDU (data ‖ SW1 SW2). The socket has
// TCP_NODELAY set (without it every APDU costs ~40 ms of delayed ACK) and
// every read and write a deadline.
//
// # The chip card
//
// A card with a PAN, expiry and the program's issuer master key (IMK)
// derives its own master key by EMV Option A (cardcrypto.CardKeyOptionA)
// and answers, in this order of a checkout:
//
//   - SELECT 2PAY.SYS.DDF01 (the PPSE): a directory with one entry, its AID;
//     SELECT of its AID (DefaultAID unless configured): its FCI. Any other
//     name: 6A82.
//   - GET PROCESSING OPTIONS: format 2 with AIP 1800 and AFL 08010100 (SFI
//     1, record 1).
//   - READ RECORD 1 of SFI 1: template 70 with 57 (track 2 equivalent: PAN D
//     YYMM 201 0000), 5F34 (PSN), 8C (CDOL1: 9F02 9F03 9F1A 95 5F2A 9A 9C
//     9F37) and 8D (CDOL2: 8A 91).
//   - GENERATE AC for an ARQC (P1 80): counts one more on its ATC, derives
//     the session key (cardcrypto.SessionKeyCommon) and answers 9F27 80,
//     9F36, 9F26 (the ARQC over CDOL1 data ‖ AIP ‖ ATC ‖ CVR, exactly the
//     host's ARQC data of contract section 7) and 9F10 06010A03A00000.
//   - EXTERNAL AUTHENTICATE with tag 91's value: 9000 when the ARPC is
//     ARPCMethod1 of its ARQC and the ARC, 6300 otherwise.
//   - the second GENERATE AC with CDOL2 data (ARC ‖ tag 91): a TC (9F27 40)
//     when asked for one (P1 40), the ARPC verified and the ARC is 00; an
//     AAC (00) otherwise.
//
// Stats counts what it saw: each INS, ARQCs, ARPCs verified or rejected,
// TCs and AACs; ATC is its counter.
//
// # The member card
//
// A card with only a UID answers GET DATA FF CA 00 00 00 with it and 6A82 to
// every SELECT, as a contactless member card without an application does.
//
// # Pulling the card mid-transaction
//
// Config.Pull is asked about each command APDU before the card answers; if
// it says true, the card closes the connection instead of answering, as a
// card pulled from the reader at that moment.
package vcard
