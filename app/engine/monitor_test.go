package engine

import (
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
)

// TestMonitorSeries: calls observed over two hours give honest per-minute
// and hourly series (stored and not yet flushed rows alike) and the p95
// the health rule reads.
func TestMonitorSeries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		m := NewMonitor(st, nil)
		t0 := time.Now()
		call := func(at time.Time, d time.Duration, status int) {
			c := app.Call{License: "L", Endpoint: "GET /packages/v2/active", Start: at, Duration: d, Status: status}
			if status >= 400 {
				c.Err = &app.MetrcError{Class: app.ClassAmbiguous, Status: status}
			}
			m.Observe(c)
		}
		for i := range 120 { // two hours, one minute apart
			at := t0.Add(time.Duration(i) * time.Minute)
			for k := range 10 {
				call(at, time.Duration(k+1)*100*time.Millisecond, 200) // 100ms..1s
			}
			call(at, 12*time.Second, 503)
			if i == 60 {
				if err := m.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		time.Sleep(2 * time.Hour) // the clock reaches the last calls
		hour, err := m.Latency("L", SpanHour)
		if err != nil {
			t.Fatal(err)
		}
		if len(hour) != 60 {
			t.Fatalf("%d points for an hour", len(hour))
		}
		p := hour[len(hour)-2]
		if p.Count != 11 || p.Errors != 1 || p.Max != 12*time.Second || p.P50 != 750*time.Millisecond || p.P95 != 12*time.Second {
			t.Errorf("minute point = %+v", p)
		}
		if err := m.Flush(); err != nil {
			t.Fatal(err)
		}
		week, err := m.Latency("", SpanWeek)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, p := range week {
			total += p.Count
		}
		if total != 120*11 {
			t.Errorf("week series counts %d calls, want %d", total, 120*11)
		}
		if p95, n := m.P95("L", time.Now().Add(-15*time.Minute)); n == 0 || p95 != 12*time.Second {
			t.Errorf("p95 = %v over %d calls", p95, n)
		}
		if got := (LatencyPoint{Count: 4, Errors: 1}).ErrorRate(); got != 0.25 {
			t.Errorf("error rate %v", got)
		}
	})
}
