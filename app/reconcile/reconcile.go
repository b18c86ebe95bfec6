package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"time"

	"tracesync/app"
	"tracesync/app/mail"
)

// Store is what the Reconciler reads and writes (store.Store implements it).
type Store interface {
	app.JobStore
	app.PackageStore
	app.AuditStore
}

// Mailer sends a report mail to the admin addresses (app/mail.Sender).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// OutageLister gives the outage windows of a license overlapping [from, to)
// (the engine, or app.MonitorStore).
type OutageLister interface {
	Outages(license string, from, to time.Time) ([]app.OutageWindow, error)
}

// pullStater is the part of app.MonitorStore that dates the last pull.
type pullStater interface {
	PullState(license string) (app.PullState, error)
}

// Params configures a Reconciler.
type Params struct {
	Store    Store
	Clock    app.Clock    // nil: the system clock
	Logger   *slog.Logger // nil: slog.Default()
	Interval time.Duration
	// ReportTime is the local time of the nightly report, "15:04" (default "02:00").
	ReportTime string
	// ReportZone is the zone of ReportTime when no license is configured
	// (nil: time.Local). With licenses, each license's own zone counts
	// (doc.go, "The nightly report").
	ReportZone *time.Location
	Licenses   []app.License
	Mailer     Mailer // nil: no SMTP set, reports are not mailed
	DataDir    string // reports are exported to DataDir/reports ("" = not exported)
	// Outages lists outage windows for the report (nil: Store, when it
	// offers them).
	Outages OutageLister
	// Enqueue queues re-queued local values (nil: Store.Enqueue); the
	// engine's Enqueue also wakes its push loop.
	Enqueue func(jobs ...app.Job) ([]app.EnqueueResult, error)
}

// DefaultInterval is how often AfterPull compares.
const DefaultInterval = 10 * time.Minute

// Reconciler runs comparisons, keeps the audit feed and makes reports. It
// is safe for concurrent use; runs and audit actions are serialised.
type Reconciler struct {
	p       Params
	log     *slog.Logger
	clock   app.Clock
	outages OutageLister
	enqueue func(jobs ...app.Job) ([]app.EnqueueResult, error)
	at      clockTime // ReportTime parsed

	mu      sync.Mutex // serialises runs and actions
	lastRun map[string]time.Time

	// reportMu serialises reading, building and storing a report with
	// its delivery (export, queuing its mail), so a report is stored once
	// and a date is queued once. Never held while taking mailMu: a slow
	// SMTP server must not hold up reading reports.
	reportMu sync.Mutex
	mailMu   sync.Mutex // serialises outbox sends and outbox updates

	afterPass func() // tests: called after each pass of RunReports
}

type clockTime struct{ hour, min int }

// Result is what one run did.
type Result struct {
	License  string
	At       time.Time
	Compared int
	Stale    int
	Repairs  []app.Repair
	Matched  []uint64
	// Skipped counts label repairs left for the next run because the record
	// changed while the run compared it.
	Skipped                 int
	Opened, Changed, Closed int
	Open                    int // open audit items of the license after the run
}

// New builds a Reconciler.
func New(p Params) *Reconciler {
	r := &Reconciler{p: p, lastRun: make(map[string]time.Time)}
	r.clock = p.Clock
	if r.clock == nil {
		r.clock = app.SystemClock{}
	}
	r.log = p.Logger
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("component", "reconcile")
	if r.p.Interval <= 0 {
		r.p.Interval = DefaultInterval
	}
	if r.p.ReportTime == "" {
		r.p.ReportTime = "02:00"
	}
	t, err := time.Parse("15:04", r.p.ReportTime)
	if err != nil {
		r.log.Warn("bad report time, using 02:00", "reportTime", r.p.ReportTime)
		t, _ = time.Parse("15:04", "02:00")
	}
	r.at = clockTime{t.Hour(), t.Minute()}
	if r.p.ReportZone == nil {
		r.p.ReportZone = time.Local
	}
	if s, ok := r.p.Mailer.(*mail.Sender); ok && s == nil {
		r.p.Mailer = nil // a typed nil from "no SMTP set" wiring
	}
	r.outages = p.Outages
	if r.outages == nil {
		if o, ok := p.Store.(OutageLister); ok {
			r.outages = o
		}
	}
	r.enqueue = p.Enqueue
	if r.enqueue == nil {
		r.enqueue = p.Store.Enqueue
	}
	return r
}

