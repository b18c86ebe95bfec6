package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

// TestSimLongOutageThenRecovery (loopback): Metrc answers 503, then drops
// connections, then hangs, then comes back. Everything queued meanwhile is
// delivered exactly once and the outage windows close.
func TestSimLongOutageThenRecovery(t *testing.T) {
	r := newRig(t, rigOptions{licenses: 2, timeout: 500 * time.Millisecond})
	const phase = 1500 * time.Millisecond
	r.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.Outage503})
	r.sim.Schedule(
		metrcsim.Phase{After: 0, Faults: metrcsim.Faults{Outage: metrcsim.Outage503}},
		metrcsim.Phase{After: phase, Faults: metrcsim.Faults{Outage: metrcsim.OutageDrop}},
		metrcsim.Phase{After: 2 * phase, Faults: metrcsim.Faults{Outage: metrcsim.OutageHang}},
		metrcsim.Phase{After: 3 * phase, Faults: metrcsim.Faults{}},
	)
	start := time.Now()
	r.run(t)
	var tags, exts []string
	for _, l := range r.lics {
		var jobs []app.Job
		for i := range 60 {
			ext := fmt.Sprintf("%s-R%03d", l.Number, i)
			exts = append(exts, l.Number+"|"+ext)
			jobs = append(jobs, r.receipt(t, l.Number, ext, 1))
		}
		for i := range 5 {
			tag := fmt.Sprintf("%s-T%03d", l.Number, i)
			tags = append(tags, l.Number+"|"+tag)
			jobs = append(jobs, r.assembly(t, l.Number, tag, 2, testItem))
		}
		r.enqueue(t, jobs...)
	}
	waitFor(t, 2*time.Minute, "every job done", func() bool {
		return r.count("LIC-A", app.StateDone) == 65 && r.count("LIC-B", app.StateDone) == 65
	})
	t.Logf("all 130 delivered %v after the start, %v after Metrc came back", time.Since(start).Round(time.Millisecond),
		(time.Since(start) - 3*phase).Round(time.Millisecond))
	for _, x := range exts {
		lic, ext, _ := strings.Cut(x, "|")
		if n := r.sim.CountReceipts(lic, ext); n != 1 {
			t.Errorf("receipt %s held %d times", ext, n)
		}
	}
	for _, x := range tags {
		lic, tag, _ := strings.Cut(x, "|")
		if n := r.sim.CountPackagesByTag(lic, tag); n != 1 {
			t.Errorf("package %s held %d times", tag, n)
		}
	}
	for _, l := range r.lics {
		ws, err := r.e.Outages(l.Number, start.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil || len(ws) == 0 {
			t.Fatalf("outages of %s = %v, %v", l.Number, ws, err)
		}
		for _, w := range ws {
			if w.End.IsZero() {
				t.Errorf("outage of %s still open: %+v", l.Number, w)
			}
		}
		t.Logf("%s outages: %+v", l.Number, ws)
	}
	st := r.sim.Stats()
	t.Logf("sim stats: %+v", st)
}

// TestSimAcceptThenDrop (loopback): half the writes are applied and their
// answers lost; verify-before-resend keeps every receipt and tag single.
func TestSimAcceptThenDrop(t *testing.T) {
	r := newRig(t, rigOptions{timeout: 2 * time.Second})
	r.sim.SetFaults(metrcsim.Faults{DropAfterApply: 0.5})
	var jobs []app.Job
	for i := range 60 {
		jobs = append(jobs, r.receipt(t, "LIC-A", fmt.Sprintf("D%03d", i), 1))
	}
	for i := range 12 {
		jobs = append(jobs, r.assembly(t, "LIC-A", fmt.Sprintf("DT%03d", i), 1, testItem))
	}
	r.enqueue(t, jobs...)
	r.run(t)
	waitFor(t, 2*time.Minute, "every job done", func() bool { return r.count("LIC-A", app.StateDone) == len(jobs) })
	for i := range 60 {
		if n := r.sim.CountReceipts("LIC-A", fmt.Sprintf("D%03d", i)); n != 1 {
			t.Errorf("receipt D%03d held %d times", i, n)
		}
	}
	for i := range 12 {
		if n := r.sim.CountPackagesByTag("LIC-A", fmt.Sprintf("DT%03d", i)); n != 1 {
			t.Errorf("package DT%03d held %d times", i, n)
		}
	}
	st := r.sim.Stats()
	if st.Dropped == 0 {
		t.Error("the simulator dropped nothing: the test proved nothing")
	}
	verified := 0
	page, _ := r.st.ListJobs(app.JobFilter{License: "LIC-A", Limit: 1000})
	for _, j := range page.Jobs {
		for _, a := range j.Attempts {
			if strings.HasPrefix(a.Outcome, "verified") {
				verified++
			}
		}
	}
	t.Logf("dropped answers: %d, verifications: %d", st.Dropped, verified)
}

