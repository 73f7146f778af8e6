// Package gateway is the host side of the terminal protocol
// (docs/protocol.md): TCP listeners that frame and unpack ISO 8583
// requests (package wire), turn them into ledger requests, and write back
// the responses as the ledger decides them.
//
// Data flows one way: bytes → frame → message → ledger.Request → decision
// (durable) → ledger.Result → response message → bytes. Nothing here knows
// Pebble; the ledger knows nothing of ISO 8583.
//
// # Connections
//
// Each connection has a reader goroutine and a writer goroutine. The
// reader reads a frame (idle timeout between frames, read timeout inside
// one), unpacks it and submits it; up to MaxInFlight requests may be in
// flight on one connection, and their responses go back in the order the
// ledger completes them. A frame or message that cannot be read closes
// only that connection, logged with the remote address and the reason,
// never the bytes. Shutdown stops accepting and reading, lets every
// request in flight be decided and answered, then closes.
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
// # Card data
//
// Decision logs carry the masked PAN only; tracks, PIN blocks and field 55
// never reach a log or an error string.
package gateway
