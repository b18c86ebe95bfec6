package ui

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"tracesync/app"
)

func latencyRows() []app.LatencyRow {
	var rows []app.LatencyRow
	from := testNow.Add(-time.Hour).Truncate(time.Minute)
	for i := 0; i < 60; i++ {
		r := app.LatencyRow{License: "CML-000001", Endpoint: "GET /packages/v2/active", At: from.Add(time.Duration(i) * time.Minute)}
		for k := 0; k < 20; k++ {
			d := 200 * time.Millisecond
			if k >= 18 {
				d = 3 * time.Second
			}
			if i >= 20 && i < 30 { // an outage: slow and failing
				d = 30 * time.Second
			}
			r.Add(d, i >= 20 && i < 30)
		}
		rows = append(rows, r)
	}
	return rows
}

func TestLatencySeriesPercentilesAndOutages(t *testing.T) {
	st := &fakeStore{lat: latencyRows(), outs: []app.OutageWindow{{License: "CML-000001",
		Start: testNow.Add(-40 * time.Minute), End: testNow.Add(-30 * time.Minute)}}}
	pts, outs, err := latencySeries(st, "CML-000001", 0, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 61 || len(outs) != 1 {
		t.Fatalf("%d points, %d outages", len(pts), len(outs))
	}
	p := pts[5]
	if p.P50 != 200*time.Millisecond || p.P95 != 3*time.Second || p.ErrorRate != 0 {
		t.Errorf("normal minute %+v", p)
	}
	if q := pts[25]; q.ErrorRate != 1 || q.P95 != 30*time.Second {
		t.Errorf("outage minute %+v", q)
	}
	// the day view merges 15 minutes of histograms, never averages p95s
	day, _, _ := latencySeries(st, "CML-000001", 1, testNow)
	var merged int
	for _, d := range day {
		merged += d.Count
	}
	if merged != 60*20 {
		t.Errorf("day view counts %d calls", merged)
	}
	if s := latencySummary(pts, outs); !strings.Contains(s, "1,200 calls, 200 failed") {
		t.Errorf("summary %q", s)
	}
}

func TestLatencyChartGolden(t *testing.T) {
	test.NewTempApp(t)
	st := &fakeStore{lat: latencyRows()}
	pts, _, _ := latencySeries(st, "CML-000001", 0, testNow)
	c := newLatencyChart()
	c.setData(testNow.Add(-time.Hour), testNow, pts, []outageSpan{{From: testNow.Add(-40 * time.Minute), To: testNow.Add(-30 * time.Minute)}})
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(600, 260))
	test.AssertRendersToImage(t, "latency_chart.png", w.Canvas())
}

func TestLatencyScreenLoads(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{lat: latencyRows()}
	s := newLatencyScreen(st, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	test.NewTempWindow(t, s.build())
	s.setLicenses([]string{"CML-000001"})
	s.license.SetSelected("CML-000001")
	s.span.SetSelected("Last week")
	if !strings.Contains(s.summary.Text, "calls") || len(s.chart.points) != 7*24+1 {
		t.Errorf("summary %q, %d points", s.summary.Text, len(s.chart.points))
	}
}

func TestLatencyAxisTop(t *testing.T) {
	for _, c := range []struct{ p95, top time.Duration }{
		{0, 100 * time.Millisecond}, {40 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 100 * time.Millisecond}, {120 * time.Millisecond, 200 * time.Millisecond},
		{350 * time.Millisecond, 500 * time.Millisecond}, {900 * time.Millisecond, time.Second},
		{2400 * time.Millisecond, 3 * time.Second}, {30 * time.Second, 30 * time.Second},
		{31 * time.Second, 50 * time.Second},
	} {
		if got := axisTop(c.p95); got != c.top {
			t.Errorf("axisTop(%s) = %s, want %s", c.p95, got, c.top)
		}
	}
}

// countingLatency counts the reads of the response-time screen.
type countingLatency struct {
	*fakeStore
	reads atomic.Int32
}

func (c *countingLatency) LatencyMinutes(license string, from, to time.Time) ([]app.LatencyRow, error) {
	c.reads.Add(1)
	return c.fakeStore.LatencyMinutes(license, from, to)
}

func TestLatencyScreenRefreshesOnlyWhileVisible(t *testing.T) {
	test.NewTempApp(t)
	syncAsync(t)
	cl := &countingLatency{fakeStore: &fakeStore{lat: latencyRows()}}
	s := newLatencyScreen(cl, fixedClock{testNow}, func(string) *time.Location { return time.UTC }, func() fyne.Window { return nil })
	s.every = 5 * time.Millisecond
	test.NewTempWindow(t, s.build())
	base := cl.reads.Load()
	s.setVisible(context.Background(), true)
	s.setVisible(context.Background(), true) // shown again: still one ticker
	deadline := time.Now().Add(5 * time.Second)
	for cl.reads.Load() < base+3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s.setVisible(context.Background(), false) // waits for the ticker to end
	n := cl.reads.Load()
	if n < base+3 {
		t.Fatalf("%d reloads while visible", n-base)
	}
	time.Sleep(30 * time.Millisecond)
	if m := cl.reads.Load(); m != n || s.stopTick != nil {
		t.Errorf("%d reloads after the screen was hidden", m-n)
	}
}

func TestUIRunsLatencyTickerOnlyOnItsSection(t *testing.T) {
	a := test.NewTempApp(t)
	syncAsync(t)
	st := &fakeStore{}
	u := New(a, Params{Engine: newFakeEngine(st), Store: st, Clock: fixedClock{testNow}})
	defer u.close()
	u.latency.every = time.Hour // the ticker's start and stop only
	u.show(SecLatency)
	if u.latency.stopTick == nil {
		t.Error("no refresh while the response times are shown")
	}
	u.show(SecStatus)
	if u.latency.stopTick != nil {
		t.Error("refresh still running on another section")
	}
}

func TestAllLicensesZone(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	ny, _ := time.LoadLocation("America/New_York")
	zones := map[string]*time.Location{"A": la, "B": la, "C": ny}
	s := newLatencyScreen(nil, fixedClock{testNow}, func(l string) *time.Location { return zones[l] }, func() fyne.Window { return nil })
	if z := s.sharedZone([]string{allLicenses, "A", "B"}); z.String() != "America/Los_Angeles" {
		t.Errorf("licenses in one zone: %v", z)
	}
	if z := s.sharedZone([]string{allLicenses, "A", "C"}); z != time.Local {
		t.Errorf("licenses in two zones: %v, want this computer's", z)
	}
}
