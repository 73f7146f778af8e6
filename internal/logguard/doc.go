// Package logguard keeps input that nobody has authenticated from flooding
// the log. Refused connections, malformed frames, failed TLS handshakes and
// failed admin logins are caused by whoever can reach a port; each is worth
// a log line, but a peer that repeats one a million times must not write a
// million lines (and push the decisions out of the log's retention).
//
// A Guard lets at most Burst lines of one kind through per Interval (a
// fixed window per kind, from the first occurrence in it) and counts the
// rest. The next line of that kind that is let through carries
// "suppressed": how many were held back since the last one, so the log
// still says how much happened; Counts has the totals for the admin API's
// GET /v1/stats.
//
//	g := logguard.New(logguard.Config{})            // 10 lines a minute per kind
//	g.Event(&log, zerolog.WarnLevel, "gateway_connection_refused").
//		Str("remote", addr).Msg("connection refused: too many connections")
//
// Event returns nil when the line is held back; zerolog's methods do
// nothing on a nil event, so the call chain needs no branch. Kinds are
// constants of the calling code, never strings from the input; past
// maxKinds distinct kinds, further kinds share the "other" counter.
//
// The clock is injected (Config.Now), so tests step time instead of
// sleeping.
package logguard
