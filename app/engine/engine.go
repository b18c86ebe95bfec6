// Package engine is tracesync's sync engine: per license it pushes the
// queue to Metrc (batched, with verify-before-resend for writes whose
// answer was lost), pulls Metrc's view back, keeps outage windows and a
// latency monitor, and computes each license's health (DESIGN.md, "The
// engine's rules").
//
// Run starts one goroutine per loop: a push loop and a pull loop per
// license, the health loop and the latency monitor's flush loop. All state
// the UI reads is in one mutex-guarded tracker (Engine.mu); snapshots go
// out through Health and Subscribe.
//
// Wiring the latency monitor: the Metrc client is built before the engine,
// so build the monitor first with NewMonitor, give its Observe method to the
// client as app.CallObserver, and pass it as Params.Monitor. When
// Params.Monitor is nil the engine makes its own, and Engine.Observe feeds it.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"tracesync/app"
)

// Store is everything the engine persists.
type Store interface {
	app.JobStore
	app.LicenseStore
	app.PackageStore
	app.MonitorStore
	app.TransferStore
}

// Thresholds are DESIGN.md rule 6's limits; zero fields take the defaults.
type Thresholds struct {
	PullStale     time.Duration // red: no successful pull for longer (20m)
	RecentFailure time.Duration // orange: a call failed within (20m)
	SlowP95       time.Duration // orange: p95 above this (10s) ...
	SlowWindow    time.Duration // ... over this window (15m)
	OldestPending time.Duration // orange: oldest unfinished job older (1h)
	Deadline      time.Duration // a record's deadline after its business time (24h)
	DeadlineWarn  time.Duration // red: that close to the deadline (4h)
}

// DefaultThresholds returns DESIGN.md's values.
func DefaultThresholds() Thresholds {
	return Thresholds{
		PullStale: 20 * time.Minute, RecentFailure: 20 * time.Minute,
		SlowP95: 10 * time.Second, SlowWindow: 15 * time.Minute,
		OldestPending: time.Hour, Deadline: 24 * time.Hour, DeadlineWarn: 4 * time.Hour,
	}
}

func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&t.PullStale, d.PullStale)
	def(&t.RecentFailure, d.RecentFailure)
	def(&t.SlowP95, d.SlowP95)
	def(&t.SlowWindow, d.SlowWindow)
	def(&t.OldestPending, d.OldestPending)
	def(&t.Deadline, d.Deadline)
	def(&t.DeadlineWarn, d.DeadlineWarn)
	return t
}

// Params configure an Engine. Zero durations take the defaults noted.
type Params struct {
	Store  Store
	Metrc  app.Metrc
	Clock  app.Clock // nil: the system clock
	Logger *slog.Logger

	Licenses []app.License // the licenses to sync

	PullInterval    time.Duration // 5m
	RefDataInterval time.Duration // 1h
	FullRefresh     time.Duration // 24h
	BackoffBase     time.Duration // 2s
	BackoffCap      time.Duration // 5m
	ProbeInterval   time.Duration // 30s: the longest wait between probes while failing
	HealthInterval  time.Duration // 15s: health is also recomputed on every change
	FlushInterval   time.Duration // 1m: latency rows go to the store
	ShutdownGrace   time.Duration // 10s: in-flight writes may finish after Run's ctx ends
	BatchSize       int           // 10 objects per write request (Metrc's limit)

	Thresholds Thresholds

	// Monitor is the latency monitor the Metrc client reports to (see the
	// package doc); nil: the engine makes one and Engine.Observe feeds it.
	Monitor *Monitor

	// AfterPull runs after every successful pull of a license (reconcile).
	AfterPull func(ctx context.Context, license string)
}

func (p Params) withDefaults() Params {
	def := func(v *time.Duration, x time.Duration) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&p.PullInterval, 5*time.Minute)
	def(&p.RefDataInterval, time.Hour)
	def(&p.FullRefresh, 24*time.Hour)
	def(&p.BackoffBase, 2*time.Second)
	def(&p.BackoffCap, 5*time.Minute)
	def(&p.ProbeInterval, 30*time.Second)
	def(&p.HealthInterval, 15*time.Second)
	def(&p.FlushInterval, time.Minute)
	def(&p.ShutdownGrace, 10*time.Second)
	if p.BatchSize <= 0 || p.BatchSize > 10 {
		p.BatchSize = 10
	}
	if p.Clock == nil {
		p.Clock = app.SystemClock{}
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.Thresholds = p.Thresholds.withDefaults()
	return p
}

