package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
)

// quietLogger discards the engine's log; TS_LOG=1 shows it on stderr.
func quietLogger() *slog.Logger {
	if os.Getenv("TS_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestOutageBackoffProbeAndRelease: Metrc refuses connections for 40 min of
// sim-time: nothing is sent but probes (at most ProbeInterval apart), the
// license goes red after PullStale; when Metrc is back every job is
// delivered within a minute, exactly once, and the outage window closes.
func TestOutageBackoffProbeAndRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		m := newFakeMetrc()
		m.setDown(errRefused)
		var mu sync.Mutex
		var colors []app.Color
		e, err := New(Params{Store: st, Metrc: m, Logger: quietLogger(),
			Licenses: []app.License{{Number: "LIC-1", Name: "Shop"}}})
		if err != nil {
			t.Fatal(err)
		}
		e.Subscribe(func(hs []app.Health) {
			mu.Lock()
			defer mu.Unlock()
			if n := len(colors); n == 0 || colors[n-1] != hs[0].Color {
				colors = append(colors, hs[0].Color)
			}
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()

		now := time.Now()
		var jobs []app.Job
		for i := range 25 {
			jobs = append(jobs, receiptJob(t, "LIC-1", fmt.Sprintf("R%03d", i), "PKG-1", 1, now))
		}
		if _, err := e.Enqueue(jobs...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Minute)
		synctest.Wait()
		probes := m.count("units")
		if probes < 40*60/30 {
			t.Errorf("%d probes in 40 min, want at least one per 30 s", probes)
		}
		if h := e.Health()[0]; h.Color != app.Red || !h.APIDown || h.Reason != "The Metrc API is down" {
			t.Errorf("health after 40 min down = %v %q", h.Color, h.Reason)
		} else {
			t.Logf("red details: %q", h.Details)
		}
		if down, _ := e.APIDown(); !down {
			t.Error("APIDown = false")
		}

		back := time.Now()
		m.setDown(nil)
		waitFor(t, time.Hour, "all receipts delivered", func() bool {
			s, _ := st.Stats("LIC-1")
			return s.ByState[app.StateDone] == len(jobs)
		})
		if took := time.Since(back); took > time.Minute {
			t.Errorf("backlog drained %v after recovery, want within a minute", took)
		}
		for i := range jobs {
			if n := m.receiptCount("LIC-1", fmt.Sprintf("R%03d", i)); n != 1 {
				t.Errorf("receipt R%03d in Metrc %d times", i, n)
			}
		}
		ws, err := e.Outages("LIC-1", now.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil || len(ws) != 1 || ws[0].End.IsZero() || ws[0].FailedCalls < 40 {
			t.Errorf("outages = %+v, %v", ws, err)
		}
		waitFor(t, time.Hour, "green", func() bool { return e.Health()[0].Color == app.Orange || e.Health()[0].Color == app.Green })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		t.Logf("colours: %v", colors)
		mu.Unlock()
	})
}

// TestAcceptThenDropVerifies: every other write is applied and its answer
// lost; verification finds them, so each receipt is in Metrc exactly once.
func TestAcceptThenDropVerifies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t)
		m := newFakeMetrc()
		n := 0
		m.onWrite = func(r []app.SalesReceipt) ([]error, bool) {
			n++
			if n%2 == 1 {
				return m.allErr(len(r), &app.MetrcError{Class: app.ClassAmbiguous, Err: io.ErrUnexpectedEOF}), true
			}
			return make([]error, len(r)), true
		}
		e, _ := New(Params{Store: st, Metrc: m, Logger: quietLogger(), Licenses: []app.License{{Number: "L"}}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- e.Run(ctx) }()
		now := time.Now()
		for i := range 40 {
			if _, err := e.Enqueue(receiptJob(t, "L", fmt.Sprintf("X%d", i), "P", 1, now)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, time.Hour, "all done", func() bool {
			s, _ := st.Stats("L")
			return s.ByState[app.StateDone] == 40
		})
		for i := range 40 {
			if c := m.receiptCount("L", fmt.Sprintf("X%d", i)); c != 1 {
				t.Errorf("X%d in Metrc %d times", i, c)
			}
		}
		cancel()
		<-done
	})
}
