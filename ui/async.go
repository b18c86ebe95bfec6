package ui

import (
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
)

// async runs f off the UI goroutine. Tests replace it with a synchronous
// call so widget state can be asserted without waiting (and -race stays
// meaningful: the test driver runs fyne.Do callbacks inline).
var async = func(f func()) { go f() }

// stopped is set on the UI goroutine just before the app quits. Once the
// driver has stopped, fyne.Do runs callbacks on the caller's goroutine, so
// late results of async work would touch widgets from several goroutines at
// once (a data race, and panics on a destroyed window). New resets it.
var stopped atomic.Bool

// updating is held while one of the UI's own updates runs. While the app
// runs, updates run one at a time on the UI goroutine and it is always
// free. Once the driver has stopped (Fyne's own SIGINT/SIGTERM handler can
// stop it before Quit has set stopped), fyne.Do runs callbacks on their
// callers' goroutines; the lock keeps those from running at once.
var updating sync.Mutex

// nested is set by tests: the test driver runs fyne.Do callbacks inline, so
// an update there legitimately starts another inside itself.
var nested bool

// do is fyne.Do for the UI's own updates: it runs fn on the UI goroutine,
// or not at all once the window is stopping.
func do(fn func()) {
	fyne.Do(func() { guarded(fn) })
}

// guarded runs fn unless the UI has stopped, or another update is running
// now, which happens only after the driver stopped: then the window is gone
// and the update is dropped (waiting could deadlock on a nested update).
func guarded(fn func()) {
	if !nested {
		if !updating.TryLock() {
			return
		}
		defer updating.Unlock()
	}
	if !stopped.Load() {
		fn()
	}
}

// stop marks the UI stopped once no update is running: none starts after.
func stop() {
	updating.Lock()
	stopped.Store(true)
	updating.Unlock()
}
