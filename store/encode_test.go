package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"tracesync/app"
)

func TestAppendJobMatchesEncodingJSON(t *testing.T) {
	jobs := benchJobs(300, 9)
	odd := app.Job{
		ID: 1 << 60, License: "L<1>&\"é\n", Kind: app.KindAdjust, Key: `a\b`,
		Body: json.RawMessage(" { \"x\" : [1, 2,\n 3], \"s\": \"<tag>\" } "), Reads: []string{"A", "B&"}, Creates: []string{"C"},
		State: app.StateNeedsAttention, Reason: "input #3 was discarded",
		Attempts:    []app.Attempt{{At: t0, Outcome: "rejected", HTTPStatus: 400, Message: "Package \"X\" not found"}},
		NextAttempt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", -7*3600)),
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local),
	}
	jobs = append(jobs, odd, app.Job{})
	for i, j := range jobs {
		j.ID = uint64(i + 1)
		got, err := appendJob(nil, &j)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(j)
		if !json.Valid(got) {
			t.Fatalf("invalid: %s", got)
		}
		var a, b app.Job
		json.Unmarshal(got, &a)
		json.Unmarshal(want, &b)
		var ba, bb any
		json.Unmarshal(a.Body, &ba)
		json.Unmarshal(b.Body, &bb)
		a.Body, b.Body = nil, nil
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ba, bb) {
			t.Fatalf("job %d decodes differently:\n%s\n%s", i, got, want)
		}
		if i < 300 && !bytes.Equal(got, want) {
			t.Errorf("job %d: plain job encodes differently:\n%s\n%s", i, got, want)
		}
	}
	if _, err := appendJob(nil, &app.Job{Body: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid body accepted")
	}
	if _, err := appendJob(nil, &app.Job{Body: json.RawMessage(`{}`), Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 accepted")
	}
}