// TestSimDoubleEntry: jobs whose send was cut short (left in sending by a
// crash) are verified at start: found with other values → needs-attention,
// found the same → done, not found → sent once.
func TestSimDoubleEntry(t *testing.T) {
	r := newRig(t, rigOptions{})
	lic := "LIC-A"
	// Someone entered R-DUP in Metrc with 2 units; our queued one has 1.
	if errs := r.cl.CreateReceipts(t.Context(), lic, []app.SalesReceipt{{
		SalesDateTime: time.Now().UTC().Format(app.SalesDateTimeLayout), SalesCustomerType: "Consumer", ExternalReceiptNumber: "R-DUP",
		Transactions: []app.SalesTransaction{{PackageLabel: srcLabel(lic), Quantity: 2, UnitOfMeasure: "Each", TotalAmount: 10}},
	}}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	r.sim.AddPackage(lic, metrcsim.SimPackage{Label: "TAG-DUP", Item: testItem, Quantity: 7, UnitOfMeasure: "Each", Location: testLocation, PackagedDate: "2026-01-01"})
	r.sim.AddPackage(lic, metrcsim.SimPackage{Label: "TAG-SAME", Item: testItem, Quantity: 5, UnitOfMeasure: "Each", Location: testLocation, PackagedDate: "2026-01-01"})
	ids := r.enqueue(t,
		r.receipt(t, lic, "R-DUP", 1),
		r.assembly(t, lic, "TAG-DUP", 5, testItem),
		r.assembly(t, lic, "TAG-SAME", 5, testItem),
		r.receipt(t, lic, "R-LOST", 1),
	)
	// The crash: taken for sending, never answered.
	for _, id := range ids {
		if _, err := r.st.Apply(app.Transition{ID: id, To: app.StateSending, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	r.run(t)
	waitFor(t, time.Minute, "verification settles every job", func() bool {
		return r.count(lic, app.StateNeedsAttention) == 2 && r.count(lic, app.StateDone) == 2
	})
	for i, want := range []app.JobState{app.StateNeedsAttention, app.StateNeedsAttention, app.StateDone, app.StateDone} {
		j := r.job(t, ids[i])
		if j.State != want {
			t.Errorf("job #%d (%s) = %s, want %s", j.ID, j.Key, j.State, want)
		}
		if want == app.StateNeedsAttention && !strings.Contains(j.Reason, "entered twice with differences") {
			t.Errorf("job #%d reason %q", j.ID, j.Reason)
		}
		t.Logf("#%d %s: %s %q", j.ID, j.Key, j.State, j.Reason)
	}
	if n := r.sim.CountReceipts(lic, "R-DUP"); n != 1 {
		t.Errorf("R-DUP held %d times, want 1 (never resent)", n)
	}
	if n := r.sim.CountReceipts(lic, "R-LOST"); n != 1 {
		t.Errorf("R-LOST held %d times, want 1", n)
	}
	if n := r.sim.CountPackagesByTag(lic, "TAG-SAME"); n != 1 {
		t.Errorf("TAG-SAME held %d times", n)
	}
}

// TestSimRejectedInBatch (loopback): one bad object in a batch of 10: it
// needs attention with Metrc's text, the 9 others are delivered, and a job
// reading its label waits "on #N".
func TestSimRejectedInBatch(t *testing.T) {
	r := newRig(t, rigOptions{})
	lic := "LIC-A"
	var jobs []app.Job
	for i := range 10 {
		item := testItem
		if i == 4 {
			item = "No Such Item"
		}
		jobs = append(jobs, r.assembly(t, lic, fmt.Sprintf("B%02d", i), 1, item))
	}
	jobs = append(jobs, receiptJob2(t, lic, "R-ON-BAD", "B04", 1))
	ids := r.enqueue(t, jobs...)
	r.run(t)
	waitFor(t, time.Minute, "9 done, 1 needs attention", func() bool {
		return r.count(lic, app.StateDone) == 9 && r.count(lic, app.StateNeedsAttention) == 1
	})
	bad := r.job(t, ids[4])
	if bad.State != app.StateNeedsAttention || !strings.Contains(bad.Reason, "Metrc rejected it") {
		t.Fatalf("bad job = %s %q", bad.State, bad.Reason)
	}
	a := bad.LastAttempt()
	if a.HTTPStatus != 400 || a.Message == "" || !strings.HasPrefix(bad.LastError(), "HTTP 400: ") {
		t.Errorf("bad job's attempt = %+v, lastError %q", a, bad.LastError())
	}
	t.Logf("Metrc's text: %q", bad.LastError())
	for i, id := range ids[:10] {
		if i == 4 {
			continue
		}
		if n := r.sim.CountPackagesByTag(lic, fmt.Sprintf("B%02d", i)); n != 1 {
			t.Errorf("B%02d held %d times", i, n)
		}
		if j := r.job(t, id); j.State != app.StateDone {
			t.Errorf("#%d = %s", id, j.State)
		}
	}
	if n := r.sim.Stats().Requests["POST 400"]; n != 1 {
		t.Errorf("POST 400 answered %d times, want 1 (one batch)", n)
	}
	dep := r.job(t, ids[10])
	on, err := r.st.WaitingOn(dep.ID)
	if err != nil || on != bad.ID || dep.State != app.StatePending {
		t.Errorf("dependent = %s, waiting on #%d (%v), want pending on #%d", dep.State, on, err, bad.ID)
	}
	if n := r.sim.CountReceipts(lic, "R-ON-BAD"); n != 0 {
		t.Errorf("the dependent reached Metrc")
	}
}

// TestSimRetryAfterHonoured (synctest, in-memory): Metrc answers 429 with
// Retry-After: 3 above 1 GET/s; after each 429 no call of the license goes
// out before Retry-After has passed, and the queue still drains.
func TestSimRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, params: func(p *Params) {
			p.PullInterval = 5 * time.Minute
			p.ProbeInterval = 30 * time.Second
			p.BackoffBase, p.BackoffCap = 2*time.Second, 5*time.Minute
		}})
		const ra = 3 * time.Second
		r.sim.SetFaults(metrcsim.Faults{GetRateLimit: 1, RetryAfter: ra})
		var jobs []app.Job
		for i := range 30 {
			jobs = append(jobs, r.receipt(t, "LIC-A", fmt.Sprintf("Q%02d", i), 1))
		}
		r.enqueue(t, jobs...)
		stop := r.run(t)
		for range 3 {
			time.Sleep(5 * time.Minute)
			r.e.PullNow("")
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		waitFor(t, time.Hour, "all delivered", func() bool { return r.count("LIC-A", app.StateDone) == 30 })
		stop()
		calls := r.calls.all()
		n429 := 0
		for i, c := range calls {
			if c.Status != 429 || c.License == "" {
				continue
			}
			n429++
			until := c.Start.Add(c.Duration).Add(ra)
			for _, d := range calls[i+1:] {
				if d.License == c.License && d.Start.After(c.Start.Add(c.Duration)) && d.Start.Before(until) {
					t.Errorf("%s %s at %v, %v after a 429 with Retry-After %v", d.License, d.Endpoint,
						d.Start.Format("15:04:05.000"), d.Start.Sub(c.Start), ra)
				}
			}
		}
		if n429 == 0 {
			t.Fatal("no 429 answered: the test proved nothing")
		}
		t.Logf("%d calls, %d answered 429", len(calls), n429)
		for i := range 30 {
			if n := r.sim.CountReceipts("LIC-A", fmt.Sprintf("Q%02d", i)); n != 1 {
				t.Errorf("Q%02d held %d times", i, n)
			}
		}
	})
}

