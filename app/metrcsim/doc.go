// Package metrcsim is a Metrc API (v2) simulator for tracesync's tests and
// demo mode. It is written from Metrc's own documents in ../shared/metrc
// (swagger v2, the v2 doc examples, the California Postman collection) and
// shares no types with app/metrc, so the client is checked against an
// independent reading of the API.
//
// A *Sim is an http.Handler holding one world of licenses (facilities),
// items, locations, packages, adjustments, sales receipts, incoming transfers
// and outgoing transfer templates. It answers the endpoints tracesync uses
// with Metrc's behaviour:
//
//   - HTTP Basic auth (username = vendor key, password = user key): wrong keys,
//     or a licenseNumber the user has no access to, answer 401; a package or
//     receipt that exists under another license also answers 401, one that
//     exists nowhere answers 404.
//   - licenseNumber is required where Metrc requires it (400 when missing).
//   - Lists use the v2 envelope {"Data","Total","TotalRecords","PageSize",
//     "RecordsOnPage","Page","CurrentPage","TotalPages"}; without pageSize
//     everything is returned on one page; pageSize over 20 is a 400.
//   - lastModifiedStart/lastModifiedEnd filter inclusively; both must be given
//     together and the window may not exceed 24 hours (400 otherwise).
//     Receipts take salesDateStart/salesDateEnd instead (mixing both is a 400).
//   - Writes take JSON arrays. Every object is validated (against the state
//     as the earlier objects of the same request would leave it) before any
//     is applied; any problem rejects the whole request with 400 and Metrc's
//     array shape [{"row":N,"message":"..."}]. More objects than the object
//     limit (default 10) answer 413. POSTs answer {"Ids":[...],"Warnings":null};
//     PUTs an empty 200. Like Metrc, a repeated POST creates a second record.
//   - Package creates (assemblies) deduct their Ingredients; sales receipts
//     deduct their transactions' packages; adjustments add their signed
//     quantity. Quantities convert between units of the same kind (g, kg, mg,
//     oz, lb; ml, l, fl oz). A package must be at zero to be finished.
//   - LastModified is returned with an offset (UTC, "+00:00");
//     SalesDateTime is stored and returned exactly as sent (facility-local,
//     no offset); salesDateStart/End compare wall clocks.
//   - Receipt lists answer "Transactions": [] (as Metrc's examples do);
//     GET /sales/v2/receipts/external/{n} and /sales/v2/receipts/{id} fill
//     them (PackageLabel, QuantitySold, UnitOfMeasureName, TotalPrice, plus
//     the write names Quantity, UnitOfMeasure, TotalAmount). With several
//     receipts under one external number the first recorded is answered.
//   - Enum-like fields are strings in item lists and numbers in the Item
//     nested in a package (QuantityType 0 CountBased, 1 WeightBased,
//     2 VolumeBased), as in the doc examples.
//   - Incoming transfers have one delivery each: GET /transfers/v2/incoming
//     gives DeliveryId, /transfers/v2/{id}/deliveries and
//     /transfers/v2/deliveries/{id}/packages (no licenseNumber) the rest.
//     Accepted transfer packages are the recipient's packages.
//
// Tests and demo mode shape the world directly (as if someone worked in
// Metrc's own screens): AddLicense, AddItem, AddLocation, AddPackage,
// AddTransfer, SetPackageQuantity, SetOnHold, FinishPackage,
// SetLicenseAccess; and inspect it: Package, Packages, Receipts,
// Adjustments, Transfers, Templates, CountReceipts, CountPackagesByTag,
// Stats.
//
// # Faults
//
// SetFaults, Schedule and the loopback-only control endpoints under /sim/
// inject Metrc's bad days: outages (503 with an HTML page, dropped
// connections, hangs until the client gives up), added latency, 429 above a
// per-license GET rate (with Retry-After when set), 500s on chosen path
// prefixes (optionally with a probability) and "accept then drop" (a write is
// applied, then the connection is closed without an answer). Probabilities
// are drawn from a math/rand source seeded with Options.RandSeed. The GET
// rate is a token bucket per license (burst: one second's worth) on the
// simulator's clock (Options.Now); schedules follow that clock too. Dropped
// connections use http.Hijacker; when the ResponseWriter cannot be hijacked
// (an in-memory transport) the handler panics with http.ErrAbortHandler,
// which Sim.Transport turns into a transport error.
//
// Control endpoints (JSON; requests from non-loopback addresses get 403):
//
//	GET  /sim/faults            current faults
//	PUT  /sim/faults            replace faults (also POST)
//	POST /sim/schedule          [{"After":"30s","Faults":{...}}, ...]
//	GET  /sim/stats             request counts
//	GET  /sim/packages?licenseNumber=...   the license's packages
//	PUT  /sim/package           {"License","Label","Quantity"?,"OnHold"?,"Finish"?}
//
// Faults in JSON: {"Outage":"none|503|drop|hang","Latency":"250ms",
// "GetRateLimit":5,"RetryAfter":"2s","Fail500":["/sales/"],"Fail500Prob":0.5,
// "DropAfterApply":0.25}; durations are Go duration strings or numbers of
// milliseconds.
//
// # Serving
//
// `tracesync sim` and demo mode serve a Sim on loopback with Serve:
//
//	s := metrcsim.New(metrcsim.Options{Seed: "demo"})
//	err := metrcsim.Serve(ctx, "127.0.0.1:0", s, func(url string) {
//		fmt.Println(url, metrcsim.DemoVendorKey, metrcsim.DemoUserKey)
//	})
//
// Serve listens on addr (which must be a loopback address; "" means
// 127.0.0.1:0), calls ready with the base URL (e.g. "http://127.0.0.1:41234")
// once it accepts connections, and serves until ctx ends; it then shuts down
// (hung requests are cut) and returns nil. Demo mode keeps the world across
// restarts with Save and Load (a JSON file, written atomically, 0600).
//
// Inside testing/synctest bubbles use Sim.Transport, an http.RoundTripper that
// calls the handler in memory, instead of real sockets.
package metrcsim
