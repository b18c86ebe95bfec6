package reconcile

import (
	"context"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/engine"
	"tracesync/app/metrc"
	"tracesync/app/metrcsim"
	"tracesync/store"
)

// world is a simulator on loopback, the real client and a real store.
type world struct {
	sim   *metrcsim.Sim
	c     *metrc.Client
	s     *store.Store
	r     *Reconciler
	url   string
	since time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sim := metrcsim.New(metrcsim.Options{Seed: "empty"})
	sim.AddLicense("L1", "Shop")
	sim.AddItem("L1", "Flower", "Buds", "Grams")
	sim.AddItem("L1", "Pre-roll", "Pre-Roll Flower", "Grams")
	sim.AddLocation("L1", "Vault")
	sim.AddLocation("L1", "Shelf")
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- metrcsim.Serve(ctx, "127.0.0.1:0", sim, func(u string) { urls <- u }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	c, err := metrc.New(metrc.Options{BaseURL: url, VendorKey: metrcsim.DemoVendorKey, UserKey: metrcsim.DemoUserKey,
		GetRate: 50, Timeout: 10 * time.Second, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	r := New(Params{Store: s, Logger: quiet(), Licenses: []app.License{{Number: "L1", TimeZone: "America/Los_Angeles"}}})
	return &world{sim: sim, c: c, s: s, r: r, url: url, since: time.Now().Add(-time.Hour)}
}

// pull does what the engine's pull does: every active package, the
// inactive ones changed since the last pull, saved as snapshots.
func (w *world) pull(ctx context.Context) error {
	now := time.Now()
	act, err := w.c.Packages(ctx, "L1", true, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	inact, err := w.c.Packages(ctx, "L1", false, w.since, now)
	if err != nil {
		return err
	}
	if err := w.s.SaveSnapshots("L1", now, append(act, inact...)); err != nil {
		return err
	}
	w.since = now.Add(-time.Minute)
	return w.s.PutPullState(app.PullState{License: "L1", LastPackages: now, LastPullOK: now})
}

func (w *world) enqueue(t *testing.T, j app.Job, label string, change func(*app.PackageState)) uint64 {
	t.Helper()
	res, err := w.s.Enqueue(j)
	if err != nil {
		t.Fatal(err)
	}
	// The local record changes with the work, as the inventory screen does.
	p, err := w.s.Package("L1", label)
	if err != nil {
		p = app.Package{License: "L1", Label: label}
	}
	if p.Local == nil {
		p.Local = &app.PackageState{}
	}
	change(p.Local)
	if err := w.s.PutPackages(p); err != nil {
		t.Fatal(err)
	}
	return res[0].ID
}

// TestScenarioOutage: queue work, cut Metrc, change packages directly in
// the simulator, restore; each difference is repaired, matched or listed
// exactly as the rules table says.
func TestScenarioOutage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, p := range []metrcsim.SimPackage{
		{Label: "A", Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "B", Item: "Flower", Quantity: 5, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "C", Item: "Flower", Quantity: 20, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "D", Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "E", Item: "Flower", Quantity: 0, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "F", Item: "Flower", Quantity: 3, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "G", Item: "Flower", Quantity: 3, UnitOfMeasure: "Grams", Location: "Vault"},
	} {
		w.sim.AddPackage("L1", p)
	}
	// First pull: the local inventory is imported from Metrc.
	if err := w.pull(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := w.r.RunNow(ctx, "L1")
	if err != nil || len(res.Repairs) != 7 || res.Open != 0 {
		t.Fatalf("first run %+v %v", res, err)
	}
	for _, r := range res.Repairs {
		if r.Rule != RuleImport {
			t.Fatalf("first run repair %+v", r)
		}
	}
	// A person's package that never reached Metrc.
	w.s.PutPackages(app.Package{License: "L1", Label: "LOST", Local: st("Flower", 2, "Grams", "Vault")})

	// Metrc goes down; work goes on in tracesync.
	w.sim.SetFaults(metrcsim.Faults{Outage: metrcsim.Outage503})
	if err := w.pull(ctx); err == nil {
		t.Fatal("pull succeeded during the outage")
	}
	la := time.UTC
	now := time.Now()
	adj, _ := app.NewAdjustJob("L1", la, app.PackageAdjust{Label: "A", Quantity: -2, UnitOfMeasure: "Grams", AdjustmentReason: "Drying"}, now, now)
	w.enqueue(t, adj, "A", func(s *app.PackageState) { s.Quantity = 8 })
	rcpt, _ := app.NewReceiptJob("L1", la, app.SalesReceipt{ExternalReceiptNumber: "R1", SalesCustomerType: "Consumer",
		Transactions: []app.SalesTransaction{{PackageLabel: "B", Quantity: 1, UnitOfMeasure: "Grams", TotalAmount: 10}}}, now, now)
	w.enqueue(t, rcpt, "B", func(s *app.PackageState) { s.Quantity = 4 })
	asm := func(tag string) app.Job {
		j, _ := app.NewAssemblyJob("L1", la, app.PackageCreate{Tag: tag, Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams",
			Location: "Vault", Ingredients: []app.Ingredient{{Package: "C", Quantity: 4, UnitOfMeasure: "Grams"}}}, now, now)
		return j
	}
	newPkg := func(s *app.PackageState) { *s = *st("Pre-roll", 4, "Grams", "Vault") }
	p1 := w.enqueue(t, asm("P1"), "P1", newPkg)
	p2 := w.enqueue(t, asm("P2"), "P2", newPkg)
	c, _ := w.s.Package("L1", "C") // both assemblies drew on C
	c.Local.Quantity = 12
	w.s.PutPackages(c)

	// Meanwhile people work in Metrc directly.
	w.sim.SetPackageQuantity("L1", "D", 7)      // a quantity
	w.sim.FinishPackage("L1", "E")              // a finish
	w.sim.SetOnHold("L1", "F", true)            // a hold
	w.sim.SetPackageQuantity("L1", "B", 4)      // the same sale entered in Metrc too
	w.sim.AddPackage("L1", metrcsim.SimPackage{ // a new package
		Label: "NEW", Item: "Flower", Quantity: 6, UnitOfMeasure: "Grams", Location: "Shelf"})
	w.sim.AddPackage("L1", metrcsim.SimPackage{ // the assembly entered on both sides
		Label: "P1", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams", Location: "Vault"})
	w.sim.SetPackageQuantity("L1", "C", 16)     // ...which drew on C in Metrc
	w.sim.AddPackage("L1", metrcsim.SimPackage{ // one entered differently
		Label: "P2", Item: "Pre-roll", Quantity: 5, UnitOfMeasure: "Grams", Location: "Vault"})
	w.sim.AddPackage("L1", metrcsim.SimPackage{ // relabelled G's item in Metrc
		Label: "G", Item: "Pre-roll", Quantity: 3, UnitOfMeasure: "Grams", Location: "Vault"})

	// Metrc comes back.
	w.sim.SetFaults(metrcsim.Faults{})
	if err := w.pull(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = w.r.RunNow(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}

	var repairs []string
	for _, r := range res.Repairs {
		repairs = append(repairs, r.Label+" "+r.Field+" "+r.Before+" -> "+r.After)
	}
	sort.Strings(repairs)
	want := []string{
		"D quantity 10 -> 7",
		"E finished active -> finished",
		"F onHold not on hold -> on hold",
		"NEW record  -> Flower, 6 Grams at Shelf",
	}
	if !slices.Equal(repairs, want) {
		t.Errorf("repairs\n got %q\nwant %q", repairs, want)
	}
	if !slices.Equal(res.Matched, []uint64{p1}) {
		t.Errorf("matched %v, want [%d]", res.Matched, p1)
	}
	if j, _ := w.s.Job(p1); j.State != app.StateMatched {
		t.Errorf("P1 job %s", j.State)
	}
	items, _ := w.r.AuditItems(true)
	var audit []string
	for _, it := range items {
		audit = append(audit, it.Label+" "+string(it.Kind)+" "+it.Field)
	}
	sort.Strings(audit)
	wantAudit := []string{"B conflict quantity", "G mislabel ", "LOST lost ", "P2 entered-twice "}
	if !slices.Equal(audit, wantAudit) {
		t.Errorf("audit\n got %q\nwant %q", audit, wantAudit)
	}
	for _, it := range items {
		if it.Kind == app.AuditEnteredTwice && (it.JobID != p2 || it.Local.Quantity != 4 || it.Metrc.Quantity != 5) {
			t.Errorf("entered twice shows %+v", it)
		}
	}
	// A (pending adjustment) and C (ingredients of the pending P2 and the
	// matched P1) agree with Metrc plus what is still pending.
	for _, l := range []string{"A", "C"} {
		if p, _ := w.s.Package("L1", l); p.Local.Quantity != map[string]float64{"A": 8, "C": 12}[l] {
			t.Errorf("%s changed: %+v", l, p.Local)
		}
	}
	// The hold now blocks new work on F with a clear message.
	if p, _ := w.s.Package("L1", "F"); app.CheckWritable(p) == nil {
		t.Error("F on hold accepts new jobs")
	}

	// People settle the rest in Metrc; items close by themselves.
	w.sim.AddPackage("L1", metrcsim.SimPackage{Label: "G", Item: "Flower", Quantity: 3, UnitOfMeasure: "Grams", Location: "Vault"})
	if err := w.pull(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = w.r.RunNow(ctx, "L1")
	if err != nil || res.Closed != 1 || res.Open != 3 || len(res.Repairs) != 0 {
		t.Fatalf("after the fix in Metrc %+v %v", res, err)
	}
}

// cutTransport is the machine's network: while cut, every request fails to
// connect (surely not sent), as when the office line is down.
type cutTransport struct {
	mu  sync.Mutex
	cut bool
	rt  http.RoundTripper
}

func (c *cutTransport) set(cut bool) {
	c.mu.Lock()
	c.cut = cut
	c.mu.Unlock()
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	cut := c.cut
	c.mu.Unlock()
	if cut {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return c.rt.RoundTrip(r)
}

// TestScenarioWithEngine runs the same story through the real engine: it
// pulls, pushes and calls AfterPull on its own. Push and reconcile race
// after the restore, so the test waits for the state both orders end in.
func TestScenarioWithEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine for a few seconds")
	}
	w := newWorld(t)
	for _, p := range []metrcsim.SimPackage{
		{Label: "A", Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "C", Item: "Flower", Quantity: 20, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "D", Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams", Location: "Vault"},
		{Label: "E", Item: "Flower", Quantity: 0, UnitOfMeasure: "Grams", Location: "Vault"},
	} {
		w.sim.AddPackage("L1", p)
	}
	line := &cutTransport{rt: http.DefaultTransport.(*http.Transport).Clone()}
	c, err := metrc.New(metrc.Options{BaseURL: w.url, VendorKey: metrcsim.DemoVendorKey, UserKey: metrcsim.DemoUserKey,
		GetRate: 50, HTTPClient: &http.Client{Transport: line, Timeout: 10 * time.Second}, WriteInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	lics := []app.License{{Number: "L1", TimeZone: "America/Los_Angeles"}}
	r := New(Params{Store: w.s, Logger: quiet(), Licenses: lics, Interval: time.Nanosecond})
	e, err := engine.New(engine.Params{Store: w.s, Metrc: c, Logger: quiet(), Licenses: lics,
		PullInterval: 200 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffCap: 200 * time.Millisecond,
		ProbeInterval: 100 * time.Millisecond, AfterPull: r.AfterPull})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, "the first import", func() bool {
		p, err := w.s.Package("L1", "E")
		return err == nil && p.Local != nil
	})

	line.set(true) // Metrc is cut off
	la := time.UTC
	now := time.Now()
	adj, _ := app.NewAdjustJob("L1", la, app.PackageAdjust{Label: "A", Quantity: -2, UnitOfMeasure: "Grams", AdjustmentReason: "Drying"}, now, now)
	asm := func(tag string) app.Job {
		j, _ := app.NewAssemblyJob("L1", la, app.PackageCreate{Tag: tag, Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams",
			Location: "Vault", Ingredients: []app.Ingredient{{Package: "C", Quantity: 4, UnitOfMeasure: "Grams"}}}, now, now)
		return j
	}
	res, err := e.Enqueue(adj, asm("P1"), asm("P2"))
	if err != nil {
		t.Fatal(err)
	}
	for label, q := range map[string]float64{"A": 8, "C": 12, "P1": 4, "P2": 4} {
		p, err := w.s.Package("L1", label)
		if err != nil {
			p = app.Package{License: "L1", Label: label, Local: st("Pre-roll", 0, "Grams", "Vault")}
		}
		p.Local.Quantity = q
		w.s.PutPackages(p)
	}
	w.sim.SetPackageQuantity("L1", "D", 7)
	w.sim.FinishPackage("L1", "E")
	w.sim.AddPackage("L1", metrcsim.SimPackage{Label: "NEW", Item: "Flower", Quantity: 6, UnitOfMeasure: "Grams", Location: "Shelf"})
	w.sim.AddPackage("L1", metrcsim.SimPackage{Label: "P1", Item: "Pre-roll", Quantity: 4, UnitOfMeasure: "Grams", Location: "Vault"})
	w.sim.SetPackageQuantity("L1", "C", 16)
	w.sim.AddPackage("L1", metrcsim.SimPackage{Label: "P2", Item: "Pre-roll", Quantity: 5, UnitOfMeasure: "Grams", Location: "Vault"})

	line.set(false) // restored
	waitFor(t, "the repairs, the match and the audit item", func() bool {
		jA, _ := w.s.Job(res[0].ID)
		j1, _ := w.s.Job(res[1].ID)
		j2, _ := w.s.Job(res[2].ID)
		d, _ := w.s.Package("L1", "D")
		e, _ := w.s.Package("L1", "E")
		n, _ := w.s.Package("L1", "NEW")
		items, _ := r.AuditItems(true)
		return jA.State == app.StateDone && j1.State == app.StateMatched && j2.State == app.StateNeedsAttention &&
			d.Local.Quantity == 7 && e.Local.Finished && n.Local != nil &&
			len(items) == 1 && items[0].Kind == app.AuditEnteredTwice && items[0].Label == "P2"
	})
	if n := w.sim.CountPackagesByTag("L1", "P1"); n != 1 {
		t.Errorf("P1 reached Metrc %d times", n)
	}
	if a, _ := w.sim.Package("L1", "A"); a.Quantity != 8 {
		t.Errorf("A in Metrc %v", a.Quantity)
	}
	for label, q := range map[string]float64{"A": 8, "C": 12} {
		if p, _ := w.s.Package("L1", label); p.Local.Quantity != q {
			t.Errorf("%s local %+v", label, p.Local)
		}
	}
}

// waitFor polls a condition the engine reaches on its own (no timing is
// asserted: the deadline only stops a hung test).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
