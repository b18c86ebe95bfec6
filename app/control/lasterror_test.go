package control

import (
	"encoding/json"
	"strings"
	"testing"

	"tracesync/app"
)

// TestJobInfoLastError: `jobs --json`'s lastError is DESIGN.md's form:
// "HTTP 400: <Metrc's message>" when Metrc answered, short words when it
// did not ("timeout", "connection refused", ...), "" after a success. The
// transport error's own text, with the request's URL, is never shown, also
// for attempts stored before the engine named the failure (they only have
// that text). The engine's side is TestSendFailureLastError in app/engine.
func TestJobInfoLastError(t *testing.T) {
	const url = `"https://api-ca.metrc.com/sales/v2/receipts?licenseNumber=C10-0000001-LIC"`
	cases := []struct {
		name string
		a    []app.Attempt
		want string
	}{
		{"no attempt", nil, ""},
		{"done", []app.Attempt{{Outcome: app.OutcomeDone, HTTPStatus: 200}}, ""},
		{"rejected", []app.Attempt{{Outcome: "rejected", HTTPStatus: 400, Message: "Package C is short"}}, "HTTP 400: Package C is short"},
		{"server error", []app.Attempt{{Outcome: "no answer", HTTPStatus: 503}}, "HTTP 503"},
		{"named timeout", []app.Attempt{{Outcome: "timeout", Message: "timeout after 1m0s: Post " + url + ": context deadline exceeded"}}, "timeout"},
		{"named refused", []app.Attempt{{Outcome: "connection refused", Message: "Post " + url + ": dial tcp 10.0.0.1:443: connect: connection refused"}}, "connection refused"},
		{"stored timeout", []app.Attempt{{Outcome: "no answer", Message: "timeout after 1m0s: Post " + url + ": context deadline exceeded"}}, "timeout"},
		{"stored refused", []app.Attempt{{Outcome: "not sent", Message: "Post " + url + ": dial tcp 10.0.0.1:443: connect: connection refused"}}, "connection refused"},
		{"stored reset", []app.Attempt{{Outcome: "no answer", Message: "Post " + url + ": read tcp 10.0.0.2:5512->10.0.0.1:443: read: connection reset by peer"}}, "connection reset"},
		{"stored EOF", []app.Attempt{{Outcome: "no answer", Message: "Post " + url + ": EOF"}}, "connection closed"},
		{"stored other", []app.Attempt{{Outcome: "no answer", Message: "Post " + url + ": tls: handshake failure"}}, "no answer"},
		{"no answer for a record", []app.Attempt{{Outcome: "no answer", Message: "no answer for this record"}}, "no answer for this record"},
		{"interrupted", []app.Attempt{{Outcome: "interrupted", Message: "tracesync stopped before Metrc answered"}}, "tracesync stopped before Metrc answered"},
		{"last attempt counts", []app.Attempt{
			{Outcome: "timeout", Message: "timeout after 1m0s"},
			{Outcome: "rejected", HTTPStatus: 400, Message: "Bad date"},
		}, "HTTP 400: Bad date"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info := JobInfoOf(app.Job{ID: 1, License: "L", Kind: app.KindSalesReceipt, State: app.StateRetrying, Attempts: c.a})
			if info.LastError != c.want {
				t.Errorf("lastError = %q, want %q", info.LastError, c.want)
			}
			b, err := json.Marshal(info)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "metrc.com") {
				t.Errorf("jobs --json shows the URL: %s", b)
			}
		})
	}
}