// Engine runs the sync of every configured license. Its methods are safe
// for concurrent use; the facade methods work before and after Run.
type Engine struct {
	p     Params
	st    Store
	mon   *Monitor
	log   *slog.Logger
	start time.Time

	mu      sync.Mutex // guards everything below
	lics    map[string]*licState
	order   []string // license numbers, sorted
	health  map[string]app.Health
	subs    map[int]func([]app.Health)
	nextSub int

	psMu       sync.Mutex // serialises pull-state writes (copy + put)
	healthKick chan struct{}
}

// licState is the tracker's record of one license.
type licState struct {
	lic      app.License
	pushKick chan struct{}
	pullKick chan struct{}

	ps app.PullState // persisted copy

	failing   bool      // transient failures since the last answer
	failures  int       // consecutive transient failures (backoff exponent)
	nextProbe time.Time // while failing: when to probe
	holdUntil time.Time // no writes before (429 Retry-After)
	outage    *app.OutageWindow
	pullOwed  bool // a pull waits until the unknown jobs are verified

	pulledSinceStart bool
	failedSinceStart bool
}

// New checks the parameters and loads each license's pull state.
func New(p Params) (*Engine, error) {
	if p.Store == nil || p.Metrc == nil {
		return nil, errors.New("engine: Store and Metrc are required")
	}
	p = p.withDefaults()
	e := &Engine{
		p: p, st: p.Store, log: p.Logger.With("component", "engine"),
		start:      p.Clock.Now(),
		lics:       make(map[string]*licState),
		health:     make(map[string]app.Health),
		subs:       make(map[int]func([]app.Health)),
		healthKick: make(chan struct{}, 1),
	}
	e.mon = p.Monitor
	if e.mon == nil {
		e.mon = NewMonitor(p.Store, p.Clock)
	}
	for _, l := range p.Licenses {
		if _, dup := e.lics[l.Number]; dup || l.Number == "" {
			continue
		}
		ps, err := p.Store.PullState(l.Number)
		if err != nil && !errors.Is(err, app.ErrNotFound) {
			return nil, fmt.Errorf("engine: pull state of %s: %w", l.Number, err)
		}
		ps.License = l.Number
		e.lics[l.Number] = &licState{
			lic: l, ps: ps,
			pushKick: make(chan struct{}, 1), pullKick: make(chan struct{}, 1),
		}
		e.order = append(e.order, l.Number)
	}
	slices.Sort(e.order)
	for _, num := range e.order {
		e.resumeCredentials(e.lics[num])
	}
	e.closeStaleOutages()
	e.refreshHealth()
	return e, nil
}

// resumeCredentials lifts the engine's own pause for rejected credentials
// at start. The pause is saved with the pull state, and only a person's
// SetPaused(false) in the app lifted it; a headless `tracesync run`
// restarted with fixed keys would never have tried them. The first call
// decides again: another 401/403 pauses the license again. A person's pause
// (License.Paused) is left alone.
func (e *Engine) resumeCredentials(ls *licState) {
	if !ls.ps.Paused || ls.ps.PausedReason != pausedCredentials {
		return
	}
	ls.ps.Paused, ls.ps.PausedReason = false, ""
	e.log.Info("license was paused because Metrc rejected the credentials: retrying with the current keys",
		"license", ls.lic.Number)
	if err := e.savePullState(ls); err != nil {
		// Not fatal: the pause is lifted in memory, and the next saved
		// pull state (or the next start) lifts it on disk.
		e.log.Error("save pull state", "license", ls.lic.Number, "err", err)
	}
}

