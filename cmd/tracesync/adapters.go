// Adapters from the CLI's parts to the desktop UI's ports.

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"tracesync/app"
	"tracesync/app/control"
	"tracesync/app/demo"
	"tracesync/app/engine"
	"tracesync/app/importcsv"
	"tracesync/app/reconcile"
	"tracesync/store"
	"tracesync/ui"
)

// importer adapts the control backend (importcsv + the engine) to the
// Import screen.
type importer struct{ b *control.Backend }

func (i importer) Import(ctx context.Context, kind string, r io.Reader, progress func(rows int)) (ui.ImportSummary, error) {
	k, err := importcsv.ParseKind(kind)
	if err != nil {
		return ui.ImportSummary{}, err
	}
	res, err := i.b.ImportProgress(k, r, progress)
	if err != nil {
		return ui.ImportSummary{}, err
	}
	s := ui.ImportSummary{Rows: res.Rows, Queued: res.Queued, Skipped: res.Skipped}
	for _, p := range res.Problems {
		s.Problems = append(s.Problems, ui.ImportProblem{Line: p.Line, Msg: p.Msg})
	}
	if res.MoreProblems > 0 {
		s.Problems = append(s.Problems, ui.ImportProblem{Msg: fmt.Sprintf("... and %d more problems", res.MoreProblems)})
	}
	for _, k := range res.Conflicts {
		s.Problems = append(s.Problems, ui.ImportProblem{Msg: k + " is already queued with different content"})
	}
	for _, w := range res.Warnings {
		s.Warnings = append(s.Warnings, ui.ImportProblem{Line: w.Line, Msg: w.Msg})
	}
	return s, nil
}

// demoPanel adapts the demo simulator to the Demo screen.
type demoPanel struct {
	d     *demo.Demo
	q     demo.Enqueuer
	inv   app.PackageStore
	reset func() error // starts the demo over, store included
}

func (p demoPanel) SetOutage(on bool)        { p.d.Toggle("outage", on) }
func (p demoPanel) SetSlow(on bool)          { p.d.Toggle("slow", on) }
func (p demoPanel) Set429(on bool)           { p.d.Toggle("429", on) }
func (p demoPanel) Set500(on bool)           { p.d.Toggle("500", on) }
func (p demoPanel) SetLostResponses(on bool) { p.d.Toggle("lost", on) }
func (p demoPanel) Reset() error             { return p.reset() }

// SalesRunning tells the Demo screen whether the sales generator runs.
func (p demoPanel) SalesRunning() bool { return p.d.SalesRunning() }

func (p demoPanel) SetSales(on bool) {
	if on {
		p.d.StartSalesTo(p.q, p.inv, 0)
	} else {
		p.d.StopSales()
	}
}

// auditChecker adapts the reconciler's RunNow to the audit screen's
// "Check now".
type auditChecker struct {
	r *reconcile.Reconciler
	e *engine.Engine // nil: compare with the last pulled snapshot
}

// checkPullWait bounds how long "Check now" waits for a fresh pull: during
// an outage the pull fails and the last snapshot is compared instead.
const checkPullWait = 20 * time.Second

// CheckNow pulls the license's packages first, so the comparison sees what
// Metrc holds now rather than up to a pull interval ago, then reconciles.
func (c auditChecker) CheckNow(ctx context.Context, license string) (repairs, opened int, err error) {
	if c.e != nil {
		c.pullFirst(ctx, license)
	}
	res, err := c.r.RunNow(ctx, license)
	return len(res.Repairs), res.Opened, err
}

// pullFirst asks the engine for a pull and waits until it succeeded or
// failed (the pull state moves), or checkPullWait passed.
func (c auditChecker) pullFirst(ctx context.Context, license string) {
	st := c.e.Store()
	before, _ := st.PullState(license)
	c.e.PullNow(license)
	ctx, cancel := context.WithTimeout(ctx, checkPullWait)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ps, err := st.PullState(license)
			if err == nil && (ps.LastPullOK.After(before.LastPullOK) || ps.LastFailure.After(before.LastFailure)) {
				return
			}
		}
	}
}

// realSettings edits the settings and licenses of the real data folder
// while the app runs a demo because Metrc is not set up yet, so what a
// person sets up there is what the real run starts with. Each call opens
// the store briefly: while the demo runs nothing else holds it, unless
// `tracesync run` does, and then the call says so.
type realSettings struct {
	dir string
	log *slog.Logger
}

func (r realSettings) with(f func(st *store.Store) error) error {
	st, err := openStore(r.dir, r.log)
	if err != nil {
		return err
	}
	err = f(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	return err
}

func (r realSettings) Licenses() (ls []app.License, err error) {
	err = r.with(func(st *store.Store) (e error) { ls, e = st.Licenses(); return e })
	return ls, err
}

func (r realSettings) PutLicense(l app.License) error {
	return r.with(func(st *store.Store) error { return st.PutLicense(l) })
}

func (r realSettings) Setting(key string, v any) error {
	return r.with(func(st *store.Store) error { return st.Setting(key, v) })
}

func (r realSettings) PutSetting(key string, v any) error {
	return r.with(func(st *store.Store) error { return st.PutSetting(key, v) })
}
