// Package terminal is the terminal side of the cardcenter terminal protocol
// (shared/terminal-protocol.md, mirrored in docs/protocol.md): a pipelined
// ISO 8583 client, a POS terminal state machine, a scenario runner for
// demos and tests, and a load generator. It talks to the host only through
// the wire contract; it imports nothing of the host but package
// gateway/wire (packagers and framing, and its serial line layer
// gateway/wire/line) and package cardcrypto (the
// cryptography of contract section 7, shared with the host).
//
// # Client
//
// A Client is one connection to the host with a configured framing (len2
// or ascii4, with or without the TPDU 60 DDDD SSSS) and packager (ascii,
// ascii-hexbitmap, bcd). Any number of goroutines call Do at once; at most
// MaxInFlight requests are in flight; responses are matched to requests by
// response MTI class, field 11 and field 41, in whatever order they arrive.
// With TPDU framing every response must carry the request's TPDU with source
// and destination swapped (ErrTPDUMismatch otherwise).
//
// Every read and write has a deadline: WriteTimeout per write, IdleReadTimeout
// (renewed) while no frame is arriving, FrameTimeout from a frame's first byte
// to its last; a stalled or broken connection is closed and every request on
// it fails over to the next try, which dials again. ResponseTimeout bounds
// each try: a request without an answer is sent again, at most MaxTries times
// in all (default 3), then Do returns an error wrapping ErrNoResponse. A
// resent 0220, 0400 or 0420 goes out as its repeat (0221, 0401, 0421) with
// the same STAN and field 7; anything else is resent byte for byte. An
// answer to an earlier try still counts.
//
// The transport is a DialFunc returning a Conn (an io.ReadWriteCloser with
// deadlines): TCPDialer for TCP, TLSDialer for a TLS listener (TLS 1.2 or
// later; the CA and any client certificate in its *tls.Config),
// SerialDialer for a serial line (package gateway/wire/line, the host's
// own line layer, as a Conn of len2 records: give the Client the line
// framing's Stream() framing, and MaxInFlight 1, since a serial host
// answers one request at a time). Each serial dial opens the device
// afresh, so a device that vanished is reopened by the next try.
//
// ParseSwipe reads what a magstripe reader in keyboard mode types for one
// swipe (track 1 %B…^…^…?, track 2 ;…=…?, or both, each optionally
// followed by its LRC) into a Card, checking sentinels, separators,
// lengths, the expiry month, the LRC and the PAN's Luhn digit; its errors
// (ErrBadTrack) mask the PAN and never quote the track.
// RawConn is the raw mode for host tests: it writes exact frame bytes
// (malformed ones included) and reads whole frames.
//
// Once a terminal has working keys (SetTAK, done by Terminal.SignOn when it
// has a TMK), the Client MACs its 0100/0200/0220/03xx/04xx/0500 requests
// (ISO 9797-1 algorithm 3, field 64 or 128) and checks the MAC of every
// response but 03, 58 and 63 (ErrBadMAC). It keeps each TAK prepared (its
// DES key schedules made once, cardcrypto.MACKey): every message is MACed.
//
// # Terminal
//
// A Terminal is one TID/MID on top of an Exchanger (a Client, possibly shared
// with other terminals). It numbers its requests (STAN 000001..999999, then
// 000001 again), stamps field 7 in UTC from its injected clock, sends its
// batch number in field 60 (six digits, from 000001), and keeps the approved
// transactions of its open batch (RRN, STAN, field 7, MTI, processing code,
// amount, card) so that they can be completed, voided, refunded, reversed
// and uploaded. Its batch totals follow contract section 6: debits are
// approved purchases and completions, credits approved refunds and loads;
// a void or reversal takes its original out, and reversing a void puts the
// void's original back. Settle sends 0500/920000 with the totals; on 95 it
// uploads every counted transaction with 0320 and closes with 0500/960000;
// after a 00 it moves to the next batch number.
//
// Cards travel as track 2 (field 35, PAN=YYMM, service code 101 unless
// given, field 22 = 021) or, when key-entered, as fields 2 and 14 (field 22
// = 012). Follow-up requests (completion, void, reversal, upload) carry the
// original's PAN and expiry as fields 2 and 14. A PIN, when the card has one
// and the terminal has a TPK, goes in field 52 of 0100 and 0200 requests
// (ISO 9564 format 0), never in voids. The keys, MAC and PIN block are
// package cardcrypto's; this package only reads field 62.
//
// # Chip cards
//
// A Card with a ChipCard (the program's issuer master key, clear — only test
// programs have one a simulator may hold — and the PAN sequence number,
// default 00) is presented by chip, as contract section 7 describes: the
// card derives its master key from the IMK by EMV Option A, counts one more
// on its application transaction counter (ATC), derives the session key
// from it and computes the ARQC; the request carries track 2 (35), field 22
// = 051, field 23 = 0 and the PSN, and field 55 with the 13 tags of the
// contract: 9F26 ARQC, 9F27 80, 9F10 06010A03A00000 (CVR 03A00000), 9F36
// ATC, 9F37 random, 95 zeros, 9A the terminal's date, 9C the first two
// digits of field 3, 9F02 the amount (0 for a balance inquiry), 9F03 zero,
// 5F2A and 9F1A 0156, 82 1800. Follow-ups (completion, void, reversal,
// upload) stay key-entered, as for any card.
//
// The card then checks the response: when field 55 is present, tag 91 must
// hold an ARC equal to field 39 and the ARPC 3DES(SK, ARQC XOR ARC‖00…)
// (ARPC method 1); an approval must carry it. Any failure is an error
// wrapping ErrChip, returned with the Result, and the transaction is not
// recorded in the batch. Result.Chip reports the ATC and whether the ARPC
// verified; a result line shows "atc=N arpc=ok".
//
// The ATC of each card (PAN and PSN) lives in the terminal's state and
// persists with the STAN, so restarts keep it rising. A real card carries
// its counter from terminal to terminal; the scenario Runner does the same
// for its terminals (RaiseATC). Terminals in different processes with
// different state files count separately, and the host refuses an ATC that
// does not rise (63).
//
// With a StatePath the terminal keeps its next STAN, batch number, open
// batch and working keys (encrypted under the TMK, as the host sent them) in
// a JSON file, written to a temporary file, synced and renamed, so one-shot
// commands in separate processes continue one sequence. The file holds full
// PANs (needed for uploads) and is created with mode 0600; two processes
// must not use one state file at the same time.
//
// Amounts are Fen (int64 minor units). ParseYuan reads "12.50", "12" or
// "0.05" exactly, without floating point. Field 54 parses into Balances
// (ParseBalances, strict: contract section 4).
//
// Card data is printed, logged and put in errors only as a masked PAN
// (cardnum.Mask: at most the first 6 and last 4 digits). Track 2, PINs,
// PIN blocks, keys and field 55 never are.
//
// # Scenario files
//
// A scenario file drives one or more terminals, one request per line, and
// the runner writes one readable line per request. The format:
//
//	# a comment; blank lines are ignored; "#" starts a comment anywhere
//	terminal T0000002                  # switch the current terminal by TID, or by position:
//	terminal 2                         # the second terminal given to the runner (the first is current at the start)
//	signon                             # 0800/001 (also: signoff, echo, keychange)
//	balance card=alice                 # 0100/310000
//	purchase card=alice amount=12.50 as=p1
//	refund rrn=@p1 amount=2.00         # card defaults to the original's
//	refund rrn=000000001234 card=bob amount=1.00
//	load card=bob amount=100
//	accrual card=carol amount=30.00
//	redeem card=carol amount=5.00
//	preauth card=dave amount=80.00 as=hold
//	complete @hold amount=75.00        # 0220 naming the preauth
//	void @last                         # 0200/020000 naming the last approved transaction
//	reverse @p1                        # 0400 naming a labelled transaction
//	purchase card=lost1 amount=1.00 expect=41
//	purchase card=6210001234567890 exp=2812 amount=0.05 entry=manual pin=1234
//	purchase card=alice amount=8.00 entry=chip imk=0123456789ABCDEFFEDCBA9876543210 psn=01
//	purchase card=mei amount=150.00 pin=none expect=55   # the cardholder enters no PIN
//	settle                             # 0500, uploads on 95, next batch on 00
//
// Each line is an operation and key=value arguments separated by blanks:
//
//	card=NAME|PAN   a card name from the runner's card map, or a literal PAN
//	                (with exp=YYMM, default 4912)
//	amount=YUAN     decimal yuan, at most two decimals, no sign
//	entry=swipe|manual|chip, pin=DIGITS|none   how the card is presented
//	                and the PIN entered (default: RunnerConfig.CardholderPIN's)
//	imk=HEX32 psn=NN   with entry=chip: the program's issuer master key
//	                (32 hex characters; test keys only) and the PAN
//	                sequence number (default: the card's ChipCard, then
//	                RunnerConfig.ChipIMK and PSN 00)
//	as=NAME         labels the transaction for later @NAME references
//	expect=RC       the response code the step should get
//	@last | @NAME | RRN   the original of complete, void and reverse
//	                (positional, or ref=); rrn= for refund
//
// @last is the last approved transaction (of any kind, voids included) in
// the current terminal's open batch; @NAME is the transaction a step labelled
// (approved or not, so a request that got no answer can be reversed); a bare
// RRN is looked up in the current terminal's open batch. A chip card in the
// runner's card map is still swiped unless the step says entry=chip.
// A step without pin= that names a card by name asks
// RunnerConfig.CardholderPIN, when set, what the cardholder enters for the
// request's processing code and amount (a simulator answers the card's PIN
// when its product asks for one); pin= enters the digits given, pin=none
// nothing.
// ParseScenario
// reports every malformed line with its line number and reason; Runner.Check
// then rejects unknown terminals and cards and labels used before they are
// defined, before anything is sent. A step whose response code differs from
// its expect= is reported under its line and the run goes on; Run's error then
// wraps ErrExpectation. A step that gets no valid response stops the run.
//
// An output line looks like
//
//	2025-11-23 14:00:05 T0000001 purchase  621000******7890        12.50  00 approved                 rrn=000000000123 ledger=87.50 avail=87.50 points=112 earned=12
//
// After the balances, a line says what contract section 7 did: keys=ok
// (a sign-on or key change brought working keys whose check values match,
// Result.KeysTaken), pin=entered (field 52 went, Result.PINEntered),
// mac=ok (the request was MACed and the response's MAC verified,
// Result.MACVerified), atc=N arpc=ok (a chip request, Result.Chip).
//
// The text after the code is RCMeaning's, except that a 58 to a network
// management request (0800) reads "terminal disabled": the host answers an
// 0800 from an enabled terminal whether or not it is signed on. To any
// other request a 58 reads "terminal disabled or not signed on", since field
// 39 cannot say which. Runner.LastRC is the last answer's code, for tools
// that turn it into an exit status (cardcenter pos).
//
// # Load generator
//
// RunLoad spreads N terminals over M connections with K requests in flight
// per connection. Every terminal signs on first (through a Client, which
// it then closes). Requests follow a weighted mix of purchase, balance,
// load and refund (refunds name approved purchases of the same terminal),
// or only echoes (EchoOnly, the baseline), until a duration or a request
// count (both bounded) is reached. The report counts requests, approvals,
// declines by response code and errors, and gives throughput and latency
// quantiles from a log-linear histogram (Histogram, about 1.6 %
// resolution). FormatReport prints it; ThroughputRatio and LatencyRatio
// compare a run with its echo baseline.
//
// The load generator shares the machine with the host it measures, so it
// is built to cost little (load_conn.go): the run has connections of its
// own, not Clients; requests are packed from a template per request shape
// with only the fields that change written over it (load_template.go;
// TestLoadTemplateBytes holds them to Pack byte for byte), and every
// request ready at once leaves in one write; answers are checked on
// their packed bytes, located by the contract's field table
// (load_layout.go, held to wire's Unpack by FuzzScanMessage) rather than
// unpacked. The checks are the Client's (load_answer.go): field 11, 41
// and the response MTI match an answer to its request, the TPDU and the
// MAC must be right, an answer that does not unpack is dropped; a request
// without an answer within ResponseTimeout is an error, and nothing is
// sent twice. One goroutine per connection does it all: it sends what
// is due (the requests that take the answered ones' places, or the open
// loop's slots), then waits for the next answer, slot or deadline. One
// file a flow: load.go (the configuration, sign-on, the run),
// load_closed.go, load_open.go, load_conn.go, load_request.go (what a
// request is), load_template.go, load_layout.go, load_answer.go,
// load_report.go.
//
// By default the loop is closed: each of a connection's K request slots
// sends its next request when the last is answered, which measures the ceiling but hides queueing (a
// slow answer delays the next request, so the wait is never measured).
// With LoadConfig.Rate set the loop is open: requests are due on a fixed
// timetable, Rate a second over all connections (slot i at i/Rate s, on
// connection i mod M), whatever the answers; a request's latency counts
// from its slot, so time spent waiting to be sent is in it. A connection
// still has at most K requests outstanding, and a backlog of at most 64
// slots waiting for them: a request sent more than LateAfter (1 ms)
// after its slot is counted Late, a slot that finds the backlog full is
// not sent and counted Missed. Either means the timetable was not kept.
//
// RawEchoServer and RunRawEcho are the ceiling the bench compares the host
// with: a len2 echo with no ISO 8583 and no ledger (one goroutine and two
// 16 KiB buffers per connection, no allocation per frame, answers
// flushed once for every batch of frames read), driven closed-loop over
// the same connections, depth and message size (PurchaseRequestSize) as
// the host's runs.
//
// # Checkout reader
//
// Checkout is the purchase at a PC/SC checkout reader (cardcenter reader;
// docs/devices.md). Card commands go through a CardConn: PCSCCard in the
// reader (pcsc.go, github.com/ebfe/scard, built only with cgo; without it
// OpenPCSC fails with ErrNoPCSC), anything else in tests. transceive
// follows 6Cxx (resend with Le) and 61xx (GET RESPONSE, bounded) and names
// the command and status word in its errors (SWError), never the data.
// ReadChipApp selects the program's AID (through the PPSE when listed),
// gets the processing options and reads the AFL's records for the track 2
// equivalent (57), the PSN (5F34) and the CDOLs; a ChipSession is the
// card's half of the request (ChipCard.ICC): its first GENERATE AC gives
// the ARQC that goes in field 55 (chip_icc.go); Complete gives the card tag
// 91 by EXTERNAL AUTHENTICATE and ends with the second GENERATE AC. A card
// without the application is read for its UID (ReadUID) and bought with
// as the card Checkout.LookupUID maps it to.
//
// Checkout reverses (0400) exactly when the request went out and the
// outcome is unknown or the card refused an approval: no answer processed
// from the host, the card gone before the second GENERATE AC, 6300 to
// EXTERNAL AUTHENTICATE, an AAC after an approval. Card data stays out of
// errors: PANs masked, no track 2, no field 55.
package terminal
