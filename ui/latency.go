package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"tracesync/app"
)

// spans offered on the response-time screen: how far back, the step, and
// whether hourly roll-ups are read.
var latencySpans = []struct {
	name  string
	back  time.Duration
	step  time.Duration
	hours bool
}{
	{"Last hour", time.Hour, time.Minute, false},
	{"Last day", 24 * time.Hour, 15 * time.Minute, false},
	{"Last week", 7 * 24 * time.Hour, time.Hour, true},
	{"Last 30 days", 30 * 24 * time.Hour, 6 * time.Hour, true},
}

// latencyScreen charts Metrc's response times per license.
type latencyScreen struct {
	st    latencyReader
	clock app.Clock
	zone  func(string) *time.Location
	win   func() fyne.Window

	license *widget.Select
	span    *widget.RadioGroup
	chart   *latencyChart
	summary *widget.Label

	every    time.Duration // reload period while visible
	stopTick func()        // stops the reload ticker; nil when not running
}

func newLatencyScreen(st latencyReader, clock app.Clock, zone func(string) *time.Location, win func() fyne.Window) *latencyScreen {
	return &latencyScreen{st: st, clock: clock, zone: zone, win: win, every: 30 * time.Second}
}

// setVisible reloads the chart every s.every while the screen is the
// visible section, and stops when it is not (UI goroutine).
func (s *latencyScreen) setVisible(ctx context.Context, on bool) {
	if !on {
		if s.stopTick != nil {
			s.stopTick()
			s.stopTick = nil
		}
		return
	}
	if s.stopTick != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	// the loop only queues work with fyne.Do, so waiting for it is short
	s.stopTick = func() { cancel(); <-done }
	go func() {
		defer close(done)
		t := time.NewTicker(s.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				do(func() {
					if ctx.Err() == nil { // not hidden meanwhile
						s.load()
					}
				})
			}
		}
	}()
}

func (s *latencyScreen) build() fyne.CanvasObject {
	s.license = widget.NewSelect([]string{allLicenses}, func(string) { s.load() })
	s.license.SetSelected(allLicenses)
	names := make([]string, len(latencySpans))
	for i, sp := range latencySpans {
		names[i] = sp.name
	}
	s.span = widget.NewRadioGroup(names, func(string) { s.load() })
	s.span.Horizontal = true
	s.span.SetSelected(names[0])
	s.chart = newLatencyChart()
	s.summary = widget.NewLabel("")
	s.summary.Wrapping = fyne.TextWrapWord
	s.load()
	top := container.NewVBox(container.NewHBox(s.license, s.span), s.summary)
	return container.NewBorder(top, widget.NewLabel("Shaded: Metrc outages (calls failing)."), nil, nil, s.chart)
}

func (s *latencyScreen) setLicenses(ls []string) {
	if s.license == nil {
		return
	}
	s.license.Options = append([]string{allLicenses}, ls...)
	s.license.Refresh()
}

func (s *latencyScreen) load() {
	if s.chart == nil || s.span == nil || s.license == nil || s.st == nil {
		return
	}
	lic := s.license.Selected
	opts := s.license.Options
	if lic == allLicenses {
		lic = ""
	}
	idx := 0
	for i, sp := range latencySpans {
		if sp.name == s.span.Selected {
			idx = i
		}
	}
	async(func() {
		now := s.clock.Now()
		if lic != "" {
			now = now.In(s.zone(lic))
		} else {
			now = now.In(s.sharedZone(opts))
		}
		pts, outs, err := latencySeries(s.st, lic, idx, now)
		sp := latencySpans[idx]
		do(func() {
			if err != nil {
				s.summary.SetText(errorLine("Response times could not be read", err))
				return
			}
			s.chart.setData(now.Add(-sp.back), now, pts, outs)
			s.summary.SetText(latencySummary(pts, outs))
		})
	})
}

// latencySeries merges the stored histogram rows into steps, so each
// step's percentiles are computed from its whole histogram.
func latencySeries(st latencyReader, license string, idx int, now time.Time) ([]latencyPoint, []outageSpan, error) {
	sp := latencySpans[idx]
	from := now.Add(-sp.back).Truncate(sp.step)
	var rows []app.LatencyRow
	var err error
	if sp.hours {
		rows, err = st.LatencyHours(license, from, now)
	} else {
		rows, err = st.LatencyMinutes(license, from, now)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("latency: %w", err)
	}
	n := int(now.Sub(from)/sp.step) + 1
	steps := make([]app.LatencyRow, n)
	for _, r := range rows {
		i := int(r.At.Sub(from) / sp.step)
		if i >= 0 && i < n {
			steps[i].Merge(r)
		}
	}
	pts := make([]latencyPoint, n)
	for i, r := range steps {
		p := latencyPoint{At: from.Add(time.Duration(i) * sp.step), Count: r.Count}
		if r.Count > 0 {
			p.P50, p.P95 = r.Quantile(0.5), r.Quantile(0.95)
			p.ErrorRate = float64(r.Errors) / float64(r.Count)
		}
		pts[i] = p
	}
	ws, err := st.Outages(license, from, now)
	if err != nil {
		return pts, nil, fmt.Errorf("outages: %w", err)
	}
	outs := make([]outageSpan, len(ws))
	for i, w := range ws {
		outs[i] = outageSpan{From: w.Start, To: w.End}
	}
	return pts, outs, nil
}

func latencySummary(pts []latencyPoint, outs []outageSpan) string {
	calls, errs := 0, 0
	var p95 time.Duration
	for _, p := range pts {
		calls += p.Count
		errs += int(p.ErrorRate*float64(p.Count) + 0.5)
		if p.P95 > p95 {
			p95 = p.P95
		}
	}
	if calls == 0 {
		return "No calls to Metrc in this period."
	}
	return fmt.Sprintf("%s, %s failed (%.1f%%), worst p95 %s, %s.", plural(calls, "call", "calls"), app.Thousands(errs),
		100*float64(errs)/float64(calls), p95.Round(10*time.Millisecond), plural(len(outs), "outage", "outages"))
}

// sharedZone is the zone of "All licenses": the licenses' own when they
// share one (a business in one state), else this computer's.
func (s *latencyScreen) sharedZone(opts []string) *time.Location {
	var z *time.Location
	for _, o := range opts {
		if o == allLicenses {
			continue
		}
		switch lz := s.zone(o); {
		case z == nil:
			z = lz
		case lz.String() != z.String():
			return time.Local
		}
	}
	if z == nil {
		return time.Local
	}
	return z
}
