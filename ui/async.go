package ui

import (
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

// do is fyne.Do for the UI's own updates: it runs fn on the UI goroutine,
// or not at all once the window is stopping.
func do(fn func()) {
	fyne.Do(func() {
		if !stopped.Load() {
			fn()
		}
	})
}
