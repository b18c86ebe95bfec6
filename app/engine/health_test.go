package engine

import (
	"strings"
	"testing"
	"time"

	"tracesync/app"
)

func TestComputeHealthRules(t *testing.T) {
	now := time.Date(2026, 2, 3, 15, 0, 0, 0, time.UTC)
	th := DefaultThresholds()
	lic := app.License{Number: "L", Name: "Shop"}
	okPull := app.PullState{LastPullOK: now.Add(-3 * time.Minute)}
	stats := func(kv ...any) app.JobStats {
		s := app.JobStats{ByState: map[app.JobState]int{}}
		for i := 0; i < len(kv); i += 2 {
			s.ByState[kv[i].(app.JobState)] = kv[i+1].(int)
		}
		return s
	}
	tests := []struct {
		name   string
		in     healthInput
		color  app.Color
		reason string
		detail string // substring of some detail line
	}{
		{"green", healthInput{ps: okPull, stats: stats(app.StatePending, 2)}, app.Green, "In step with Metrc", "2 records are waiting to be sent."},
		{"paused by a person wins", healthInput{lic: app.License{Number: "L", Paused: true},
			ps: app.PullState{LastPullOK: now.Add(-5 * time.Hour)}}, app.Grey, "Paused", "Paused by a person"},
		{"connecting", healthInput{connecting: true, staleFrom: now.Add(-time.Hour)}, app.Grey, "Connecting…", "Not yet fetched"},
		{"api down", healthInput{ps: app.PullState{LastPullOK: now.Add(-(2*time.Hour + 5*time.Minute)), LastFailure: now.Add(-time.Minute),
			LastFailureMsg: "Metrc answers 503"}, stats: stats(app.StatePending, 1280)},
			app.Red, "The Metrc API is down",
			"No packages or transfers fetched for 2 h 05 min (Metrc answers 503)."},
		{"api down says records saved", healthInput{ps: app.PullState{LastPullOK: now.Add(-21 * time.Minute)}, stats: stats(app.StatePending, 1280)},
			app.Red, "The Metrc API is down", "Your 1,280 records are saved here and will be sent when Metrc is back. Nothing to do."},
		{"stale at exactly the threshold is not red", healthInput{ps: app.PullState{LastPullOK: now.Add(-20 * time.Minute)}}, app.Green, "In step with Metrc", ""},
		{"credentials", healthInput{ps: okPull, pausedReason: "credentials rejected"}, app.Red, "Metrc rejected the credentials", "Check the user key"},
		{"deadline", healthInput{ps: okPull, stats: func() app.JobStats {
			s := stats(app.StatePending, 1)
			s.OldestBusiness = now.Add(-21 * time.Hour)
			s.OldestUnfinished = now.Add(-10 * time.Minute)
			return s
		}()}, app.Red, "A record is close to its 24-hour deadline", "(in 3 h 00 min)"},
		{"recent failure", healthInput{ps: app.PullState{LastPullOK: now.Add(-time.Minute), LastFailure: now.Add(-19 * time.Minute), LastFailureMsg: "Metrc answers 500"}},
			app.Orange, "A Metrc call failed recently", "Last failure 19 min ago: Metrc answers 500"},
		{"old failure forgotten", healthInput{ps: app.PullState{LastPullOK: now.Add(-time.Minute), LastFailure: now.Add(-21 * time.Minute)}},
			app.Green, "In step with Metrc", ""},
		{"slow", healthInput{ps: okPull, p95: 12 * time.Second, calls: 30}, app.Orange, "Metrc is slow", "12.0 s"},
		{"thresholds are settable", healthInput{th: Thresholds{PullStale: 5 * time.Minute}, ps: app.PullState{LastPullOK: now.Add(-6 * time.Minute)}},
			app.Red, "The Metrc API is down", "6 min"},
		{"retrying", healthInput{ps: okPull, stats: stats(app.StateRetrying, 2, app.StateUnknown, 1)}, app.Orange, "3 records are waiting to be retried", "1 being checked"},
		{"needs attention", healthInput{ps: okPull, stats: stats(app.StateNeedsAttention, 1)}, app.Orange, "1 record needs attention", ""},
		{"oldest pending", healthInput{ps: okPull, stats: func() app.JobStats {
			s := stats(app.StatePending, 3)
			s.OldestUnfinished = now.Add(-61 * time.Minute)
			return s
		}()}, app.Orange, "Records are waiting", "1 h 01 min"},
		{"red beats orange", healthInput{ps: app.PullState{LastPullOK: now.Add(-time.Hour), LastFailure: now.Add(-time.Minute)},
			stats: stats(app.StateRetrying, 4)}, app.Red, "The Metrc API is down", "4 records are waiting to be sent again"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.now = now
			in.th = in.th.withDefaults()
			if tc.in.th == (Thresholds{}) {
				in.th = th
			}
			if in.lic.Number == "" {
				in.lic = lic
			}
			h := computeHealth(in)
			if h.Color != tc.color || h.Reason != tc.reason {
				t.Fatalf("got %v %q, want %v %q (details %q)", h.Color, h.Reason, tc.color, tc.reason, h.Details)
			}
			if tc.detail != "" && !strings.Contains(strings.Join(h.Details, "\n"), tc.detail) {
				t.Errorf("details %q lack %q", h.Details, tc.detail)
			}
		})
	}
}

