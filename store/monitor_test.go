package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"tracesync/app"
)

func openMonitorStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMonitorOutages(t *testing.T) {
	s := openMonitorStore(t)
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	w := app.OutageWindow{License: "A", Start: t0, FailedCalls: 1, Reason: "Metrc answers 503"}
	if err := s.RecordOutage(w); err != nil {
		t.Fatal(err)
	}
	w.FailedCalls, w.End = 7, t0.Add(2*time.Hour)
	if err := s.RecordOutage(w); err != nil { // replaces
		t.Fatal(err)
	}
	ongoing := app.OutageWindow{License: "A", Start: t0.Add(5 * time.Hour), FailedCalls: 2}
	other := app.OutageWindow{License: "B", Start: t0.Add(time.Hour), End: t0.Add(90 * time.Minute)}
	for _, x := range []app.OutageWindow{ongoing, other} {
		if err := s.RecordOutage(x); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		license  string
		from, to time.Time
		want     int
	}{
		{"all of A", "A", t0.Add(-time.Hour), t0.Add(24 * time.Hour), 2},
		{"only the ongoing", "A", t0.Add(3 * time.Hour), t0.Add(24 * time.Hour), 1},
		{"before all", "A", t0.Add(-3 * time.Hour), t0.Add(-time.Hour), 0},
		{"every license", "", t0, t0.Add(24 * time.Hour), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Outages(tc.license, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d windows %+v, want %d", len(got), got, tc.want)
			}
		})
	}
	got, _ := s.Outages("A", t0, t0.Add(time.Hour))
	if len(got) != 1 || got[0].FailedCalls != 7 || !got[0].End.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("replaced window = %+v", got)
	}
}

func TestMonitorLatencyRollupAndPrune(t *testing.T) {
	s := openMonitorStore(t)
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	row := func(lic string, at time.Time, ds ...time.Duration) app.LatencyRow {
		r := app.LatencyRow{License: lic, Endpoint: "GET /packages/v2/active", At: at}
		for _, d := range ds {
			r.Add(d, d > 5*time.Second)
		}
		return r
	}
	// Two flushes of the same minute merge; two minutes roll up into one hour.
	if err := s.AddLatency(row("A", t0, 100*time.Millisecond, 200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLatency(row("A", t0, 12*time.Second), row("A", t0.Add(time.Minute), time.Second), row("B", t0, time.Second)); err != nil {
		t.Fatal(err)
	}
	mins, err := s.LatencyMinutes("A", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(mins) != 2 || mins[0].Count != 3 || mins[0].Errors != 1 || mins[0].Max != 12*time.Second {
		t.Fatalf("minutes = %+v", mins)
	}
	hours, err := s.LatencyHours("A", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 1 || hours[0].Count != 4 {
		t.Fatalf("hours = %+v", hours)
	}
	if p := hours[0].Quantile(0.5); p != 200*time.Millisecond {
		t.Errorf("p50 = %v, want 200ms", p)
	}
	if all, _ := s.LatencyMinutes("", t0, t0.Add(time.Hour)); len(all) != 3 {
		t.Errorf("every license: %d rows, want 3", len(all))
	}

	// Eight days later the minute rows go, the hourly ones stay.
	n, err := s.PruneMonitor(t0.Add(8 * 24 * time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("prune = %d, %v; want 3 minute rows", n, err)
	}
	if mins, _ := s.LatencyMinutes("", t0, t0.Add(time.Hour)); len(mins) != 0 {
		t.Errorf("minute rows left: %+v", mins)
	}
	if hours, _ := s.LatencyHours("", t0, t0.Add(time.Hour)); len(hours) != 2 {
		t.Errorf("hourly rows = %d, want 2", len(hours))
	}
	if n, _ := s.PruneMonitor(t0.Add(91 * 24 * time.Hour)); n != 2 {
		t.Errorf("second prune = %d, want 2 hourly rows", n)
	}
}

func TestMonitorPullState(t *testing.T) {
	s := openMonitorStore(t)
	if _, err := s.PullState("A"); !errors.Is(err, app.ErrNotFound) {
		t.Fatalf("absent pull state: %v", err)
	}
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	p := app.PullState{License: "A", LastPullOK: t0, LastFailure: t0.Add(time.Minute), LastFailureMsg: "Metrc answers 503",
		Paused: true, PausedReason: "credentials rejected", Packages: 12}
	if err := s.PutPullState(p); err != nil {
		t.Fatal(err)
	}
	got, err := s.PullState("A")
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastPullOK.Equal(t0) || got.LastFailureMsg != p.LastFailureMsg || !got.Paused || got.Packages != 12 {
		t.Fatalf("got %+v", got)
	}
}