// TestSimCredentialsRejected (synctest, in-memory): a 401 pauses the
// license as "credentials rejected", turns it red and puts its jobs back to
// pending; nothing more is sent until a person resumes it.
func TestSimCredentialsRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, licenses: 2})
		r.sim.SetLicenseAccess("LIC-A", false)
		r.enqueue(t, r.receipt(t, "LIC-A", "C1", 1), r.receipt(t, "LIC-A", "C2", 1), r.receipt(t, "LIC-B", "C3", 1))
		r.run(t)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		h := r.e.Health()
		if h[0].Color != app.Red || h[0].Reason != "Metrc rejected the credentials" {
			t.Fatalf("LIC-A health = %v %q %q", h[0].Color, h[0].Reason, h[0].Details)
		}
		t.Logf("LIC-A: %v %q %q", h[0].Color, h[0].Reason, h[0].Details)
		if r.count("LIC-A", app.StatePending) != 2 {
			t.Errorf("LIC-A jobs not pending: %+v", r.count("LIC-A", app.StatePending))
		}
		if r.count("LIC-B", app.StateDone) != 1 {
			t.Errorf("LIC-B not delivered")
		}
		ps, _ := r.st.PullState("LIC-A")
		if !ps.Paused || ps.PausedReason != "credentials rejected" {
			t.Errorf("pull state = %+v", ps)
		}
		before := len(r.calls.all())
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		for _, c := range r.calls.all()[before:] {
			if c.License == "LIC-A" {
				t.Errorf("call while paused: %s", c.Endpoint)
			}
		}
		// The person fixes the key and resumes.
		r.sim.SetLicenseAccess("LIC-A", true)
		if err := r.e.SetPaused("LIC-A", false); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "LIC-A delivered after resume", func() bool { return r.count("LIC-A", app.StateDone) == 2 })
	})
}

