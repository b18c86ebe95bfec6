package engine

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/metrc"
	"tracesync/app/metrcsim"
	"tracesync/store"
)

var (
	_ Store     = (*store.Store)(nil)
	_ app.Metrc = (*metrc.Client)(nil)
)

// rig is the real store, the real client and the simulator.
type rig struct {
	sim   *metrcsim.Sim
	st    *store.Store
	cl    *metrc.Client
	mon   *Monitor
	e     *Engine
	lics  []app.License
	calls *callLog
}

// callLog keeps every call the client reports.
type callLog struct {
	mu    sync.Mutex
	calls []app.Call
}

func (l *callLog) add(c app.Call) { l.mu.Lock(); l.calls = append(l.calls, c); l.mu.Unlock() }
func (l *callLog) all() []app.Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

type rigOptions struct {
	licenses  int
	inMemory  bool // the simulator's in-memory transport (synctest bubbles)
	timeout   time.Duration
	writeGap  time.Duration
	getRate   float64
	params    func(*Params)
	simOption func(*metrcsim.Options)
}

const (
	testItem     = "Gummies"
	testLocation = "Vault"
)

func srcLabel(lic string) string { return lic + "-SRC" }

// newRig builds a world of licenses LIC-A, LIC-B, ... each with an item, a
// location and a large source package, and an engine (not yet running).
func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	if o.licenses == 0 {
		o.licenses = 1
	}
	so := metrcsim.Options{Seed: "empty", RandSeed: 7}
	if o.simOption != nil {
		o.simOption(&so)
	}
	r := &rig{sim: metrcsim.New(so), st: openStore(t), calls: &callLog{}}
	for i := range o.licenses {
		num := fmt.Sprintf("LIC-%c", 'A'+i)
		r.sim.AddLicense(num, "Shop "+num)
		r.sim.AddItem(num, testItem, "Edible", "Each")
		r.sim.AddLocation(num, testLocation)
		r.sim.AddPackage(num, metrcsim.SimPackage{Label: srcLabel(num), Item: testItem, Quantity: 1e9,
			UnitOfMeasure: "Each", Location: testLocation, PackagedDate: "2026-01-01", LastModified: time.Now()})
		r.lics = append(r.lics, app.License{Number: num, Name: "Shop " + num})
	}
	co := metrc.Options{VendorKey: metrcsim.DemoVendorKey, UserKey: metrcsim.DemoUserKey,
		Timeout: o.timeout, WriteInterval: o.writeGap, GetRate: o.getRate}
	if co.Timeout == 0 {
		co.Timeout = 5 * time.Second
	}
	if co.WriteInterval == 0 {
		co.WriteInterval = -1
	}
	if co.GetRate == 0 {
		co.GetRate = 50
	}
	r.mon = NewMonitor(r.st, nil)
	co.Observer = func(c app.Call) { r.calls.add(c); r.mon.Observe(c) }
	if o.inMemory {
		co.BaseURL = "http://127.0.0.1"
		co.HTTPClient = &http.Client{Transport: r.sim.Transport()}
	} else {
		ctx, cancel := context.WithCancel(context.Background())
		urlc := make(chan string, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := metrcsim.Serve(ctx, "127.0.0.1:0", r.sim, func(u string) { urlc <- u }); err != nil {
				t.Error(err)
				close(urlc)
			}
		}()
		t.Cleanup(func() { cancel(); <-done })
		co.BaseURL = <-urlc
	}
	cl, err := metrc.New(co)
	if err != nil {
		t.Fatal(err)
	}
	r.cl = cl
	p := Params{Store: r.st, Metrc: cl, Logger: quietLogger(), Licenses: r.lics, Monitor: r.mon,
		BackoffBase: 50 * time.Millisecond, BackoffCap: time.Second, ProbeInterval: time.Second,
		PullInterval: 2 * time.Second, HealthInterval: 500 * time.Millisecond}
	if o.params != nil {
		o.params(&p)
	}
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	return r
}

// run starts the engine and returns a stop function that waits for Run.
func (r *rig) run(t testing.TB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (r *rig) receipt(t testing.TB, lic, ext string, qty float64) app.Job {
	return receiptJob2(t, lic, ext, srcLabel(lic), qty)
}

func receiptJob2(t testing.TB, lic, ext, label string, qty float64) app.Job {
	t.Helper()
	now := time.Now()
	j, err := app.NewReceiptJob(lic, time.UTC, app.SalesReceipt{
		SalesCustomerType: "Consumer", ExternalReceiptNumber: ext,
		Transactions: []app.SalesTransaction{{PackageLabel: label, Quantity: qty, UnitOfMeasure: "Each", TotalAmount: 5 * qty}},
	}, now, now)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (r *rig) assembly(t testing.TB, lic, tag string, qty float64, item string) app.Job {
	t.Helper()
	now := time.Now()
	j, err := app.NewAssemblyJob(lic, time.UTC, app.PackageCreate{
		Tag: tag, Location: testLocation, Item: item, Quantity: qty, UnitOfMeasure: "Each",
		Ingredients: []app.Ingredient{{Package: srcLabel(lic), Quantity: qty, UnitOfMeasure: "Each"}},
	}, now, now)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (r *rig) enqueue(t testing.TB, jobs ...app.Job) []uint64 {
	t.Helper()
	res, err := r.e.Enqueue(jobs...)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, len(res))
	for i, x := range res {
		ids[i] = x.ID
	}
	return ids
}

func (r *rig) count(lic string, st app.JobState) int {
	s, err := r.st.Stats(lic)
	if err != nil {
		return -1
	}
	return s.ByState[st]
}

func (r *rig) job(t testing.TB, id uint64) app.Job {
	t.Helper()
	j, err := r.st.Job(id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
