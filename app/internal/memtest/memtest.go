// Package memtest measures how much heap a piece of work needs, for the
// benchmarks that report a peak-memory figure (CSV import, 100k rows).
package memtest

import (
	"runtime"
	"time"
)

// Peak collects garbage, then samples the heap every 2 ms until the
// returned stop function is called; stop reports the highest HeapAlloc seen
// above where it stood at the start (0 when it never rose).
func Peak() (stop func() uint64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	quit, done := make(chan struct{}), make(chan uint64)
	go func() {
		var m runtime.MemStats
		var top uint64
		for {
			runtime.ReadMemStats(&m)
			top = max(top, m.HeapAlloc)
			select {
			case <-quit:
				done <- top
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(quit)
		if top := <-done; top > before.HeapAlloc {
			return top - before.HeapAlloc
		}
		return 0
	}
}