// closeStaleOutages ends the outage windows a previous run left open. The
// engine keeps the open window in memory only and writes its End when
// Metrc answers again; a process stopped during an outage never did, and
// the stored window stayed ongoing forever (in every nightly report).
// What the previous run knew ends at the license's last recorded failure,
// so that is the End (the Start when the failure is not later). An outage
// still going on after the start opens a new window as usual.
//
// It runs in New, before Run's loops and before the nightly report's
// catch-up can read the windows. Failures are logged: a stale window is
// no reason not to sync.
func (e *Engine) closeStaleOutages() {
	ws, err := e.st.Outages("", time.Time{}, time.Time{})
	if err != nil {
		e.log.Error("list outage windows", "err", err)
		return
	}
	lastFailure := map[string]time.Time{}
	for _, w := range ws {
		if !w.End.IsZero() {
			continue
		}
		last, ok := lastFailure[w.License]
		if !ok {
			if ls := e.lics[w.License]; ls != nil {
				last = ls.ps.LastFailure
			} else if ps, err := e.st.PullState(w.License); err == nil {
				// A license this engine does not sync: its window would
				// stay open too.
				last = ps.LastFailure
			}
			lastFailure[w.License] = last
		}
		w.End = w.Start
		if last.After(w.Start) {
			w.End = last
		}
		if err := e.st.RecordOutage(w); err != nil {
			e.log.Error("close outage window", "license", w.License, "err", err)
			continue
		}
		e.log.Info("closed the outage window a previous run left open",
			"license", w.License, "start", w.Start, "end", w.End, "failedCalls", w.FailedCalls)
	}
}

// Run recovers jobs left in sending, then runs every loop until ctx ends.
// It returns nil on a clean shutdown: in-flight writes get ShutdownGrace to
// finish; any cut short are left unknown and verified at the next start.
func (e *Engine) Run(ctx context.Context) error {
	n, err := e.st.Recover(e.now())
	if err != nil {
		return fmt.Errorf("engine: recover: %w", err)
	}
	if n > 0 {
		e.log.Info("recovered jobs left in sending", "count", n)
	}
	var wg sync.WaitGroup
	goLoop := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("loop stopped", "loop", name, "err", err)
			}
		})
	}
	goLoop("monitor", func(ctx context.Context) error {
		return e.mon.run(ctx, e.p.FlushInterval, e.p.Logger.With("component", "monitor"))
	})
	goLoop("health", e.healthLoop)
	for _, num := range e.order {
		ls := e.lics[num]
		goLoop("push "+num, func(ctx context.Context) error { return e.pushLoop(ctx, ls) })
		goLoop("pull "+num, func(ctx context.Context) error { return e.pullLoop(ctx, ls) })
	}
	wg.Wait()
	// The monitor loop flushed when ctx ended, but writes still in flight
	// then (ShutdownGrace) reported their calls afterwards: flush once more
	// now that every loop has stopped.
	if err := e.mon.Flush(); err != nil {
		e.log.Error("last latency flush", "err", err)
	}
	return nil
}

func (e *Engine) now() time.Time { return e.p.Clock.Now() }

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (e *Engine) kickPush(license string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for num, ls := range e.lics {
		if license == "" || license == num {
			kick(ls.pushKick)
		}
	}
	kick(e.healthKick)
}

// Enqueue stores jobs (durably) and kicks the push loops.
func (e *Engine) Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error) {
	res, err := e.st.Enqueue(jobs...)
	if err != nil {
		return res, fmt.Errorf("enqueue: %w", err)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if !seen[j.License] {
			seen[j.License] = true
			e.kickPush(j.License)
		}
	}
	return res, nil
}

// PushNow makes the selected retrying, pending and unknown jobs due now,
// lifts the backoff of the licenses concerned (probing at once if they
// were failing; a 429's Retry-After is still honoured) and returns how
// many jobs it touched.
func (e *Engine) PushNow(sel app.DueSelector) (int, error) {
	now := e.now()
	n, err := e.st.MakeDue(now, sel)
	if err != nil {
		return n, fmt.Errorf("push now: %w", err)
	}
	lics := map[string]bool{}
	switch {
	case sel.All:
		lics[""] = true
	case sel.License != "":
		lics[sel.License] = true
	default:
		for _, id := range sel.IDs {
			if j, err := e.st.Job(id); err == nil {
				lics[j.License] = true
			}
		}
	}
	e.mu.Lock()
	for num, ls := range e.lics {
		if lics[""] || lics[num] {
			ls.nextProbe = now // a 429's Retry-After still holds
			kick(ls.pushKick)
		}
	}
	e.mu.Unlock()
	kick(e.healthKick)
	return n, nil
}

