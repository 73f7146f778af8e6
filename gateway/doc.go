// Package gateway is the host side of the terminal protocol
// (docs/protocol.md): TCP and serial listeners that frame and unpack ISO 8583
// requests (package wire), turn them into ledger requests, and write back
// the responses as the ledger decides them.
//
// Data flows one way: bytes → frame → message → ledger.Request → decision
// (durable) → ledger.Result → response message → bytes. Nothing here knows
// Pebble; the ledger knows nothing of ISO 8583.
//
// # Connections
//
// Each connection has a reader goroutine and, while answers wait to be
// written, a writer goroutine. The reader reads a frame, unpacks it and
// submits it; up to MaxInFlight requests may be in flight on one
// connection, and their responses go back in the order the ledger
// completes them, those completed together in one write. An idle
// connection holds its reader's stack and a 1 KiB read buffer; a bigger
// one is borrowed from a pool only while bytes wait in it (inbox.go), and
// the writer's from another only while it writes. Between frames the idle
// timeout applies; from a frame's first byte the read timeout bounds the
// whole frame (one deadline, never renewed), so a peer that trickles a
// byte at a time cannot hold a connection longer than one read timeout
// per frame. A frame or message that cannot be read closes only that
// connection, logged with the remote address and the reason, never the
// bytes. Shutdown stops accepting and reading, lets every request in
// flight be decided and answered, then closes.
//
// # Limits and transport
//
// MaxConnections bounds connections over all listeners and
// MaxConnectionsPerSource those of one remote IP address (default 512:
// a mall behind one NAT address fits, one peer cannot take every slot);
// a connection over either is closed at once. A listener with a TLS
// block speaks TLS 1.2 or later (internal/tlsconf), checking client
// certificates against its client_ca when given and requiring one with
// require_client_cert; the handshake runs on the connection's goroutine,
// bounded by the read timeout, and a failed one is bad input.
//
// Lines that a peer causes before it has proved anything (refusals, bad
// frames and messages, failed handshakes, idle timeouts, failed writes)
// go through Config.Guard (internal/logguard): a few per minute per kind,
// the rest counted, the counts in the admin API's GET /v1/stats.
//
// # Monitoring
//
// Config.Observer (observe.go) is told of every answered request (its MTI
// and field 3 as received, the answer's field 39, and the time from the
// frame read to the response written) and of every connection opened,
// closed or refused, by listener (ListenerInfo: the configured address or
// device, and tcp, tls or serial). The gateway does not import
// Prometheus: the host's internal/metrics implements the Observer, and
// maps the peer-chosen MTI and field 3 onto the contract's closed sets
// (wire.RequestMTIs, wire.ProcessingCodes). Ready says whether the
// gateway accepts (started, not shutting down): the host's /readyz.
//
// # Serial lines
//
// A listener of kind serial (serial.go) serves the one terminal on a
// serial device. Package wire/line runs the line (STX LEN MSG ETX LRC,
// ACK/NAK, at most MaxRetransmits resends, repeated frames recognised and
// answered with the answer already sent, noise and cut frames discarded)
// and presents it as a net.Conn of len2 records, so the device's
// terminal is a connection of the same loop as a TCP one: same framing
// of TPDUs, unpacking, validation, ledger, responses and decision lines.
// Two things differ: one request is in flight at a time (the line
// answers a repeated request with its last answer), and there is no idle
// timeout (the terminal owns the line; the line layer watches the device
// instead). When the device vanishes (hang-up, I/O error, its path
// naming another device) the loop ends and the device is reopened after
// 100 ms, doubling up to 2 s while it keeps failing; Shutdown stops that.
// docs/devices.md explains each of the line's log lines.
//
// # Checks and response codes
//
// The validator (validate.go) checks fields 41 and 42 first (30, not
// stored); every other missing or malformed field is carried to the
// ledger as Request.Invalid so that the 30 comes after the
// retransmission check, in the contract's order. The ledger's decisions
// are errors; ResponseCode maps them to field 39 in one table (rc.go).
// Responses are a pure function of the request and the stored Result
// (response.go), so a retransmission renders byte-equal.
//
// One field goes beyond the contract: field 63, the member's tier and
// discount (`LT` index discount-bp name), rendered only when the Result
// says the terminal opted in (ledger.Terminal.LoyaltyInfo) and carries a
// tier; a request carrying 63 is closed like any unlisted field
// (docs/protocol.md, "Field 63").
//
// # Card data
//
// Decision logs carry the masked PAN only; tracks, PIN blocks and field 55
// never reach a log or an error string.
package gateway
