// Package admin is the operators' HTTP API (JSON over net/http) and its Go
// client, which the CLI's admin verbs use.
//
// # Endpoints (v1)
//
//	GET  /healthz                       no auth; {"status":"ok"} while the process serves (liveness)
//	GET  /readyz                        no auth; 200 {"status":"ready"}, or 503 {"status":"not ready","reason":…} (Config.Ready)
//	GET  /metrics                       Prometheus exposition (Config.Metrics; 404 without one)
//	GET  /debug/pprof/…                 Go's pprof: index, profile, heap, goroutine, trace, …
//	GET  /v1/programs                   list
//	GET  /v1/programs/{id}              one program (its IMK as imk_kcv only; its loyalty rules with their version)
//	PUT  /v1/programs/{id}              create (201) or replace (200); keeps the IMK, and the loyalty rules when the body has none
//	POST /v1/programs/{id}/imk          load the IMK from 2 or 3 custodians' components (*)
//	GET  /v1/merchants                  list
//	GET  /v1/merchants/{mid}
//	PUT  /v1/merchants/{mid}            program must exist
//	GET  /v1/terminals                  list, with runtime state
//	GET  /v1/terminals/{tid}            tmk_kcv, key_generation, tpk_kcv, tak_kcv, signed_on
//	PUT  /v1/terminals/{tid}            {"mid":…, "enabled":true}; keeps the TMK
//	POST /v1/terminals/{tid}/tmk        load the TMK from 2 or 3 custodians' components (*)
//	GET  /v1/cards?limit=&cursor=       a page of cards (masked), opaque cursor
//	GET  /v1/cards/{pan}                card, masked PAN, member, limits, balances, pin state
//	PUT  /v1/cards/{pan}                create or replace the registration (not its state or blacklist flag)
//	POST /v1/cards/{pan}/state          {"state":"lost","note":…} (*)
//	POST /v1/cards/{pan}/blacklist      {"on":true|false,"note":…} (*)
//	POST /v1/cards/{pan}/pin/unblock    {"note":…}: lift the block of three wrong PINs (*)
//	POST /v1/cards/{pan}/adjust         {"amount":"12.50"|"-12.50"} or {"points":n}, "note" required
//	GET  /v1/cards/{pan}/history?limit= journal entries, newest first
//	GET  /v1/blacklist/bins             the blacklisted BIN ranges
//	POST /v1/blacklist/bins             {"low":"621000","high":"621099","note":…} (*); 201 added, 200 already there
//	DELETE /v1/blacklist/bins/{low}-{high}  body {"note":…} (*)
//	GET  /v1/audit?after=&limit=        operators' security changes, oldest first
//	GET  /v1/programs/{id}/rewards      the program's points mall catalog
//	GET  /v1/programs/{id}/rewards/{rid}
//	PUT  /v1/programs/{id}/rewards/{rid} {"name":…,"points_price":n,"stock":n,"active":true,"note":…} (*): stock absolute
//	POST /v1/programs/{id}/rewards/{rid}/restock {"add":n,"note":…} (*): add n (negative: write off) to the stock as it stands; 409 if outside 0..MaxRewardStock
//	POST /v1/cards/{pan}/orders         {"reward":…,"qty":n,"note":…} (*): 201, paid with points
//	GET  /v1/cards/{pan}/orders?limit=  the card's orders, newest first
//	GET  /v1/orders/{seq}               one order, with its history
//	POST /v1/orders/{seq}/status        {"status":"shipped"|"delivered"|"cancelled","note":…} (*)
//	GET  /v1/check                      the ledger's consistency check
//	GET  /v1/stats                      counts of the rate-limited log lines (StatsBody)
//	POST /v1/checkpoint {dir}           a consistent copy of the live store (backup; 0700 directories, 0600 files)
//	POST /v1/import                     body: a provisioning file (YAML)
//	POST /v1/loyalty/expire {date}      run the expiry job for a business date YYYY-MM-DD and drain the outbox (ExpireResult)
//	POST /v1/settlement/settle {date, early}  settle a business date YYYY-MM-DD (SettleResult; docs/settlement.md)
//	GET  /v1/loyalty/notices?date=      the expiry-notice report for a business date (NoticesResult)
//
// (*) A security change: it needs the operator's name in the
// X-Cardcenter-Operator header (OperatorHeader; the CLI sends --operator,
// default the login name) and a note saying why, else 400 naming
// "operator" or "note". The ledger writes the change and its audit
// record (who, when, why, what; a card by masked PAN only) in one batch.
//
// # Monitoring
//
// /healthz and /readyz are for load balancers and orchestrators, which
// rarely carry a token: they need none and reveal nothing but a word
// (readiness's reason is a short fixed text such as "ledger failed",
// never the cause). Config.Ready decides readiness; the default is
// LedgerReady of the Store, and the host adds its gateway's
// (cmd/cardcenter). /metrics serves Config.Metrics (the host's
// internal/metrics) and needs the token: Prometheus sends one with a
// line of configuration, and the series are an operator's business.
// pprof's handlers are mounted on this server's own mux, explicitly and
// behind the token; importing net/http/pprof also registers them on
// http.DefaultServeMux, which nothing here serves. monitor.go has these
// endpoints; docs/operations.md ("Monitoring") the operator's view.
//
// Every other request carries "Authorization: Bearer <token>"; the token is
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
// # Keys and custodians
//
// A TMK or IMK is loaded as the clear components of two or three key
// custodians: {"components":[{"key":"<32 hex>","kcv":"<6 hex>"},…],
// "kcv":"<optional: the combined key's>","note":…}. Each component must
// match its own check value (cardcrypto.ParseComponent); a mismatch is
// answered 400 naming the component ("components[1].kcv"). The components
// are XORed (cardcrypto.LoadComponents, which refuses a component given
// twice and a weak result), sealed under the host master key and stored;
// the answer is check values only (KeyLoadResult). A host without a master
// key answers 409. Sealed keys and PIN data never appear in an answer and
// cannot be set through PUT (400 naming the field).
//
// # Invariants
//
//   - No response carries a clear PAN. A card's PAN enters the API only as
//     the {pan} path parameter and leaves it only through cardnum.Mask;
//     list cursors are sealed (AES-GCM, key per process). Error messages
//     are scrubbed of digit runs as a last line of defence.
//   - No response, log line or error carries a key or key component in
//     clear: keys show as check values (KCV) only.
//   - Logs (zerolog) get one event per change ("event":"admin_change",
//     "what": program_put, merchant_put, terminal_put, card_put,
//     card_state, card_adjust, card_blacklist, pin_unblock, tmk_load,
//     imk_load, bin_blacklist_add, bin_blacklist_remove, import,
//     mall_reward, mall_reward_restock, mall_order, mall_order_status) with
//     masked PANs and the operator, and never a token, a URL path or a
//     request body.
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
//	c := &admin.Client{BaseURL: "http://127.0.0.1:7080", Token: tok, Operator: "li.wei"}
//	card, err := c.Card(ctx, pan)
//
// A Client call that could not connect at all returns an error wrapping
// ErrUnreachable, so a caller can fall back to opening the store itself.
package admin
