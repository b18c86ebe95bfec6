package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
	"tracesync/store"
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

// flakyLatency is the real store whose AddLatency fails while fail is set.
type flakyLatency struct {
	*store.Store
	mu   sync.Mutex
	fail bool
}

func (f *flakyLatency) setFail(v bool) { f.mu.Lock(); f.fail = v; f.mu.Unlock() }

func (f *flakyLatency) AddLatency(rows ...app.LatencyRow) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return f.Store.AddLatency(rows...)
}

// TestMonitorLoopSurvivesFailedFlush: a flush that fails keeps the rows
// and the loop goes on; the next tick stores them with the newer ones, and
// the loop's end flushes what is left.
func TestMonitorLoopSurvivesFailedFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &flakyLatency{Store: openStore(t)}
		m := NewMonitor(st, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- m.run(ctx, time.Minute, quietLogger()) }()
		t0 := time.Now()
		call := func() {
			m.Observe(app.Call{License: "L", Endpoint: "GET /packages/v2/active", Start: time.Now(), Duration: 200 * time.Millisecond, Status: 200})
		}
		stored := func() int {
			rows, err := st.LatencyMinutes("L", t0.Add(-time.Hour), t0.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range rows {
				n += r.Count
			}
			return n
		}

		call()
		st.setFail(true)
		time.Sleep(90 * time.Second) // one failed flush
		synctest.Wait()
		if n := stored(); n != 0 {
			t.Fatalf("%d calls stored while the store fails", n)
		}
		st.setFail(false)
		call()
		time.Sleep(time.Minute) // the next flush
		synctest.Wait()
		if n := stored(); n != 2 {
			t.Errorf("%d calls stored after the store recovered, want 2", n)
		}
		call()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := stored(); n != 3 {
			t.Errorf("%d calls stored after the loop stopped, want 3", n)
		}
	})
}

// TestSimShutdownFlushesLatency: a write still in flight when Run's context
// ends (it gets ShutdownGrace) reports its call after the monitor loop's
// own last flush; Run flushes once more when every loop stopped, so that
// call is stored too.
func TestSimShutdownFlushesLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, timeout: time.Minute})
		r.sim.SetFaults(metrcsim.Faults{Latency: 3 * time.Second})
		t0 := time.Now()
		stop := r.run(t)
		time.Sleep(10 * time.Second)
		r.enqueue(t, r.receipt(t, "LIC-A", "S1", 1))
		time.Sleep(time.Second) // the write is in flight
		stop()
		rows, err := r.st.LatencyMinutes("LIC-A", t0.Add(-time.Hour), t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		writes := 0
		for _, row := range rows {
			if strings.HasPrefix(row.Endpoint, "POST ") {
				writes += row.Count
			}
		}
		if writes != 1 {
			t.Errorf("%d write calls stored after shutdown, want 1 (rows %+v)", writes, rows)
		}
	})
}
