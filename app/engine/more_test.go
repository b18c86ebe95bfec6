package engine

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

// TestSimPullSavesSnapshots: the first pull stores Metrc's packages beside
// the local inventory with the pull time, the reference data, the pull
// state, and calls AfterPull; PullNow pulls again at once.
func TestSimPullSavesSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var after atomic.Int32
		r := newRig(t, rigOptions{inMemory: true, params: func(p *Params) {
			p.PullInterval = 5 * time.Minute
			p.AfterPull = func(ctx context.Context, license string) { after.Add(1) }
		}})
		r.sim.AddTransfer(metrcsim.SimTransfer{
			ManifestNumber: "0000004242", ShipperLicense: "C11-000002", ShipperName: "Valley Distribution",
			Recipient: "LIC-A", Created: time.Now().Add(-time.Hour),
			Packages: []metrcsim.SimTransferPackage{{Label: "1A4FF0100000022000004242", Item: testItem, Quantity: 12, UnitOfMeasure: "Grams", State: "Shipped"}},
		})
		r.run(t)
		time.Sleep(time.Second)
		synctest.Wait()
		trs, err := r.st.Transfers("LIC-A")
		if err != nil || len(trs) != 1 || trs[0].ManifestNumber != "0000004242" || len(trs[0].Packages) != 1 || trs[0].PulledAt.IsZero() {
			t.Fatalf("stored incoming transfers = %+v, %v", trs, err)
		}
		pkg, err := r.st.Package("LIC-A", srcLabel("LIC-A"))
		if err != nil || pkg.Metrc == nil || pkg.Metrc.Item != testItem || pkg.PulledAt.IsZero() {
			t.Fatalf("snapshot = %+v, %v", pkg, err)
		}
		ref, err := r.st.RefData("LIC-A")
		if err != nil || len(ref.Items) == 0 || len(ref.Locations) == 0 {
			t.Errorf("ref data = %+v, %v", ref, err)
		}
		ps, err := r.st.PullState("LIC-A")
		if err != nil || ps.LastPullOK.IsZero() || ps.LastFullRefresh.IsZero() || ps.LastRefData.IsZero() {
			t.Errorf("pull state = %+v, %v", ps, err)
		}
		if after.Load() != 1 {
			t.Errorf("AfterPull ran %d times", after.Load())
		}
		if h := r.e.Health()[0]; h.Color != app.Green {
			t.Errorf("health after the first pull = %v %q", h.Color, h.Reason)
		}
		// Someone works in Metrc directly; "pull now" brings it in.
		r.sim.SetPackageQuantity("LIC-A", srcLabel("LIC-A"), 42)
		time.Sleep(time.Minute)
		r.e.PullNow("LIC-A")
		time.Sleep(time.Second)
		synctest.Wait()
		pkg, _ = r.st.Package("LIC-A", srcLabel("LIC-A"))
		if pkg.Metrc == nil || pkg.Metrc.Quantity != 42 {
			t.Errorf("snapshot after pull now = %+v", pkg.Metrc)
		}
		if after.Load() != 2 {
			t.Errorf("AfterPull ran %d times", after.Load())
		}

		hs, err := HealthFromStore(r.st, r.lics, time.Now(), Thresholds{})
		if err != nil || len(hs) != 1 || hs[0].Color != app.Green {
			t.Errorf("HealthFromStore = %+v, %v", hs, err)
		}
		hs, _ = HealthFromStore(r.st, r.lics, time.Now().Add(time.Hour), Thresholds{})
		if hs[0].Color != app.Red || !hs[0].APIDown {
			t.Errorf("HealthFromStore an hour later = %v %q", hs[0].Color, hs[0].Reason)
		}
		hs, _ = HealthFromStore(r.st, []app.License{{Number: "NEW"}}, time.Now(), Thresholds{})
		if hs[0].Color != app.Grey || hs[0].Reason != "Not yet pulled" {
			t.Errorf("HealthFromStore of a new license = %v %q", hs[0].Color, hs[0].Reason)
		}
	})
}

