package ui

// async runs f off the UI goroutine. Tests replace it with a synchronous
// call so widget state can be asserted without waiting (and -race stays
// meaningful: the test driver runs fyne.Do callbacks inline).
var async = func(f func()) { go f() }
