package metrc

import (
	"context"
	"math"
	"sync"
	"time"
)

// bucket lets at most k events through in any window of k×interval (k =
// the rate rounded; for whole rates the window is one second plus margin), judged at
// the moment each event is let through, and spaces them evenly. It keeps
// the times of the last k events: an event may go when the k-th last is a
// window old and the last is at least minGap old. A caller woken late by
// the timer (a busy machine) is made up for by the next ones going up to
// minGap apart, so the rate stays at its setting; a caller arriving after
// an idle spell gets a history of perfect spacing, so idleness never turns
// into a burst. One caller at a time waits for the clock (turn).
type bucket struct {
	interval time.Duration
	minGap   time.Duration
	window   time.Duration
	turn     chan struct{}

	mu   sync.Mutex
	ring []time.Time // the last k events, oldest at head
	head int
}

// margin is how far under its setting a rate bucket aims: the event is let
// through here, but reaches the wire a little later, by however long the
// scheduler takes, and 1 % of a window (10 ms of a second) absorbs that
// jitter so the count Metrc sees stays within the setting.
const margin = 0.01

func newBucket(perSecond float64) *bucket {
	if perSecond <= 0 {
		return &bucket{}
	}
	k := max(1, int(math.Round(perSecond)))
	interval := time.Duration(float64(time.Second) / perSecond * (1 + margin))
	return &bucket{interval: interval, minGap: interval * 3 / 4, window: time.Duration(k) * interval,
		turn: make(chan struct{}, 1), ring: make([]time.Time, k)}
}

// newIntervalBucket lets one event through per d on average (a rate
// bucket of 1/d per second): a caller that arrives late, because the work
// between two events took longer than d, is made up for by the next ones
// going closer, so the pace holds instead of every delay adding up.
func newIntervalBucket(d time.Duration) *bucket {
	if d <= 0 {
		return &bucket{}
	}
	return newBucket(float64(time.Second) / float64(d))
}

// wait blocks until the caller may go, or ctx ends.
func (b *bucket) wait(ctx context.Context) error {
	if b == nil || b.interval <= 0 {
		return ctx.Err()
	}
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()
	waited := false
	for {
		b.mu.Lock()
		now := time.Now()
		k := len(b.ring)
		last := b.ring[(b.head+k-1)%k]
		earliest := b.ring[b.head].Add(b.window)
		if e := last.Add(b.minGap); e.After(earliest) {
			earliest = e
		}
		if !now.Before(earliest) {
			b.ring[b.head] = now
			b.head = (b.head + 1) % k
			if !waited {
				// No backlog: the history becomes at least evenly spaced
				// up to now, so the next callers get one interval each.
				for m := 1; m < k; m++ {
					i := (b.head + k - 1 - m) % k
					if v := now.Add(-time.Duration(m) * b.interval); v.After(b.ring[i]) {
						b.ring[i] = v
					}
				}
			}
			b.mu.Unlock()
			return nil
		}
		d := earliest.Sub(now)
		b.mu.Unlock()
		waited = true
		if err := ctx.Err(); err != nil {
			return err
		}
		// Sleep, never spin: inside testing/synctest bubbles time only
		// moves while every goroutine is blocked.
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// semaphore bounds concurrent requests.
type semaphore chan struct{}

func (s semaphore) acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s semaphore) release() { <-s }

// facility holds one license's limits ("" = calls without a license).
type facility struct {
	gets   semaphore
	getRL  *bucket
	writes *bucket

	mu          sync.Mutex
	pausedUntil time.Time // after a 429: no calls before this
	chunk       int       // object limit learned from 413s (0 = ChunkSize)
}

func (f *facility) paused(now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Before(f.pausedUntil) {
		return f.pausedUntil.Sub(now)
	}
	return 0
}

func (f *facility) pause(until time.Time) {
	f.mu.Lock()
	if until.After(f.pausedUntil) {
		f.pausedUntil = until
	}
	f.mu.Unlock()
}

func (f *facility) chunkSize(def int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.chunk > 0 && f.chunk < def {
		return f.chunk
	}
	return def
}

func (f *facility) learnChunk(n int) {
	f.mu.Lock()
	if f.chunk == 0 || n < f.chunk {
		f.chunk = n
	}
	f.mu.Unlock()
}

// limits are a client's rate limits: one facility per license plus the
// vendor-wide ones.
type limits struct {
	getRate     float64
	maxGets     int
	writeEvery  time.Duration
	vendorGetRL *bucket
	vendorGets  semaphore
	mu          sync.Mutex
	byLicense   map[string]*facility
}

func (l *limits) facility(license string) *facility {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.byLicense[license]
	if f == nil {
		f = &facility{
			gets:   make(semaphore, l.maxGets),
			getRL:  newBucket(l.getRate),
			writes: newIntervalBucket(l.writeEvery),
		}
		l.byLicense[license] = f
	}
	return f
}
