package engine

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tracesync/app"
)

// Span is how far back a latency series reaches.
type Span int

// The spans the latency chart offers.
const (
	SpanHour   Span = iota // per minute
	SpanDay                // per 15 minutes
	SpanWeek               // per hour
	Span30Days             // per 6 hours
)

func (s Span) String() string {
	switch s {
	case SpanDay:
		return "day"
	case SpanWeek:
		return "week"
	case Span30Days:
		return "30 days"
	}
	return "hour"
}

// LatencyPoint is one step of a latency series.
type LatencyPoint struct {
	At            time.Time // start of the step
	Count, Errors int
	P50, P95, Max time.Duration
}

// ErrorRate is the share of failed calls in the step (0 when none).
func (p LatencyPoint) ErrorRate() float64 {
	if p.Count == 0 {
		return 0
	}
	return float64(p.Errors) / float64(p.Count)
}

// Monitor is the latency monitor: it counts every Metrc call per license,
// endpoint and minute in fixed histogram buckets, flushes the rows to the
// store every FlushInterval, and answers series and p95 queries over stored
// plus not yet flushed rows. Observe is cheap and safe from any goroutine.
type Monitor struct {
	store app.MonitorStore
	clock app.Clock

	mu      sync.Mutex
	pending map[rowKey]*app.LatencyRow // not yet flushed
	recent  map[string]map[int64]*app.LatencyRow
}

type rowKey struct {
	license, endpoint string
	minute            int64
}

// recentKeep is how many minutes of per-license rows stay in memory for
// the health rule's p95.
const recentKeep = 60

// NewMonitor returns a monitor writing to s. Give its Observe to the Metrc
// client and the monitor to the engine as Params.Monitor.
func NewMonitor(s app.MonitorStore, c app.Clock) *Monitor {
	if c == nil {
		c = app.SystemClock{}
	}
	return &Monitor{store: s, clock: c, pending: map[rowKey]*app.LatencyRow{}, recent: map[string]map[int64]*app.LatencyRow{}}
}

// Observe counts one call (an app.CallObserver).
func (m *Monitor) Observe(c app.Call) {
	at := c.Start
	if at.IsZero() {
		at = m.clock.Now().Add(-c.Duration)
	}
	minute := at.Truncate(time.Minute)
	failed := c.Err != nil || c.Status >= 400
	m.mu.Lock()
	defer m.mu.Unlock()
	k := rowKey{c.License, c.Endpoint, minute.Unix()}
	r := m.pending[k]
	if r == nil {
		r = &app.LatencyRow{License: c.License, Endpoint: c.Endpoint, At: minute}
		m.pending[k] = r
	}
	r.Add(c.Duration, failed)
	rec := m.recent[c.License]
	if rec == nil {
		rec = map[int64]*app.LatencyRow{}
		m.recent[c.License] = rec
	}
	rr := rec[minute.Unix()]
	if rr == nil {
		rr = &app.LatencyRow{License: c.License, At: minute}
		rec[minute.Unix()] = rr
		cut := minute.Add(-recentKeep * time.Minute).Unix()
		for t := range rec {
			if t < cut {
				delete(rec, t)
			}
		}
	}
	rr.Add(c.Duration, failed)
}

// P95 returns the p95 of a license's calls since the given time (from
// memory: the health rule runs often) and how many calls it covers.
func (m *Monitor) P95(license string, since time.Time) (time.Duration, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum app.LatencyRow
	from := since.Truncate(time.Minute).Unix()
	for t, r := range m.recent[license] {
		if t >= from {
			sum.Merge(*r)
		}
	}
	return sum.Quantile(0.95), sum.Count
}

// Flush writes the pending rows to the store. On failure they are kept
// for the next flush.
func (m *Monitor) Flush() error {
	m.mu.Lock()
	rows := make([]app.LatencyRow, 0, len(m.pending))
	for _, r := range m.pending {
		rows = append(rows, *r)
	}
	old := m.pending
	m.pending = map[rowKey]*app.LatencyRow{}
	m.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	if err := m.store.AddLatency(rows...); err != nil {
		m.mu.Lock()
		for k, r := range old {
			if cur := m.pending[k]; cur != nil {
				r.Merge(*cur)
			}
			m.pending[k] = r
		}
		m.mu.Unlock()
		return fmt.Errorf("flush latency: %w", err)
	}
	return nil
}

// run flushes every period and prunes hourly until ctx ends, then flushes
// once more. A failed flush is logged (once per failing stretch) and tried
// again at the next tick, as a failed prune is an hour later: Flush keeps
// the rows it could not write, and returning would stop latency from being
// stored for the rest of the process.
func (m *Monitor) run(ctx context.Context, every time.Duration, log *slog.Logger) error {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	lastPrune := time.Time{}
	flushFailing := false
	for {
		select {
		case <-ctx.Done():
			return m.Flush()
		case <-ticker.C:
		}
		if err := m.Flush(); err != nil {
			if !flushFailing {
				log.Error("latency not stored: keeping it for the next flush", "err", err)
			}
			flushFailing = true
		} else if flushFailing {
			flushFailing = false
			log.Info("latency stored again")
		}
		if now := m.clock.Now(); now.Sub(lastPrune) >= time.Hour {
			lastPrune = now // a failed prune is tried again in an hour
			if _, err := m.store.PruneMonitor(now); err != nil {
				log.Error("prune latency rows", "err", err)
			}
		}
	}
}

// Run flushes every minute and prunes old rows hourly until ctx ends, then
// flushes once more; it returns the error of that last flush. The engine
// runs it; run it yourself only when the monitor is used without an engine.
func (m *Monitor) Run(ctx context.Context) error {
	return m.run(ctx, time.Minute, slog.Default().With("component", "monitor"))
}

// Latency returns a license's series ("" = every call) for the span:
// fixed steps, oldest first, empty steps with Count 0.
func (m *Monitor) Latency(license string, span Span) ([]LatencyPoint, error) {
	now := m.clock.Now()
	var length, step time.Duration
	hourly := false
	switch span {
	case SpanDay:
		length, step = 24*time.Hour, 15*time.Minute
	case SpanWeek:
		length, step, hourly = 7*24*time.Hour, time.Hour, true
	case Span30Days:
		length, step, hourly = 30*24*time.Hour, 6*time.Hour, true
	default:
		length, step = time.Hour, time.Minute
	}
	end := now.Truncate(step).Add(step)
	from := end.Add(-length)
	var rows []app.LatencyRow
	var err error
	if hourly {
		rows, err = m.store.LatencyHours(license, from, end)
	} else {
		rows, err = m.store.LatencyMinutes(license, from, end)
	}
	if err != nil {
		return nil, fmt.Errorf("latency: %w", err)
	}
	m.mu.Lock()
	for _, r := range m.pending {
		if (license == "" || r.License == license) && !r.At.Before(from) && r.At.Before(end) {
			rows = append(rows, *r)
		}
	}
	m.mu.Unlock()
	n := int(length / step)
	sums := make([]app.LatencyRow, n)
	for _, r := range rows {
		i := int(r.At.Sub(from) / step)
		if i >= 0 && i < n {
			sums[i].Merge(r)
		}
	}
	pts := make([]LatencyPoint, n)
	for i, s := range sums {
		pts[i] = LatencyPoint{At: from.Add(time.Duration(i) * step), Count: s.Count, Errors: s.Errors,
			P50: s.Quantile(0.5), P95: s.Quantile(0.95), Max: s.Max}
	}
	return pts, nil
}
