package ui

import (
	"sync"
	"sync/atomic"
	"testing"
)

// The test driver runs fyne.Do callbacks inline, so one update may start
// another inside itself; the real driver never does that while it runs.
func init() { nested = true }

// Once the real driver has stopped, fyne.Do runs callbacks on their callers'
// goroutines, at once. guarded must then never run two updates together,
// and none after stop. Run with -race: the shared counter is unguarded.
func TestGuardedAfterDriverStopped(t *testing.T) {
	nested = false
	stopped.Store(false)
	t.Cleanup(func() { nested = true; stopped.Store(false) })

	var running, overlaps, ran atomic.Int32
	shared := 0
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			guarded(func() {
				if running.Add(1) > 1 {
					overlaps.Add(1)
				}
				shared++
				ran.Add(1)
				running.Add(-1)
			})
		})
	}
	wg.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d updates overlapped", overlaps.Load())
	}
	if ran.Load() == 0 || int(ran.Load()) != shared {
		t.Fatalf("ran %d updates, counter says %d", ran.Load(), shared)
	}

	stop()
	guarded(func() { t.Error("an update ran after stop") })
}
