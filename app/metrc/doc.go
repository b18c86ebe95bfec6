// Package metrc is tracesync's Metrc v2 HTTP client. *Client implements
// app.Metrc (plus app.MetrcTemplates and app.MetrcReceipts): typed calls for
// the endpoints the engine uses, with the rules of Metrc's API built in.
//
//   - HTTP Basic auth (vendor key, user key); HTTPS unless the host is
//     loopback. Keys never appear in errors.
//   - Every request has a timeout (default 60 s, connect 10 s).
//   - GETs per facility: at most MaxConcurrentGets at once and a token
//     bucket (default 5/s, at most Metrc's 50/s); one vendor-wide bucket
//     (at most 150/s) and 30 concurrent GETs per client; writes paced at
//     one per WriteInterval by the same kind of bucket. A 429 stops the
//     facility's calls until Retry-After.
//   - Lists use v2 pagination (pageSize 20, every page) and lastModified
//     windows of at most 24 h.
//   - Writes go in chunks of at most ChunkSize objects; a 413 halves the
//     chunk (the smaller size is kept for the facility).
//   - Every failure is an *app.MetrcError whose Class follows DESIGN.md's
//     job-state table; write calls return one error per input object. A 400
//     goes to the objects its rows name (the others of that request were
//     not applied: ClassNotSent); a 400 naming no row is narrowed down by
//     resending halves, which is safe because Metrc applies nothing of a
//     rejected request. After a failure that is not a 400 or 413 the rest of
//     the call is not sent.
//   - Single lookups answer app.ErrNotFound (wrapped in the *app.MetrcError)
//     for a 404, and for Metrc's 401 on another license's record once a
//     cheap second call shows the credentials still work.
//   - Every HTTP exchange is reported to Options.Observer as an app.Call
//     whose Endpoint is a path template such as "GET /packages/v2/{label}".
package metrc

// Time zones are embedded so license-local times work on Windows, which has
// no zoneinfo database of its own.
import _ "time/tzdata"
