package reconcile

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"tracesync/app"
)

// The rules, one per row of the table in the package comment. The strings
// are what the repair log and the report show.
const (
	RuleQuantity = "quantity differs: took Metrc's quantity"
	RuleLocation = "location differs: took Metrc's location"
	RuleFinished = "finished or archived in Metrc, active locally: finished locally"
	RuleOnHold   = "on hold in Metrc: marked on hold locally"
	RuleReleased = "hold lifted in Metrc: lifted locally"
	RuleImport   = "in Metrc, not local: imported (created in Metrc directly)"
)

// Why texts of the audit kinds.
const (
	WhyMislabel     = "item or unit differs: may be a mislabel, a person decides"
	WhyLost         = "local and active, not in Metrc, and no pending create: lost or never reported"
	WhyConflict     = "a pending job conflicts with what Metrc now shows (entered twice?)"
	WhyFinishedGone = "Metrc shows it finished or archived, but a pending job still changes it"
	WhyEnteredTwice = "entered twice with differences: the queued package already exists in Metrc with other values"
	WhyPinned       = "a person restored this value (undo of a repair); not repaired again"
	WhyFinishedHere = "finished locally, still active in Metrc, and no pending finish"
)

// Input is what one comparison reads: a license's packages (each the local
// record beside the last Metrc snapshot) and its unfinished jobs.
type Input struct {
	License  string
	Packages []app.Package
	Jobs     []app.Job
	// PulledAt is when the license's packages were last pulled; it dates the
	// absence of a label from Metrc (zero: the newest snapshot's PulledAt).
	PulledAt time.Time
}

// Plan is what a comparison found; Apply (in reconcile.go) carries it out.
type Plan struct {
	License  string
	Repairs  []LabelRepair
	Matches  []Match
	Findings []Finding
	Unpin    []Unpin
	// Stale lists labels whose snapshot predates their last finished job:
	// not compared, their audit items left as they are.
	Stale []string
	// Compared counts the labels compared.
	Compared int
}

// LabelRepair is the repairs of one label: the local record goes from
// Before to After; Changes lists each field for the repair log.
type LabelRepair struct {
	Label    string
	PulledAt time.Time         // the snapshot compared: the repair waits if a newer one came
	Before   *app.PackageState // nil: no local record (import)
	After    app.PackageState
	Changes  []FieldChange
}

// FieldChange is one logged repair.
type FieldChange struct {
	Field, Before, After, Rule string
}

// Match is a queued create-package found in Metrc with the same values.
type Match struct {
	JobID uint64
	Label string
}

// Finding is a difference for the audit feed.
type Finding struct {
	Label    string
	Kind     app.AuditKind
	Field    string
	Local    *app.PackageState
	Metrc    *app.PackageState
	Expected *app.PackageState
	JobID    uint64
	Why      string
}

// Key is the audit key of the finding.
func (f Finding) Key(license string) string { return app.AuditKey(license, f.Label, f.Kind, f.Field) }

// Unpin is a pinned field whose two sides agree again.
type Unpin struct {
	Label, Field string
}

// effect is what one unfinished job will do to one label.
type effect struct {
	job      *app.Job
	delta    float64 // quantity change
	hasDelta bool
	location string
	finish   bool
	create   *app.PackageCreate // the label is this job's new package
	opaque   bool               // a kind whose effect is not modelled: leave the label alone
}

// sure reports whether the job is surely not yet applied in Metrc; a job
// being sent or whose answer was lost may already be there.
func (e effect) sure() bool {
	return e.job.State != app.StateSending && e.job.State != app.StateUnknown
}

