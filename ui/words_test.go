package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"tracesync/app"
)

func TestPlainErrorWords(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("enqueue: %w", app.ErrConflict), "already queued with different values"},
		{fmt.Errorf("discard #3: %w", &app.TransitionError{ID: 3, From: app.StateDone, To: app.StateDiscarded}), "changed in the meantime"},
		{fmt.Errorf("finish: %w", app.ErrOnHold), "lift the hold in Metrc"},
		{&app.MetrcError{Class: app.ClassAuth, Status: 401}, "rejected the API keys"},
		{&app.MetrcError{Class: app.ClassRateLimited, Status: 429}, "slow down"},
		{fmt.Errorf("get key: %w", ErrNoKeyring), "TRACESYNC_VENDOR_KEY"},
		{context.DeadlineExceeded, "took too long"},
		{errors.New("disk on fire"), "Nothing was lost; see the details"},
	} {
		if got := plainError(c.err); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q lacks %q", c.err, got, c.want)
		}
	}
}

func TestJobHints(t *testing.T) {
	at := func(status int, msg string) []app.Attempt {
		return []app.Attempt{{At: testNow, Outcome: "rejected", HTTPStatus: status, Message: msg}}
	}
	for _, c := range []struct {
		job  app.Job
		want string
	}{
		{app.Job{State: app.StateNeedsAttention, Attempts: at(400, "Package Tag 1A40... is already in use.")}, "tag is already used"},
		{app.Job{State: app.StateNeedsAttention, Attempts: at(400, "Location \"Vault 9\" does not exist.")}, "does not know this location"},
		{app.Job{State: app.StateRetrying, Attempts: at(503, "<html>down</html>")}, "Nothing to do"},
		{app.Job{State: app.StateUnknown, Attempts: []app.Attempt{{Outcome: "timeout"}}}, "checks whether it arrived"},
		{app.Job{State: app.StateDone}, "Nothing to do"},
	} {
		if got := jobHint(c.job); !strings.Contains(got, c.want) {
			t.Errorf("%s %v: %q lacks %q", c.job.State, c.job.LastAttempt().Message, got, c.want)
		}
	}
}

func TestHumanTimes(t *testing.T) {
	if got := app.Span(2*time.Hour + 5*time.Minute); got != "2 h 05 min" {
		t.Errorf("%q", got)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	if got := agoAndAt(testNow.Add(-125*time.Minute), testNow, la, ""); got != "01:12 (2 h 05 min ago)" {
		t.Errorf("%q", got)
	}
	if got := app.Thousands(1284); got != "1,284" {
		t.Errorf("%q", got)
	}
}

// A one-line error without plain words shows the error itself, not a
// "see the details" that has nowhere to point.
func TestErrorLineShowsUnknownErrors(t *testing.T) {
	if got := errorLine("Reports could not be read", errors.New("bucket reports missing")); got != "Reports could not be read: bucket reports missing. Nothing was lost." {
		t.Errorf("got %q", got)
	}
	if got := errorLine("Push", context.DeadlineExceeded); strings.Contains(got, "details") || !strings.Contains(got, "too long") {
		t.Errorf("got %q", got)
	}
}