// AfterPull is the engine's hook after a successful pull: it compares when
// Interval has passed since the license's last run. Errors are logged.
func (r *Reconciler) AfterPull(ctx context.Context, license string) {
	r.mu.Lock()
	last, ok := r.lastRun[license]
	r.mu.Unlock()
	if ok && r.clock.Now().Sub(last) < r.p.Interval {
		return
	}
	if _, err := r.RunNow(ctx, license); err != nil {
		r.log.Warn("reconcile failed", "license", license, "err", err)
	}
}

var unfinished = []app.JobState{app.StatePending, app.StateSending, app.StateRetrying, app.StateUnknown, app.StateNeedsAttention}

// RunNow compares one license at once and applies the plan.
func (r *Reconciler) RunNow(ctx context.Context, license string) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	res := Result{License: license, At: now}
	plan, err := r.compare(ctx, license)
	if err != nil {
		return res, err
	}
	res.Compared, res.Stale = plan.Compared, len(plan.Stale)
	for _, m := range plan.Matches {
		if r.match(m, now) {
			res.Matched = append(res.Matched, m.JobID)
		}
	}
	if err := r.apply(plan, now, &res); err != nil {
		return res, err
	}
	r.lastRun[license] = now
	open, err := r.p.Store.AuditItems(license, true)
	if err != nil {
		return res, fmt.Errorf("reconcile %s: %w", license, err)
	}
	res.Open = len(open)
	if len(res.Repairs)+len(res.Matched)+res.Opened+res.Closed > 0 {
		r.log.Info("reconciled", "license", license, "compared", res.Compared, "repairs", len(res.Repairs),
			"matched", len(res.Matched), "opened", res.Opened, "closed", res.Closed, "open", res.Open)
	}
	return res, nil
}

// pageSize is how many packages a run reads at a time.
const pageSize = 2000

// compare streams the license's packages through a Comparer, page by page,
// so a large inventory is never held whole.
func (r *Reconciler) compare(ctx context.Context, license string) (Plan, error) {
	jobs, err := r.jobs(app.JobFilter{License: license, States: unfinished})
	if err != nil {
		return Plan{}, fmt.Errorf("reconcile %s: %w", license, err)
	}
	var pulledAt time.Time
	if ps, ok := r.p.Store.(pullStater); ok {
		if st, err := ps.PullState(license); err == nil {
			pulledAt = st.LastPackages
		}
	}
	c := NewComparer(license, jobs, pulledAt, func(label string) (app.Package, bool) {
		p, err := r.p.Store.Package(license, label)
		return p, err == nil
	})
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return Plan{}, err
		}
		page, err := r.p.Store.Packages(license, "", after, pageSize)
		if err != nil {
			return Plan{}, fmt.Errorf("reconcile %s: read packages: %w", license, err)
		}
		for i := range page {
			c.Add(&page[i])
		}
		if len(page) < pageSize {
			return c.Plan(), nil
		}
		after = page[len(page)-1].Label
	}
}

// jobs pages through a job list.
func (r *Reconciler) jobs(f app.JobFilter) ([]app.Job, error) {
	var out []app.Job
	f.Limit = 500
	for {
		page, err := r.p.Store.ListJobs(f)
		if err != nil {
			return out, fmt.Errorf("list jobs: %w", err)
		}
		out = append(out, page.Jobs...)
		if page.Next == 0 {
			return out, nil
		}
		f.After = page.Next
	}
}

// match moves a queued create-package to matched. A job the engine is
// sending cannot move; it will be verified instead.
func (r *Reconciler) match(m Match, now time.Time) bool {
	_, err := r.p.Store.Apply(app.Transition{ID: m.JobID, To: app.StateMatched, At: now,
		Attempt: &app.Attempt{At: now, Outcome: "matched",
			Message: "already in Metrc with the same item, unit and quantity: not sent"}})
	switch {
	case err == nil:
		return true
	case errors.Is(err, app.ErrBadTransition):
		r.log.Debug("match skipped: job moved on", "job", m.JobID, "err", err)
	default:
		r.log.Warn("match failed", "job", m.JobID, "err", err)
	}
	return false
}