// effects indexes the unfinished jobs' effects by label, in job id order.
func effects(jobs []app.Job) map[string][]effect {
	m := make(map[string][]effect)
	order := make([]*app.Job, 0, len(jobs))
	for i := range jobs {
		if !jobs[i].State.Final() {
			order = append(order, &jobs[i])
		}
	}
	slices.SortFunc(order, func(a, b *app.Job) int {
		if a.ID < b.ID {
			return -1
		} else if a.ID > b.ID {
			return 1
		}
		return 0
	})
	for _, j := range order {
		switch j.Kind {
		case app.KindCreatePackage:
			var b app.PackageCreate
			if json.Unmarshal(j.Body, &b) != nil {
				markOpaque(m, j)
				continue
			}
			m[b.Tag] = append(m[b.Tag], effect{job: j, create: &b})
			for _, in := range b.Ingredients {
				m[in.Package] = append(m[in.Package], effect{job: j, delta: -in.Quantity, hasDelta: true})
			}
		case app.KindAdjust:
			var b app.PackageAdjust
			if json.Unmarshal(j.Body, &b) != nil {
				markOpaque(m, j)
				continue
			}
			m[b.Label] = append(m[b.Label], effect{job: j, delta: b.Quantity, hasDelta: true})
		case app.KindChangeLocation:
			var b app.LocationChange
			if json.Unmarshal(j.Body, &b) != nil {
				markOpaque(m, j)
				continue
			}
			m[b.Label] = append(m[b.Label], effect{job: j, location: b.Location})
		case app.KindFinish:
			var b app.PackageFinish
			if json.Unmarshal(j.Body, &b) != nil {
				markOpaque(m, j)
				continue
			}
			m[b.Label] = append(m[b.Label], effect{job: j, finish: true})
		case app.KindSalesReceipt:
			var b app.SalesReceipt
			if json.Unmarshal(j.Body, &b) != nil {
				markOpaque(m, j)
				continue
			}
			for _, t := range b.Transactions {
				m[t.PackageLabel] = append(m[t.PackageLabel], effect{job: j, delta: -t.Quantity, hasDelta: true})
			}
		default:
			markOpaque(m, j)
		}
	}
	return m
}

func markOpaque(m map[string][]effect, j *app.Job) {
	for _, l := range append(append([]string(nil), j.Creates...), j.Reads...) {
		m[l] = append(m[l], effect{job: j, opaque: true})
	}
}

// Compare is the pure comparison of the rules table: it reads, it writes
// nothing. Packages are compared in the order given.
func Compare(in Input) Plan {
	pulled := in.PulledAt
	if pulled.IsZero() {
		for i := range in.Packages {
			if in.Packages[i].PulledAt.After(pulled) {
				pulled = in.Packages[i].PulledAt
			}
		}
	}
	var byLabel map[string]*app.Package
	lookup := func(label string) (app.Package, bool) {
		if byLabel == nil {
			byLabel = make(map[string]*app.Package)
			tags := createTags(in.Jobs)
			for i := range in.Packages {
				if tags[in.Packages[i].Label] {
					byLabel[in.Packages[i].Label] = &in.Packages[i]
				}
			}
		}
		p, ok := byLabel[label]
		if !ok {
			return app.Package{}, false
		}
		return *p, true
	}
	c := NewComparer(in.License, in.Jobs, pulled, lookup)
	for i := range in.Packages {
		c.Add(&in.Packages[i])
	}
	return c.Plan()
}

// Comparer is Compare one package at a time, so a caller can stream a large
// inventory page by page instead of holding it all.
type Comparer struct {
	plan   Plan
	pulled time.Time
	eff    map[string][]effect
}

// NewComparer prepares a comparison of a license: jobs are its unfinished
// jobs, pulledAt the time of its last packages pull (it dates a label's
// absence from Metrc), and lookup returns a package by label — it is asked
// only for the labels queued create-packages make, before any Add.
func NewComparer(license string, jobs []app.Job, pulledAt time.Time, lookup func(label string) (app.Package, bool)) *Comparer {
	c := &Comparer{plan: Plan{License: license}, pulled: pulledAt}
	// Assembly matching first: a matched job is never sent, so none of its
	// changes (its ingredients' use included) are pending any more.
	if matched := c.matchAssemblies(jobs, lookup); len(matched) > 0 {
		jobs = slices.DeleteFunc(slices.Clone(jobs), func(j app.Job) bool { return matched[j.ID] })
	}
	c.eff = effects(jobs)
	return c
}

// Add compares one package.
func (c *Comparer) Add(p *app.Package) {
	if c.stale(p) {
		c.plan.Stale = append(c.plan.Stale, p.Label)
		return
	}
	c.plan.Compared++
	compareOne(&c.plan, p, c.eff[p.Label])
}

// Plan returns what the comparison found.
func (c *Comparer) Plan() Plan { return c.plan }

// stale: a snapshot older than the label's last finished job does not yet
// show that job's result; wait for the next pull.
func (c *Comparer) stale(p *app.Package) bool {
	seen := p.PulledAt
	if p.Metrc == nil {
		seen = c.pulled
	}
	return !p.LastJobFinished.IsZero() && seen.Before(p.LastJobFinished)
}

// queuedCreate is an unfinished create-package job with its body.
type queuedCreate struct {
	id uint64
	c  app.PackageCreate
}

