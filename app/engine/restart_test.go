package engine

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
)

var errAuth = &app.MetrcError{Class: app.ClassAuth, Status: 401, Messages: []string{"Unauthorized"}}

// TestStartLiftsCredentialsPause: a license the engine paused because
// Metrc rejected the credentials is tried again at the next start with the
// current keys (a headless `run` has no resume button); the first call
// decides again. A person's pause holds.
func TestStartLiftsCredentialsPause(t *testing.T) {
	cases := []struct {
		name         string
		personPaused bool  // License.Paused
		down         error // what Metrc answers after the restart
		wantSent     bool  // the queued receipt reaches Metrc
		wantPaused   bool  // the pull state is paused again
	}{
		{name: "keys fixed", wantSent: true},
		{name: "keys still rejected", down: errAuth, wantPaused: true},
		{name: "paused by a person too", personPaused: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := openStore(t)
				m := newFakeMetrc()
				m.setDown(c.down)
				now := time.Now()
				if err := st.PutPullState(app.PullState{License: "L", Paused: true, PausedReason: pausedCredentials,
					LastFailure: now.Add(-time.Hour), LastFailureMsg: "Metrc answers 401: the credentials were rejected"}); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Enqueue(receiptJob(t, "L", "R1", "P", 1, now)); err != nil {
					t.Fatal(err)
				}
				e, err := New(Params{Store: st, Metrc: m, Logger: quietLogger(),
					Licenses: []app.License{{Number: "L", Paused: c.personPaused}}})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- e.Run(ctx) }()
				time.Sleep(time.Minute)
				synctest.Wait()
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}

				if got := m.receiptCount("L", "R1") == 1; got != c.wantSent {
					t.Errorf("receipt in Metrc: %v, want %v", got, c.wantSent)
				}
				m.mu.Lock()
				called := len(m.calls) > 0
				m.mu.Unlock()
				if wantCalls := !c.personPaused; called != wantCalls {
					t.Errorf("Metrc called: %v (%v), want %v", called, m.calls, wantCalls)
				}
				ps, err := st.PullState("L")
				if err != nil {
					t.Fatal(err)
				}
				if ps.Paused != c.wantPaused || c.wantPaused && ps.PausedReason != pausedCredentials {
					t.Errorf("stored pull state paused %v %q, want paused %v", ps.Paused, ps.PausedReason, c.wantPaused)
				}
				h := e.Health()[0]
				switch {
				case c.personPaused && (h.Color != app.Grey || h.Reason != "Paused"):
					t.Errorf("health = %v %q, want grey Paused", h.Color, h.Reason)
				case c.wantPaused && h.Color != app.Red:
					t.Errorf("health = %v %q, want red (credentials rejected again)", h.Color, h.Reason)
				case c.wantSent && (h.Color == app.Red || h.Color == app.Grey):
					t.Errorf("health = %v %q after the keys worked", h.Color, h.Reason)
				}
			})
		})
	}
}

// TestStartClosesStaleOutage: a process stopped during an outage left its
// window open; the next start closes it at the last recorded failure (the
// start when there is none later), keeping its count, so it does not run
// into every later report. An outage still going on opens a new window.
func TestStartClosesStaleOutage(t *testing.T) {
	cases := []struct {
		name        string
		license     string // the window's license; the engine syncs "L"
		lastFailure time.Duration
		stillDown   bool
		wantEnd     time.Duration
	}{
		{name: "ends at the last failure", license: "L", lastFailure: 30 * time.Minute, wantEnd: 30 * time.Minute},
		{name: "no later failure", license: "L", lastFailure: -time.Minute, wantEnd: 0},
		{name: "outage goes on", license: "L", lastFailure: 45 * time.Minute, stillDown: true, wantEnd: 45 * time.Minute},
		{name: "license no longer synced", license: "OLD", lastFailure: 10 * time.Minute, wantEnd: 10 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := openStore(t)
				m := newFakeMetrc()
				if c.stillDown {
					m.setDown(errRefused)
				}
				restart := time.Now()
				start := restart.Add(-2 * time.Hour)
				old := app.OutageWindow{License: c.license, Start: start, FailedCalls: 7, Reason: "Metrc cannot be reached"}
				if err := st.RecordOutage(old); err != nil {
					t.Fatal(err)
				}
				if err := st.PutPullState(app.PullState{License: c.license, LastFailure: start.Add(c.lastFailure),
					LastFailureMsg: "Metrc cannot be reached"}); err != nil {
					t.Fatal(err)
				}
				e, err := New(Params{Store: st, Metrc: m, Logger: quietLogger(), Licenses: []app.License{{Number: "L"}}})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- e.Run(ctx) }()
				time.Sleep(5 * time.Minute)
				synctest.Wait()

				ws, err := e.Outages(c.license, time.Time{}, time.Time{})
				if err != nil || len(ws) == 0 {
					t.Fatalf("outages = %+v, %v", ws, err)
				}
				w := ws[0]
				if !w.Start.Equal(start) || !w.End.Equal(start.Add(c.wantEnd)) || w.FailedCalls != 7 {
					t.Errorf("old window = %v .. %v, %d calls; want %v .. %v, 7 calls",
						w.Start, w.End, w.FailedCalls, start, start.Add(c.wantEnd))
				}
				switch {
				case c.stillDown && (len(ws) != 2 || !ws[1].End.IsZero() || ws[1].Start.Before(restart) || ws[1].FailedCalls == 0):
					t.Errorf("outage after the restart: windows %+v, want the old one closed and a new one open", ws)
				case !c.stillDown && len(ws) != 1:
					t.Errorf("windows %+v, want only the old one", ws)
				}
				// The report of the day after the old outage no longer
				// lists it.
				if later, _ := e.Outages(c.license, restart, restart.Add(24*time.Hour)); !c.stillDown && len(later) != 0 {
					t.Errorf("windows after the restart %+v, want none", later)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