// SetPaused pauses or resumes a license. Resuming also clears a pause for
// rejected credentials (after the person fixed the key).
func (e *Engine) SetPaused(license string, paused bool) error {
	e.mu.Lock()
	ls, ok := e.lics[license]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("pause %s: %w", license, app.ErrNotFound)
	}
	ls.lic.Paused = paused
	lic := ls.lic
	if !paused {
		ls.ps.Paused, ls.ps.PausedReason = false, ""
		ls.nextProbe = e.now()
	}
	e.mu.Unlock()
	if err := e.st.PutLicense(lic); err != nil {
		return fmt.Errorf("pause %s: %w", license, err)
	}
	if err := e.savePullState(ls); err != nil {
		return fmt.Errorf("pause %s: %w", license, err)
	}
	e.log.Info("license pause changed", "license", license, "paused", paused)
	e.mu.Lock()
	kick(ls.pushKick)
	kick(ls.pullKick)
	e.mu.Unlock()
	kick(e.healthKick)
	return nil
}

// Discard gives up a job (pending, retrying or needs-attention) with a
// person's reason; its dependents go to needs-attention (the store does it).
func (e *Engine) Discard(id uint64, reason string) error {
	js, err := e.st.Apply(app.Transition{ID: id, To: app.StateDiscarded, At: e.now(), Reason: reason})
	if err != nil {
		return fmt.Errorf("discard #%d: %w", id, err)
	}
	for _, j := range js {
		e.kickPush(j.License)
	}
	return nil
}

// Resend moves a needs-attention job back to pending, with a person's
// corrections when edit.Body is set.
func (e *Engine) Resend(id uint64, edit app.JobEdit) error {
	now := e.now()
	t := app.Transition{ID: id, To: app.StatePending, At: now, NextAttempt: now,
		Attempt: &app.Attempt{At: now, Outcome: "resent by a person"}}
	if len(edit.Body) > 0 {
		t.Edit = &edit
	}
	js, err := e.st.Apply(t)
	if err != nil {
		return fmt.Errorf("resend #%d: %w", id, err)
	}
	for _, j := range js {
		e.kickPush(j.License)
	}
	return nil
}

// PullNow asks the pull loop of a license ("" = every license) to pull now.
func (e *Engine) PullNow(license string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for num, ls := range e.lics {
		if license == "" || license == num {
			kick(ls.pullKick)
		}
	}
}

// Store returns the engine's store (for lists the UI reads directly).
func (e *Engine) Store() Store { return e.st }

// Monitor returns the latency monitor.
func (e *Engine) Monitor() *Monitor { return e.mon }

// Observe reports one Metrc call to the latency monitor (an
// app.CallObserver).
func (e *Engine) Observe(c app.Call) { e.mon.Observe(c) }

// Latency returns the response-time series of a license ("" = all calls).
func (e *Engine) Latency(license string, span Span) ([]LatencyPoint, error) {
	return e.mon.Latency(license, span)
}

// Outages lists a license's outage windows ("" = every license)
// overlapping [from, to); the ongoing one has a zero End.
func (e *Engine) Outages(license string, from, to time.Time) ([]app.OutageWindow, error) {
	ws, err := e.st.Outages(license, from, to)
	if err != nil {
		return nil, fmt.Errorf("outages: %w", err)
	}
	return ws, nil
}

// shutdownContext returns a context for an in-flight write: it outlives
// ctx by grace, so a request already sent can get its answer.
func shutdownContext(ctx context.Context, grace time.Duration) (context.Context, func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var mu sync.Mutex
	var t *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		t = time.AfterFunc(grace, cancel)
		mu.Unlock()
	})
	return wctx, func() {
		stop()
		mu.Lock()
		if t != nil {
			t.Stop()
		}
		mu.Unlock()
		cancel()
	}
}