func queuedCreates(jobs []app.Job) map[string]queuedCreate {
	creates := make(map[string]queuedCreate)
	for i := range jobs {
		j := &jobs[i]
		var c app.PackageCreate
		if j.Kind == app.KindCreatePackage && !j.State.Final() && json.Unmarshal(j.Body, &c) == nil {
			creates[c.Tag] = queuedCreate{j.ID, c}
		}
	}
	return creates
}

func createTags(jobs []app.Job) map[string]bool {
	tags := make(map[string]bool)
	for tag := range queuedCreates(jobs) {
		tags[tag] = true
	}
	return tags
}

// matchAssemblies finds the queued create-packages whose item, unit and
// quantity Metrc already shows under their label.
func (c *Comparer) matchAssemblies(jobs []app.Job, lookup func(string) (app.Package, bool)) map[uint64]bool {
	creates := queuedCreates(jobs)
	if len(creates) == 0 {
		return nil
	}
	tags := make([]string, 0, len(creates))
	for tag := range creates {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	matched := make(map[uint64]bool)
	for _, tag := range tags {
		q := creates[tag]
		p, ok := lookup(tag)
		if !ok || p.Metrc == nil || c.stale(&p) {
			continue
		}
		if q.c.Item == p.Metrc.Item && q.c.UnitOfMeasure == p.Metrc.Unit && eq(q.c.Quantity, p.Metrc.Quantity) {
			c.plan.Matches = append(c.plan.Matches, Match{JobID: q.id, Label: tag})
			matched[q.id] = true
		}
	}
	return matched
}

// compareOne applies the rules to one label.
func compareOne(plan *Plan, p *app.Package, effs []effect) {
	local, metrc := p.Local, p.Metrc
	if local == nil && metrc == nil {
		return
	}
	if len(effs) == 0 && local != nil && metrc != nil && *local == *metrc && len(p.Pinned) == 0 {
		return // the common case: nothing pending, nothing different
	}
	for _, e := range effs {
		if e.opaque {
			return // a job we do not model changes it: leave it to that job
		}
	}

	// Assembly matching: a queued create-package already in Metrc.
	var creating *effect
	rest := effs[:0:0]
	for k := range effs {
		if effs[k].create == nil {
			rest = append(rest, effs[k])
			continue
		}
		c := effs[k].create
		if metrc == nil {
			creating = &effs[k]
			continue
		}
		// Same values were matched before (matchAssemblies), so this one differs.
		plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditEnteredTwice,
			Local: clone(local), Metrc: clone(metrc), Expected: stateOf(c), JobID: effs[k].job.ID, Why: WhyEnteredTwice})
		return
	}

	// expected is Metrc plus every pending change; certain is Metrc plus
	// only the changes surely not yet applied (a job being sent, or whose
	// answer was lost, may already be in Metrc's numbers).
	var expected, certain *app.PackageState
	switch {
	case metrc != nil:
		expected, certain = clone(metrc), clone(metrc)
	case creating != nil:
		expected, certain = stateOf(creating.create), stateOf(creating.create)
	}
	var touchQty, touchLoc, touchFinish bool
	var firstJob uint64
	for _, e := range rest {
		if firstJob == 0 {
			firstJob = e.job.ID
		}
		touchQty = touchQty || e.hasDelta
		touchLoc = touchLoc || e.location != ""
		touchFinish = touchFinish || e.finish
		if expected == nil {
			continue
		}
		applyEffect(expected, e)
		if e.sure() {
			applyEffect(certain, e)
		}
	}
	if creating != nil && firstJob == 0 {
		firstJob = creating.job.ID
	}

	switch {
	case expected == nil: // local only, nothing pending creates it
		if !local.Finished {
			plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditLost,
				Local: clone(local), JobID: firstJob, Why: WhyLost})
		}
		return
	case local == nil: // in Metrc, not local
		if !expected.Finished {
			if slices.Contains(p.Pinned, app.FieldRecord) { // a person undid the import
				plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditPinned, Field: app.FieldRecord,
					Metrc: clone(metrc), Expected: pendingView(expected, rest), JobID: firstJob, Why: WhyPinned})
				return
			}
			after := *expected
			plan.Repairs = append(plan.Repairs, LabelRepair{Label: p.Label, PulledAt: p.PulledAt, After: after,
				Changes: []FieldChange{{Field: app.FieldRecord, After: render(after), Rule: RuleImport}}})
		}
		return
	}
	if local.Item != expected.Item || local.Unit != expected.Unit {
		plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditMislabel,
			Local: clone(local), Metrc: clone(metrc), Expected: pendingView(expected, rest), JobID: firstJob, Why: WhyMislabel})
		return
	}
	if local.Finished && expected.Finished {
		return
	}
	// Metrc finished it while a job still means to change it.
	if metrc != nil && metrc.Finished && !local.Finished && (touchQty || touchLoc) {
		plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditConflict, Field: app.FieldFinished,
			Local: clone(local), Metrc: clone(metrc), Expected: clone(expected), JobID: firstJob, Why: WhyFinishedGone})
		return
	}

	r := LabelRepair{Label: p.Label, PulledAt: p.PulledAt, Before: clone(local), After: *local}
	pinned := func(field string) bool { return slices.Contains(p.Pinned, field) }
	// differ handles one field: touched by a pending job, a difference from
	// both views is a conflict; pinned, an audit item; else a repair.
	differ := func(field string, same, sameCertain, touched bool, fix func(), before, after, rule string) {
		if same || touched && sameCertain {
			if pinned(field) {
				plan.Unpin = append(plan.Unpin, Unpin{Label: p.Label, Field: field})
			}
			return
		}
		switch {
		case touched:
			plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditConflict, Field: field,
				Local: clone(local), Metrc: clone(metrc), Expected: clone(expected), JobID: firstJob, Why: WhyConflict})
		case pinned(field):
			plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditPinned, Field: field,
				Local: clone(local), Metrc: clone(metrc), Expected: pendingView(expected, rest), JobID: firstJob, Why: WhyPinned})
		default:
			fix()
			r.Changes = append(r.Changes, FieldChange{Field: field, Before: before, After: after, Rule: rule})
		}
	}

	// finished
	switch {
	case expected.Finished && !local.Finished:
		differ(app.FieldFinished, false, false, touchFinish, func() { r.After.Finished = true }, "active", "finished", RuleFinished)
	case !expected.Finished && local.Finished:
		// Not in the table: Metrc is the record, but a finish that never
		// reached it may be the truth. A person decides.
		plan.Findings = append(plan.Findings, Finding{Label: p.Label, Kind: app.AuditFinishedHere, Field: app.FieldFinished,
			Local: clone(local), Metrc: clone(metrc), Expected: pendingView(expected, rest), JobID: firstJob, Why: WhyFinishedHere})
		return
	}
	differ(app.FieldQuantity, eq(local.Quantity, expected.Quantity), eq(local.Quantity, certain.Quantity), touchQty,
		func() { r.After.Quantity = expected.Quantity }, fmtQty(local.Quantity), fmtQty(expected.Quantity), RuleQuantity)
	differ(app.FieldLocation, local.Location == expected.Location, local.Location == certain.Location, touchLoc,
		func() { r.After.Location = expected.Location }, local.Location, expected.Location, RuleLocation)
	if local.OnHold != expected.OnHold {
		rule, before, after := RuleOnHold, "not on hold", "on hold"
		if !expected.OnHold {
			rule, before, after = RuleReleased, "on hold", "not on hold"
		}
		differ(app.FieldOnHold, false, false, false, func() { r.After.OnHold = expected.OnHold }, before, after, rule)
	} else if pinned(app.FieldOnHold) {
		plan.Unpin = append(plan.Unpin, Unpin{Label: p.Label, Field: app.FieldOnHold})
	}
	if len(r.Changes) > 0 {
		plan.Repairs = append(plan.Repairs, r)
	}
}