func TestSpanWords(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40 s", 12 * time.Minute: "12 min", 2*time.Hour + 5*time.Minute: "2 h 05 min",
		76 * time.Hour: "3 d 4 h",
	} {
		if got := app.Span(d); got != want {
			t.Errorf("app.Span(%v) = %q, want %q", d, got, want)
		}
	}
	if got := app.Thousands(1280); got != "1,280" {
		t.Errorf("thousands = %q", got)
	}
}

func TestBackoffFullJitterCapped(t *testing.T) {
	e := &Engine{p: Params{BackoffBase: 2 * time.Second, BackoffCap: 5 * time.Minute}}
	for n := 1; n < 40; n++ {
		limit := min(2*time.Second<<min(n-1, 30), 5*time.Minute)
		for range 50 {
			if d := e.backoff(n); d < 0 || d >= limit {
				t.Fatalf("backoff(%d) = %v, want in [0, %v)", n, d, limit)
			}
		}
	}
}

// Health's times are in the license's zone, so `status` shows the hour its
// staff read on their clocks whatever the computer's zone.
func TestHealthTimesInLicenseZone(t *testing.T) {
	now := time.Date(2026, 2, 3, 17, 30, 0, 0, time.UTC)
	in := healthInput{lic: app.License{Number: "L", TimeZone: "America/Los_Angeles"}, now: now,
		th: DefaultThresholds(), ps: app.PullState{LastPullOK: now.Add(-2 * time.Minute)},
		stats: app.JobStats{ByState: map[app.JobState]int{app.StatePending: 1}, OldestUnfinished: now.Add(-time.Hour)}}
	h := computeHealth(in)
	if got := h.LastPullOK.Format(time.RFC3339); got != "2026-02-03T09:28:00-08:00" {
		t.Errorf("last pull %s", got)
	}
	if got := h.OldestPending.Format(time.RFC3339); got != "2026-02-03T08:30:00-08:00" {
		t.Errorf("oldest pending %s", got)
	}
}

// During an outage the saved-records line counts what goes by itself, like
// the banner, and does not say "nothing to do" when a record needs a person.
func TestOutageLineWithRecordNeedingAPerson(t *testing.T) {
	now := time.Date(2026, 2, 3, 15, 0, 0, 0, time.UTC)
	in := healthInput{lic: app.License{Number: "L"}, now: now, th: DefaultThresholds(),
		ps:    app.PullState{LastPullOK: now.Add(-time.Hour)},
		stats: app.JobStats{ByState: map[app.JobState]int{app.StatePending: 26, app.StateNeedsAttention: 1}}}
	d := strings.Join(computeHealth(in).Details, "\n")
	if !strings.Contains(d, "Your 26 records are saved here and will be sent when Metrc is back.") || strings.Contains(d, "Nothing to do") {
		t.Errorf("details %q", d)
	}
}
