package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"tracesync/app"
)

// healthInput is everything rule 6 looks at for one license.
type healthInput struct {
	lic          app.License
	now          time.Time
	th           Thresholds
	pausedReason string // "" when not paused by Metrc
	connecting   bool   // no pull done or failed since start
	staleFrom    time.Time
	ps           app.PullState
	stats        app.JobStats
	p95          time.Duration
	calls        int // calls in the p95 window
}

// computeHealth applies DESIGN.md rule 6: the most severe applicable state
// wins and gives the reason; every applicable state adds detail lines.
func computeHealth(in healthInput) app.Health {
	loc := in.lic.Location() // times read in the license's zone, as its staff do
	h := app.Health{License: in.lic.Number, Name: in.lic.Name, LastPullOK: in.ps.LastPullOK.In(loc)}
	by := in.stats.ByState
	h.NeedsAttention = by[app.StateNeedsAttention]
	h.Pending = in.stats.Unfinished() - h.NeedsAttention
	if h.Pending > 0 || h.NeedsAttention > 0 {
		h.OldestPending = in.stats.OldestUnfinished.In(loc)
	}
	waiting := in.stats.Unfinished()
	// The outage line counts what will go by itself (as the banner does);
	// records needing a person have their own line, so "nothing to do"
	// only when there are none.
	savedLine := "Nothing of yours is waiting to be sent."
	if h.Pending > 0 {
		savedLine = fmt.Sprintf("Your %s saved here and will be sent when Metrc is back.", records(h.Pending))
	}
	if h.NeedsAttention == 0 {
		savedLine += " Nothing to do."
	}

	// grey: a person's pause wins over everything.
	if in.lic.Paused {
		h.Color, h.Reason = app.Grey, "Paused"
		h.Details = []string{"Paused by a person: nothing is sent to or fetched from Metrc until you resume.",
			fmt.Sprintf("%s waiting here.", capFirst(records(waiting)))}
		return h
	}

	type finding struct {
		color   app.Color
		reason  string
		details []string
	}
	var fs []finding
	add := func(c app.Color, reason string, details ...string) {
		fs = append(fs, finding{c, reason, details})
	}

	if in.pausedReason != "" {
		msg := in.ps.LastFailureMsg
		if msg == "" {
			msg = "Metrc rejected the credentials"
		}
		add(app.Red, "Metrc rejected the credentials",
			msg+".",
			"Sending and fetching are paused for this license. Check the user key in Settings, then resume the license.",
			savedLine)
	}
	stale := in.ps.LastPullOK
	if stale.IsZero() {
		stale = in.staleFrom
	}
	if !in.connecting && in.pausedReason == "" && !stale.IsZero() && in.now.Sub(stale) > in.th.PullStale {
		cause := ""
		if in.ps.LastFailureMsg != "" {
			cause = " (" + in.ps.LastFailureMsg + ")"
		}
		what := "No packages or transfers fetched for " + app.Span(in.now.Sub(stale))
		if in.ps.LastPullOK.IsZero() {
			what = "No packages or transfers fetched since the start " + app.Span(in.now.Sub(stale)) + " ago"
		}
		add(app.Red, "The Metrc API is down", what+cause+".", savedLine)
		h.APIDown = true
	}
	if waiting > 0 && !in.stats.OldestBusiness.IsZero() {
		deadline := in.stats.OldestBusiness.Add(in.th.Deadline)
		if left := deadline.Sub(in.now); left <= in.th.DeadlineWarn {
			line := fmt.Sprintf("A record from %s must reach Metrc by %s", clock(in.stats.OldestBusiness, loc), clock(deadline, loc))
			if left > 0 {
				line += " (in " + app.Span(left) + ")."
			} else {
				line += " (" + app.Span(-left) + " ago)."
			}
			add(app.Red, "A record is close to its 24-hour deadline", line)
		}
	}
	if in.connecting {
		add(app.Grey, "Connecting…", "Not yet fetched from Metrc since the start.")
	}
	if !in.ps.LastFailure.IsZero() && in.now.Sub(in.ps.LastFailure) <= in.th.RecentFailure {
		msg := in.ps.LastFailureMsg
		if msg == "" {
			msg = "a call failed"
		}
		add(app.Orange, "A Metrc call failed recently",
			fmt.Sprintf("Last failure %s: %s.", ago(in.now.Sub(in.ps.LastFailure)), msg))
	}
	if in.calls > 0 && in.p95 > in.th.SlowP95 {
		add(app.Orange, "Metrc is slow",
			fmt.Sprintf("95%% of Metrc's answers took up to %s over the last %s.", secs(in.p95), app.Span(in.th.SlowWindow)))
	}
	if n := by[app.StateRetrying] + by[app.StateUnknown]; n > 0 {
		add(app.Orange, fmt.Sprintf("%s waiting to be retried", capFirst(records(n))),
			fmt.Sprintf("%s waiting to be sent again (%d being checked in Metrc first).", capFirst(records(n)), by[app.StateUnknown]))
	}
	if n := by[app.StateNeedsAttention]; n > 0 {
		add(app.Orange, fmt.Sprintf("%s need%s attention", capFirst(records1(n)), plural1(n)),
			fmt.Sprintf("%s need%s a person: see the queue.", capFirst(records1(n)), plural1(n)))
	}
	if h.Pending > 0 && !in.stats.OldestUnfinished.IsZero() && in.now.Sub(in.stats.OldestUnfinished) > in.th.OldestPending {
		add(app.Orange, "Records are waiting",
			fmt.Sprintf("The oldest record has waited %s.", app.Span(in.now.Sub(in.stats.OldestUnfinished))))
	}

	rank := func(c app.Color) int {
		switch c {
		case app.Red:
			return 3
		case app.Grey:
			return 2 // "connecting…" until the first pull has an outcome
		case app.Orange:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(fs, func(a, b finding) int { return rank(b.color) - rank(a.color) })
	if len(fs) == 0 {
		h.Color, h.Reason = app.Green, "In step with Metrc"
		if !in.ps.LastPullOK.IsZero() {
			h.Details = append(h.Details, fmt.Sprintf("Last good pull %s (%s).", clock(in.ps.LastPullOK, loc), ago(in.now.Sub(in.ps.LastPullOK))))
		}
		h.Details = append(h.Details, fmt.Sprintf("%s waiting to be sent.", capFirst(records(h.Pending))))
		return h
	}
	h.Color, h.Reason = fs[0].color, fs[0].reason
	seen := map[string]bool{}
	for _, f := range fs {
		for _, d := range f.details {
			if !seen[d] {
				seen[d] = true
				h.Details = append(h.Details, d)
			}
		}
	}
	if !in.ps.LastPullOK.IsZero() && !h.APIDown {
		h.Details = append(h.Details, fmt.Sprintf("Last good pull %s (%s).", clock(in.ps.LastPullOK, loc), ago(in.now.Sub(in.ps.LastPullOK))))
	}
	return h
}

// healthLoop recomputes health on every change and every HealthInterval
// (thresholds are crossed by time alone) and publishes the changes.
func (e *Engine) healthLoop(ctx context.Context) error {
	ticker := time.NewTicker(e.p.HealthInterval)
	defer ticker.Stop()
	for {
		e.refreshHealth()
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-e.healthKick:
		}
	}
}

// refreshHealth computes every license's health, logs changes of colour
// or reason once, and calls the subscribers when anything changed.
func (e *Engine) refreshHealth() {
	now := e.now()
	var next []app.Health
	for _, num := range e.order {
		e.mu.Lock()
		ls := e.lics[num]
		in := healthInput{lic: ls.lic, now: now, th: e.p.Thresholds, ps: ls.ps, staleFrom: e.start,
			connecting: !ls.pulledSinceStart && !ls.failedSinceStart && ls.ps.LastFailure.Before(e.start)}
		if ls.ps.Paused {
			in.pausedReason = ls.ps.PausedReason
		}
		e.mu.Unlock()
		st, err := e.st.Stats(num)
		if err != nil {
			e.log.Error("job stats", "license", num, "err", err)
		}
		in.stats = st
		in.p95, in.calls = e.mon.P95(num, now.Add(-e.p.Thresholds.SlowWindow))
		next = append(next, computeHealth(in))
	}

	e.mu.Lock()
	changed := false
	type logLine struct {
		h    app.Health
		prev app.Color
	}
	var logs []logLine
	for i := range next {
		h := &next[i]
		prev, ok := e.health[h.License]
		if ok && prev.Color == h.Color && prev.Reason == h.Reason {
			h.Since = prev.Since
		} else {
			h.Since = now
			logs = append(logs, logLine{*h, prev.Color})
		}
		if !ok || !sameHealth(prev, *h) {
			changed = true
		}
		e.health[h.License] = *h
	}
	var subs []func([]app.Health)
	if changed {
		for _, id := range slices.Sorted(maps.Keys(e.subs)) {
			subs = append(subs, e.subs[id])
		}
	}
	e.mu.Unlock()
	for _, l := range logs {
		e.log.Info("health changed", "license", l.h.License, "color", l.h.Color.String(), "was", l.prev.String(), "reason", l.h.Reason)
	}
	for _, fn := range subs {
		fn(cloneHealth(next))
	}
}

func sameHealth(a, b app.Health) bool {
	return a.Color == b.Color && a.Reason == b.Reason && slices.Equal(a.Details, b.Details) &&
		a.Pending == b.Pending && a.NeedsAttention == b.NeedsAttention && a.APIDown == b.APIDown &&
		a.LastPullOK.Equal(b.LastPullOK) && a.OldestPending.Equal(b.OldestPending)
}

func cloneHealth(hs []app.Health) []app.Health {
	out := slices.Clone(hs)
	for i := range out {
		out[i].Details = slices.Clone(out[i].Details)
	}
	return out
}

// Health returns every license's health, sorted by license.
func (e *Engine) Health() []app.Health {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]app.Health, 0, len(e.order))
	for _, num := range e.order {
		if h, ok := e.health[num]; ok {
			out = append(out, h)
		}
	}
	return cloneHealth(out)
}