// applyEffect adds one pending change to a view of the package.
func applyEffect(s *app.PackageState, e effect) {
	switch {
	case e.hasDelta:
		s.Quantity += e.delta
	case e.location != "":
		s.Location = e.location
	case e.finish:
		s.Finished = true
	}
}

// pendingView returns expected only when pending jobs made it differ from
// Metrc's own view (so the audit feed shows a third column only then).
func pendingView(expected *app.PackageState, rest []effect) *app.PackageState {
	if len(rest) == 0 {
		return nil
	}
	return clone(expected)
}

func stateOf(c *app.PackageCreate) *app.PackageState {
	return &app.PackageState{Item: c.Item, Quantity: c.Quantity, Unit: c.UnitOfMeasure, Location: c.Location}
}

func clone(s *app.PackageState) *app.PackageState {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// eq compares quantities, forgiving float noise from summed adjustments.
func eq(a, b float64) bool {
	return math.Abs(a-b) <= 1e-6*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func fmtQty(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }

// render writes a whole record for the repair log.
func render(s app.PackageState) string {
	out := s.Item + ", " + fmtQty(s.Quantity) + " " + s.Unit
	if s.Location != "" {
		out += " at " + s.Location
	}
	if s.OnHold {
		out += ", on hold"
	}
	return out
}