// TestSimOutageHealthSynctest (synctest, in-memory, default intervals): a
// 3-hour 503 outage: one probe at least every 30 s, red after 20 min
// ("The Metrc API is down"), the backlog drained within a minute of
// recovery, orange for the recent failure, then green.
func TestSimOutageHealthSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, params: func(p *Params) {
			*p = Params{Store: p.Store, Metrc: p.Metrc, Logger: p.Logger, Licenses: p.Licenses, Monitor: p.Monitor}
		}})
		var seen []string
		r.e.Subscribe(func(hs []app.Health) {
			s := hs[0].Color.String() + ": " + hs[0].Reason
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
		})
		r.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.Outage503})
		var jobs []app.Job
		for i := range 200 {
			jobs = append(jobs, r.receipt(t, "LIC-A", fmt.Sprintf("O%03d", i), 1))
		}
		r.enqueue(t, jobs...)
		start := time.Now()
		r.run(t)
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		if h := r.e.Health()[0]; h.Color != app.Red || !h.APIDown {
			t.Errorf("after 25 min down: %v %q", h.Color, h.Reason)
		} else {
			t.Logf("red: %q", h.Details)
		}
		time.Sleep(3*time.Hour - 25*time.Minute)
		synctest.Wait()
		probes := 0
		var last time.Time
		maxGap := time.Duration(0)
		for _, c := range r.calls.all() {
			if c.Endpoint == "GET /units/v2" || strings.HasPrefix(c.Endpoint, "GET /units") {
				probes++
				if !last.IsZero() && c.Start.Sub(last) > maxGap {
					maxGap = c.Start.Sub(last)
				}
				if !last.IsZero() && c.Start.Sub(last) > 31*time.Second {
					t.Logf("gap %v before %v (since start %v)", c.Start.Sub(last), c.Start, c.Start.Sub(start))
				}
				last = c.Start
			}
		}
		if maxGap > 30*time.Second+time.Second || probes < 3*60*2 {
			t.Errorf("%d probes in 3 h, largest gap %v", probes, maxGap)
		}
		if r.count("LIC-A", app.StateDone) != 0 {
			t.Errorf("jobs done during the outage")
		}
		back := time.Now()
		r.sim.SetFaults(metrcsim.Faults{})
		waitFor(t, time.Hour, "backlog drained", func() bool { return r.count("LIC-A", app.StateDone) == 200 })
		took := time.Since(back)
		if took > time.Minute {
			t.Errorf("backlog drained %v after recovery, want within a minute", took)
		}
		t.Logf("200 receipts drained %v after recovery (outage %v, %d probes, largest gap %v)", took, back.Sub(start), probes, maxGap)
		time.Sleep(21 * time.Minute)
		synctest.Wait()
		if h := r.e.Health()[0]; h.Color != app.Green {
			t.Errorf("20 min after recovery: %v %q %q", h.Color, h.Reason, h.Details)
		}
		t.Logf("health sequence: %q", seen)
		pts, err := r.e.Latency("LIC-A", SpanDay)
		if err != nil {
			t.Fatal(err)
		}
		calls, errs := 0, 0
		for _, p := range pts {
			calls += p.Count
			errs += p.Errors
		}
		if calls == 0 || errs == 0 {
			t.Errorf("latency series: %d calls, %d errors", calls, errs)
		}
		ws, _ := r.e.Outages("LIC-A", start, time.Now())
		if len(ws) != 1 || ws[0].End.Sub(ws[0].Start) < 3*time.Hour-time.Minute {
			t.Errorf("outage windows: %+v", ws)
		}
		for i := range 200 {
			if n := r.sim.CountReceipts("LIC-A", fmt.Sprintf("O%03d", i)); n != 1 {
				t.Fatalf("O%03d held %d times", i, n)
			}
		}
		_ = context.Background
	})
}