// Subscribe calls fn (on the engine's health goroutine, never the UI's)
// with every license's health whenever any of it changes. fn must return
// quickly. cancel stops the calls.
func (e *Engine) Subscribe(fn func([]app.Health)) (cancel func()) {
	e.mu.Lock()
	id := e.nextSub
	e.nextSub++
	e.subs[id] = fn
	e.mu.Unlock()
	return func() {
		e.mu.Lock()
		delete(e.subs, id)
		e.mu.Unlock()
	}
}

// APIDown reports whether every active (not paused, credentials not
// rejected) license is red because
// no pull succeeded for too long, and since when that is so.
func (e *Engine) APIDown() (down bool, since time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	active := 0
	for _, num := range e.order {
		ls := e.lics[num]
		if ls.lic.Paused || ls.ps.Paused {
			continue
		}
		active++
		h := e.health[num]
		if !h.APIDown {
			return false, time.Time{}
		}
		if h.Since.After(since) {
			since = h.Since
		}
	}
	return active > 0, since
}

// HealthFromStore computes health from what the store holds, for
// `tracesync status` when no engine runs: there is no "since start", so a
// license never pulled is grey ("Not yet pulled").
func HealthFromStore(s Store, licenses []app.License, now time.Time, th Thresholds) ([]app.Health, error) {
	th = th.withDefaults()
	out := make([]app.Health, 0, len(licenses))
	for _, l := range licenses {
		ps, err := s.PullState(l.Number)
		if err != nil && !errors.Is(err, app.ErrNotFound) {
			return nil, fmt.Errorf("health of %s: %w", l.Number, err)
		}
		st, err := s.Stats(l.Number)
		if err != nil {
			return nil, fmt.Errorf("health of %s: %w", l.Number, err)
		}
		rows, err := s.LatencyMinutes(l.Number, now.Add(-th.SlowWindow), now.Add(time.Minute))
		if err != nil {
			return nil, fmt.Errorf("health of %s: %w", l.Number, err)
		}
		var sum app.LatencyRow
		for _, r := range rows {
			sum.Merge(r)
		}
		in := healthInput{lic: l, now: now, th: th, ps: ps, stats: st, p95: sum.Quantile(0.95), calls: sum.Count}
		if ps.Paused {
			in.pausedReason = ps.PausedReason
		}
		h := computeHealth(in)
		if ps.LastPullOK.IsZero() && ps.LastFailure.IsZero() && !l.Paused {
			h.Color, h.Reason = app.Grey, "Not yet pulled"
			h.Details = append([]string{"tracesync has not fetched this license from Metrc yet."}, h.Details...)
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b app.Health) int { return strings.Compare(a.License, b.License) })
	return out, nil
}

// Words for the hover text.

func records(n int) string {
	if n == 1 {
		return "1 record is"
	}
	return app.Thousands(n) + " records are"
}

func records1(n int) string {
	if n == 1 {
		return "1 record"
	}
	return app.Thousands(n) + " records"
}

func plural1(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func capFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func ago(d time.Duration) string {
	if d < time.Minute {
		return "just now"
	}
	return app.Span(d) + " ago"
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// clock renders an instant in the license's zone: "14:05" today-ish, with
// the date otherwise.
func clock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Jan 2 15:04")
}
