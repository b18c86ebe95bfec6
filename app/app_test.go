package app

import (
	"errors"
	"testing"
	"time"
)

// TestTransitionTable checks CanTransition against DESIGN.md's job-state
// table written out pair by pair: every allowed move, and nothing else.
func TestTransitionTable(t *testing.T) {
	allowed := map[[2]JobState]bool{}
	for _, p := range [][2]JobState{
		{StatePending, StateSending}, {StateRetrying, StateSending},
		{StateSending, StateDone}, {StateSending, StateRetrying}, {StateSending, StateUnknown},
		{StateSending, StateNeedsAttention}, {StateSending, StatePending},
		{StateUnknown, StateDone}, {StateUnknown, StateNeedsAttention}, {StateUnknown, StateRetrying},
		{StatePending, StateMatched}, {StateRetrying, StateMatched}, {StateUnknown, StateMatched}, {StateNeedsAttention, StateMatched},
		{StateNeedsAttention, StatePending},
		{StatePending, StateDiscarded}, {StateRetrying, StateDiscarded}, {StateNeedsAttention, StateDiscarded},
	} {
		allowed[p] = true
	}
	for _, from := range States {
		for _, to := range States {
			if got := CanTransition(from, to); got != allowed[[2]JobState{from, to}] {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, got)
			}
		}
		if from.Final() && len(transitions[from]) > 0 {
			t.Errorf("final state %s has moves", from)
		}
	}
	err := error(&TransitionError{ID: 7, From: StateDone, To: StatePending})
	if !errors.Is(err, ErrBadTransition) || err.Error() != "job #7: cannot move from done to pending" {
		t.Errorf("TransitionError = %q", err)
	}
}

func TestNoteStamp(t *testing.T) {
	for _, note := range []string{"", "scale variance"} {
		s := StampNote(note, 12345)
		if id, ok := NoteJobID(s); !ok || id != 12345 {
			t.Errorf("NoteJobID(%q) = %d, %v", s, id, ok)
		}
	}
	if _, ok := NoteJobID("tracesync 12"); ok {
		t.Error("an unstamped note has no job id")
	}
}

func TestLastError(t *testing.T) {
	cases := []struct {
		a    []Attempt
		want string
	}{
		{nil, ""},
		{[]Attempt{{Outcome: OutcomeDone, HTTPStatus: 200}}, ""},
		{[]Attempt{{Outcome: "rejected", HTTPStatus: 400, Message: "Package is short"}}, "HTTP 400: Package is short"},
		{[]Attempt{{Outcome: "no answer", Message: "timeout"}}, "timeout"},
		{[]Attempt{{Outcome: "no answer", HTTPStatus: 503}}, "HTTP 503"},
	}
	for _, c := range cases {
		if got := (Job{Attempts: c.a}).LastError(); got != c.want {
			t.Errorf("LastError(%+v) = %q, want %q", c.a, got, c.want)
		}
	}
}

func TestZoneForHost(t *testing.T) {
	for host, want := range map[string]string{
		"api-ca.metrc.com":         "America/Los_Angeles",
		"sandbox-api-ca.metrc.com": "America/Los_Angeles",
		"api-co.metrc.com":         "America/Denver",
		"127.0.0.1":                "",
	} {
		if got := ZoneForHost(host); got != want {
			t.Errorf("ZoneForHost(%q) = %q, want %q", host, got, want)
		}
	}
}

// Sales and ingredient use only draw quantity down and do not serialise
// later work; creating, adjusting, moving and finishing do.
func TestChangesAndConstructors(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	r, err := NewReceiptJob("L", la, SalesReceipt{ExternalReceiptNumber: "R1", Transactions: []SalesTransaction{{PackageLabel: "A"}, {PackageLabel: "A"}, {PackageLabel: "B"}}}, now, now)
	if err != nil || r.Key != "L/receipt/R1" || len(r.Reads) != 2 || len(r.Changes()) != 0 {
		t.Fatalf("receipt job = %+v, %v", r, err)
	}
	a, err := NewAssemblyJob("L", la, PackageCreate{Tag: "T", Ingredients: []Ingredient{{Package: "A"}}}, now, now)
	if err != nil || a.Key != "L/tag/T" || len(a.Changes()) != 1 || a.Changes()[0] != "T" {
		t.Fatalf("assembly job = %+v, %v", a, err)
	}
	m, err := NewMoveJob("L", la, LocationChange{Label: "A", Location: "Vault"}, now, now)
	if err != nil || m.Key != "" || len(m.Changes()) != 1 || m.Changes()[0] != "A" {
		t.Fatalf("move job = %+v, %v", m, err)
	}
	// 20:00 UTC is noon in Los Angeles: the business date is the local one.
	if string(m.Body) != `{"Label":"A","Location":"Vault","MoveDate":"2026-11-28"}` {
		t.Errorf("move body = %s", m.Body)
	}
}
