package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tracesync/app"
)

// pullOverlap is how far back each change window reaches before the end of
// the last one, so a record modified at the edge is not missed.
const pullOverlap = time.Minute

// pullLoop pulls a license at once, then every PullInterval and on kicks.
func (e *Engine) pullLoop(ctx context.Context, ls *licState) error {
	ticker := time.NewTicker(e.p.PullInterval)
	defer ticker.Stop()
	for {
		e.pullOnce(ctx, ls)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-ls.pullKick:
		}
	}
}

// pullOnce fetches what changed since the last pull (a full refresh when
// due), the reference data when due, stores it and calls AfterPull.
func (e *Engine) pullOnce(ctx context.Context, ls *licState) {
	num := ls.lic.Number
	e.mu.Lock()
	paused := ls.lic.Paused || ls.ps.Paused
	ps := ls.ps
	e.mu.Unlock()
	if paused {
		return
	}
	now := e.now()
	if err := e.pullChanges(ctx, num, now, &ps); err != nil {
		if ctx.Err() == nil {
			e.pullFailed(ls, err)
		}
		return
	}
	refErr := error(nil)
	if ps.LastRefData.IsZero() || now.Sub(ps.LastRefData) >= e.p.RefDataInterval {
		refErr = e.pullRefData(ctx, num, now)
		if refErr == nil {
			ps.LastRefData = now
		}
	}
	e.mu.Lock()
	ls.ps.LastPackages, ls.ps.LastTransfers, ls.ps.LastPullOK = ps.LastPackages, ps.LastTransfers, ps.LastPullOK
	ls.ps.LastFullRefresh, ls.ps.LastRefData = ps.LastFullRefresh, ps.LastRefData
	ls.ps.Packages, ls.ps.Transfers = ps.Packages, ps.Transfers
	first := !ls.pulledSinceStart
	ls.pulledSinceStart = true
	e.mu.Unlock()
	if err := e.savePullState(ls); err != nil {
		e.log.Error("save pull state", "license", num, "err", err)
	}
	e.answered(ls, false, fromPull)
	if refErr != nil && ctx.Err() == nil {
		e.pullFailed(ls, refErr)
	}
	if first {
		e.log.Info("first pull done", "license", num, "packages", ps.Packages, "transfers", ps.Transfers)
	}
	kick(e.healthKick)
	if e.p.AfterPull != nil && ctx.Err() == nil {
		e.p.AfterPull(ctx, num)
	}
}

func (e *Engine) pullFailed(ls *licState, err error) {
	if isStoreErr(err) {
		e.log.Error("pull", "license", ls.lic.Number, "err", err)
		return
	}
	me := asMetrcError(err)
	switch {
	case me.Class == app.ClassAuth:
		e.credentialsRejected(ls, err)
	case transient(err):
		e.failed(ls, err)
	case me.Class == app.ClassRateLimited:
		e.holdFor(ls, me)
		e.noteFailure(ls, err)
	default:
		e.noteFailure(ls, err)
	}
}

// pullChanges fetches packages (active and inactive) and incoming transfers
// changed since the last pull and saves the packages as Metrc's snapshot,
// pulled at now. It updates ps only on success.
func (e *Engine) pullChanges(ctx context.Context, license string, now time.Time, ps *app.PullState) error {
	m := e.p.Metrc
	full := ps.LastFullRefresh.IsZero() || now.Sub(ps.LastFullRefresh) >= e.p.FullRefresh
	from := windowStart(ps.LastPackages, now)
	var pkgs []app.MetrcPackage
	var err error
	if full {
		// Every active package; inactive ones only since the last pull
		// (all of history would be the whole license's past).
		pkgs, err = m.Packages(ctx, license, true, time.Time{}, time.Time{})
	} else {
		pkgs, err = m.Packages(ctx, license, true, from, now)
	}
	if err != nil {
		return fmt.Errorf("pull active packages: %w", err)
	}
	inactive, err := m.Packages(ctx, license, false, from, now)
	if err != nil {
		return fmt.Errorf("pull inactive packages: %w", err)
	}
	pkgs = append(pkgs, inactive...)
	transfers, err := m.IncomingTransfers(ctx, license, windowStart(ps.LastTransfers, now), now)
	if err != nil {
		return fmt.Errorf("pull incoming transfers: %w", err)
	}
	if err := e.st.SaveSnapshots(license, now, pkgs); err != nil {
		return fmt.Errorf("save snapshots: %w", errStore{err})
	}
	if err := e.st.SaveTransfers(license, now, transfers); err != nil {
		return fmt.Errorf("save transfers: %w", errStore{err})
	}
	ps.LastPackages, ps.LastTransfers, ps.LastPullOK = now, now, now
	if full {
		ps.LastFullRefresh = now
	}
	ps.Packages, ps.Transfers = len(pkgs), len(transfers)
	return nil
}

// windowStart is where a change window begins: just before the end of the
// last one, or a day back before the first pull.
func windowStart(last, now time.Time) time.Time {
	if last.IsZero() {
		return now.Add(-24 * time.Hour)
	}
	return last.Add(-pullOverlap)
}

// pullRefData fetches items, locations and units.
func (e *Engine) pullRefData(ctx context.Context, license string, now time.Time) error {
	m := e.p.Metrc
	items, err := m.Items(ctx, license)
	if err != nil {
		return fmt.Errorf("pull items: %w", err)
	}
	locs, err := m.Locations(ctx, license)
	if err != nil {
		return fmt.Errorf("pull locations: %w", err)
	}
	units, err := m.Units(ctx)
	if err != nil {
		return fmt.Errorf("pull units: %w", err)
	}
	if err := e.st.PutRefData(license, app.RefData{Items: items, Locations: locs, Units: units, Pulled: now}); err != nil {
		return fmt.Errorf("save reference data: %w", errStore{err})
	}
	return nil
}

// errStore marks a local storage failure, which says nothing about Metrc.
type errStore struct{ err error }

func (e errStore) Error() string { return "local store: " + e.err.Error() }
func (e errStore) Unwrap() error { return e.err }

func isStoreErr(err error) bool {
	var s errStore
	return errors.As(err, &s)
}
