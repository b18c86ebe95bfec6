package app

import "errors"

// Sentinel errors shared by the ports.
var (
	ErrNotFound      = errors.New("not found")
	ErrLocked        = errors.New("data folder is in use by another tracesync process")
	ErrBadTransition = errors.New("transition not allowed")
	ErrConflict      = errors.New("a job with the same key and different content is already queued")
	ErrCorrupt       = errors.New("record could not be decoded")
)
