// Package admin is the operators' HTTP API (JSON over net/http) and its Go
// client, which the CLI's admin verbs use.
//
// # Endpoints (v1)
//
//	GET  /healthz                       no auth; {"status":"ok"}
//	GET  /v1/programs                   list
//	GET  /v1/programs/{id}              one program
//	PUT  /v1/programs/{id}              create (201) or replace (200)
//	GET  /v1/merchants                  list
//	GET  /v1/merchants/{mid}
//	PUT  /v1/merchants/{mid}            program must exist
//	GET  /v1/terminals                  list, with runtime state
//	GET  /v1/terminals/{tid}
//	PUT  /v1/terminals/{tid}            {"mid":…, "enabled":true}
//	GET  /v1/cards?limit=&cursor=       a page of cards (masked), opaque cursor
//	GET  /v1/cards/{pan}                card, masked PAN, member, limits, balances
//	PUT  /v1/cards/{pan}                create or replace the registration
//	POST /v1/cards/{pan}/state          {"state":"lost","note":…}
//	POST /v1/cards/{pan}/adjust         {"amount":"12.50"|"-12.50"} or {"points":n}, "note" required
//	GET  /v1/cards/{pan}/history?limit= journal entries, newest first
//	GET  /v1/check                      the ledger's consistency check
//	GET  /v1/stats                      counts of the rate-limited log lines (StatsBody)
//	POST /v1/checkpoint {dir}           a consistent copy of the live store (backup; 0700 directories, 0600 files)
//	POST /v1/import                     body: a provisioning file (YAML)
//
// Every /v1 request carries "Authorization: Bearer <token>"; the token is
// in <datadir>/admin.token (LoadOrCreateToken makes it: 32 random bytes in
// hex, mode 0600) and is compared in constant time. A wrong or missing
// token is answered 401, an unknown record or endpoint 404, a known path
// with another method 405, and bad input 400 with a JSON ErrorBody whose
// "field" names the offending field ("line" too for an import).
//
// # Transport
//
// Listen binds the API: plain HTTP on a loopback address only; any other
// address needs TLS (cert and key, TLS 1.2 or later), and Listen refuses
// it without (ErrPlainRemote), because the bearer token would cross the
// network in clear. Failed logins and net/http's own lines (failed TLS
// handshakes among them) are logged through a logguard.Guard: a few per
// minute, the rest counted in GET /v1/stats.
//
// # Invariants
//
//   - No response carries a clear PAN. A card's PAN enters the API only as
//     the {pan} path parameter and leaves it only through cardnum.Mask;
//     list cursors are sealed (AES-GCM, key per process). Error messages
//     are scrubbed of digit runs as a last line of defence.
//   - Logs (zerolog) get one event per change ("event":"admin_change",
//     "what": program_put, merchant_put, terminal_put, card_put,
//     card_state, card_adjust, import) with masked PANs, and never a token,
//     a URL path or a request body.
//   - Limits: MaxBodyBytes for JSON bodies, MaxImportBytes for imports,
//     maxInFlight requests at once (then 503), one import at a time, list
//     sizes, note length; the http.Server has ReadHeaderTimeout,
//     ReadTimeout, WriteTimeout and IdleTimeout.
//   - A change, once accepted, completes even if the client goes away; each
//     is one durable ledger change (an import is many; it is idempotent,
//     see provision.Apply).
//
// # Use
//
//	tok, err := admin.LoadOrCreateToken(dataDir)
//	srv, err := admin.New(admin.Config{Store: store, Token: tok, Logger: log})
//	l, err := admin.Listen("127.0.0.1:7080", nil) // the caller binds; TLS beyond loopback
//	go srv.Serve(l)
//	…
//	srv.Shutdown(ctx)
//
//	c := &admin.Client{BaseURL: "http://127.0.0.1:7080", Token: tok}
//	card, err := c.Card(ctx, pan)
//
// A Client call that could not connect at all returns an error wrapping
// ErrUnreachable, so a caller can fall back to opening the store itself.
package admin