// apply writes the plan's repairs and audit changes in one transaction.
func (r *Reconciler) apply(plan Plan, now time.Time, res *Result) error {
	stale := make(map[string]bool, len(plan.Stale))
	for _, l := range plan.Stale {
		stale[l] = true
	}
	var repairs []app.Repair
	var opened, changed, closed, skipped int
	err := r.p.Store.UpdateAudit(func(tx app.AuditTx) error {
		repairs, opened, changed, closed, skipped = nil, 0, 0, 0, 0
		for _, lr := range plan.Repairs {
			p, err := tx.Package(plan.License, lr.Label)
			if errors.Is(err, app.ErrNotFound) {
				skipped++
				continue
			} else if err != nil {
				return err
			}
			// The record changed since it was read (new work, a new pull):
			// leave it for the next run rather than overwrite it.
			if !reflect.DeepEqual(p.Local, lr.Before) || !p.PulledAt.Equal(lr.PulledAt) {
				skipped++
				continue
			}
			after := lr.After
			p.Local, p.LocalUpdated = &after, now
			if err := tx.PutPackage(p); err != nil {
				return err
			}
			for _, c := range lr.Changes {
				rep := app.Repair{License: plan.License, Label: lr.Label, Field: c.Field, Before: c.Before,
					After: c.After, At: now, Rule: c.Rule, BeforeState: clone(lr.Before)}
				if err := tx.PutRepair(&rep); err != nil {
					return err
				}
				repairs = append(repairs, rep)
			}
		}
		for _, u := range plan.Unpin {
			p, err := tx.Package(plan.License, u.Label)
			if err != nil {
				continue
			}
			if i := slices.Index(p.Pinned, u.Field); i >= 0 {
				p.Pinned = slices.Delete(p.Pinned, i, i+1)
				if err := tx.PutPackage(p); err != nil {
					return err
				}
			}
		}
		live, err := tx.LiveAuditItems(plan.License)
		if err != nil {
			return err
		}
		byKey := make(map[string]app.AuditItem, len(live))
		for _, it := range live {
			byKey[it.Key] = it
		}
		found := make(map[string]bool, len(plan.Findings))
		for _, f := range plan.Findings {
			key := f.Key(plan.License)
			found[key] = true
			it, ok := byKey[key]
			same := ok && sameSides(it, f)
			switch {
			case ok && it.Status == app.AuditResolved && same:
				it.LastSeen = now // a person handled it; stay quiet while it lasts
			case ok && it.Status == app.AuditOpen:
				if !same {
					it.History = append(it.History, app.AuditAction{At: now, Action: "changed", Note: f.Why})
					changed++
				}
				it.Local, it.Metrc, it.Expected, it.JobID, it.Why, it.LastSeen = f.Local, f.Metrc, f.Expected, f.JobID, f.Why, now
			default:
				if ok { // resolved, and the difference changed: a new item
					if err := tx.PutAuditItem(&it, true); err != nil {
						return err
					}
				}
				it = app.AuditItem{Key: key, License: plan.License, Label: f.Label, Kind: f.Kind, Field: f.Field,
					Local: f.Local, Metrc: f.Metrc, Expected: f.Expected, JobID: f.JobID, Why: f.Why,
					FirstSeen: now, LastSeen: now, Status: app.AuditOpen,
					History: []app.AuditAction{{At: now, Action: "opened", Note: f.Why, JobID: f.JobID}}}
				opened++
			}
			if err := tx.PutAuditItem(&it, false); err != nil {
				return err
			}
		}
		for _, it := range live {
			if found[it.Key] || stale[it.Label] {
				continue
			}
			if it.Status == app.AuditOpen {
				it.Status = app.AuditClosed
				it.History = append(it.History, app.AuditAction{At: now, Action: "closed", Note: "the difference disappeared"})
				closed++
			}
			if err := tx.PutAuditItem(&it, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reconcile %s: save: %w", plan.License, err)
	}
	res.Repairs, res.Opened, res.Changed, res.Closed, res.Skipped = repairs, opened, changed, closed, skipped
	return nil
}

// sameSides reports whether an item already shows the finding's values.
func sameSides(it app.AuditItem, f Finding) bool {
	return reflect.DeepEqual(it.Local, f.Local) && reflect.DeepEqual(it.Metrc, f.Metrc) &&
		reflect.DeepEqual(it.Expected, f.Expected) && it.JobID == f.JobID
}

// license returns the configured license (its zone), or a bare one.
func (r *Reconciler) license(number string) app.License {
	for _, l := range r.p.Licenses {
		if l.Number == number {
			return l
		}
	}
	return app.License{Number: number}
}