// TestSimShutdownFinishesInFlightWrite: Run's context ends while a write
// is on its way; the write gets its answer within ShutdownGrace and the
// job is done, not left in sending.
func TestSimShutdownFinishesInFlightWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, timeout: time.Minute})
		r.sim.SetFaults(metrcsim.Faults{Latency: 3 * time.Second})
		time.Sleep(time.Second) // let the pull of the first seconds go by
		stop := r.run(t)
		time.Sleep(10 * time.Second)
		ids := r.enqueue(t, r.receipt(t, "LIC-A", "S1", 1))
		time.Sleep(time.Second) // the write is in flight
		if j := r.job(t, ids[0]); j.State != app.StateSending {
			t.Fatalf("job is %s, want sending", j.State)
		}
		stop()
		if j := r.job(t, ids[0]); j.State != app.StateDone {
			t.Errorf("after shutdown the job is %s, want done", j.State)
		}
		if n := r.sim.CountReceipts("LIC-A", "S1"); n != 1 {
			t.Errorf("S1 held %d times", n)
		}
	})
}

// TestSimWriteEndpointFailing (synctest): only PUT /packages/v2/location
// answers 500 for 30 min while the rest of Metrc works. The probes answer,
// yet the retries space out (the backoff exponent only resets on an
// answered write) instead of hammering, and the move lands when the
// endpoint recovers.
func TestSimWriteEndpointFailing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true, params: func(p *Params) {
			*p = Params{Store: p.Store, Metrc: p.Metrc, Logger: p.Logger, Licenses: p.Licenses, Monitor: p.Monitor}
		}})
		r.sim.AddLocation("LIC-A", "Shelf")
		r.sim.SetFaults(metrcsim.Faults{Fail500: []string{"/packages/v2/location"}})
		j, err := app.NewMoveJob("LIC-A", time.UTC, app.LocationChange{Label: srcLabel("LIC-A"), Location: "Shelf"}, time.Now(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r.enqueue(t, j)
		r.run(t)
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		puts := 0
		for _, c := range r.calls.all() {
			if strings.HasPrefix(c.Endpoint, "PUT") {
				puts++
			}
		}
		if puts < 2 || puts > 150 {
			t.Errorf("%d write requests in 30 min against a failing endpoint", puts)
		}
		if h := r.e.Health()[0]; h.Color != app.Orange {
			t.Errorf("health = %v %q", h.Color, h.Reason)
		}
		r.sim.SetFaults(metrcsim.Faults{})
		waitFor(t, time.Hour, "the move delivered", func() bool { return r.count("LIC-A", app.StateDone) == 1 })
		if p, _ := r.sim.Package("LIC-A", srcLabel("LIC-A")); p.Location != "Shelf" {
			t.Errorf("package at %q", p.Location)
		}
		t.Logf("%d write requests in 30 min of 500s", puts)
	})
}

// TestSimResendAndDiscard (synctest): a rejected assembly corrected by a
// person and resent is delivered, and so is the receipt waiting on it; a
// rejected one discarded takes its dependent to needs-attention.
func TestSimResendAndDiscard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, rigOptions{inMemory: true})
		lic := "LIC-A"
		ids := r.enqueue(t,
			r.assembly(t, lic, "FIX", 1, "Nope"),
			r.assembly(t, lic, "DROP", 1, "Nope"),
			receiptJob2(t, lic, "ON-FIX", "FIX", 1),
			receiptJob2(t, lic, "ON-DROP", "DROP", 1),
		)
		r.run(t)
		waitFor(t, time.Minute, "both rejected", func() bool { return r.count(lic, app.StateNeedsAttention) == 2 })
		fixed := r.assembly(t, lic, "FIX", 1, testItem)
		if err := r.e.Resend(ids[0], app.JobEdit{Body: fixed.Body, Reads: fixed.Reads, BusinessTime: fixed.BusinessTime}); err != nil {
			t.Fatal(err)
		}
		if err := r.e.Discard(ids[1], "entered by mistake"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "the fixed one and its receipt delivered", func() bool { return r.count(lic, app.StateDone) == 2 })
		if n := r.sim.CountPackagesByTag(lic, "FIX"); n != 1 {
			t.Errorf("FIX held %d times", n)
		}
		if n := r.sim.CountReceipts(lic, "ON-FIX"); n != 1 {
			t.Errorf("ON-FIX held %d times", n)
		}
		dep := r.job(t, ids[3])
		if dep.State != app.StateNeedsAttention || !strings.Contains(dep.Reason, fmt.Sprintf("#%d", ids[1])) {
			t.Errorf("dependent of the discarded = %s %q", dep.State, dep.Reason)
		}
		n, err := r.e.PushNow(app.DueSelector{All: true})
		if err != nil || n != 0 {
			t.Errorf("push now with nothing retrying = %d, %v", n, err)
		}
	})
}
