// Package demo runs tracesync's demo mode: the Metrc simulator embedded on a
// loopback port, its world saved beside the demo data folder so a restart
// continues where it stopped, fault switches for the Demo panel, and a sales
// generator that queues realistic receipts every few seconds through the
// engine, so the queue and the colours change for real.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tracesync/app"
	"tracesync/app/engine"
	"tracesync/app/metrcsim"
)

// StateName is the simulator's saved world in the demo data folder.
const StateName = "sim.json"

// SaveEvery is how often the simulator's world is saved while running.
const SaveEvery = 30 * time.Second

// Zone is the demo licenses' time zone (the simulator's facilities are in
// California).
const Zone = "America/Los_Angeles"

// Demo is a running demo simulator.
type Demo struct {
	dir  string
	log  *slog.Logger
	sim  atomic.Pointer[metrcsim.Sim]
	url  string
	srv  *http.Server
	stop context.CancelFunc
	done chan struct{}

	mu        sync.Mutex
	faults    metrcsim.Faults
	salesStop context.CancelFunc
	salesDone chan struct{}
	seq       atomic.Int64
}

// Start serves the demo simulator on 127.0.0.1:0, continuing the world
// saved in <dataDir>/sim.json when there is one.
func Start(ctx context.Context, dataDir string) (*Demo, error) {
	return StartWith(ctx, dataDir, nil)
}

// StartWith is Start with a logger (nil: discard).
func StartWith(ctx context.Context, dataDir string, log *slog.Logger) (*Demo, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo folder: %w", err)
	}
	d := &Demo{dir: dataDir, log: log, done: make(chan struct{})}
	s, err := metrcsim.Load(d.statePath(), metrcsim.Options{})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s = metrcsim.New(metrcsim.Options{Seed: "demo"})
	case err != nil:
		log.Warn("demo simulator state unreadable: starting a new world", "err", err)
		s = metrcsim.New(metrcsim.Options{Seed: "demo"})
	default:
		log.Info("demo simulator continues its saved world")
	}
	d.sim.Store(s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo simulator: %w", err)
	}
	d.url = "http://" + ln.Addr().String()
	// The handler reads the current world at each request, so Reset can
	// swap it without changing the address the engine talks to.
	d.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.sim.Load().ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go d.srv.Serve(ln)
	rctx, cancel := context.WithCancel(ctx)
	d.stop = cancel
	go d.saveLoop(rctx)
	if err := d.save(); err != nil {
		log.Warn("save demo simulator", "err", err)
	}
	return d, nil
}

func (d *Demo) statePath() string { return filepath.Join(d.dir, StateName) }

func (d *Demo) saveLoop(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(SaveEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.save(); err != nil {
				d.log.Warn("save demo simulator", "err", err)
			}
		}
	}
}

func (d *Demo) save() error { return d.sim.Load().Save(d.statePath()) }

// URL is the simulator's base URL.
func (d *Demo) URL() string { return d.url }

// Sim is the current simulated world.
func (d *Demo) Sim() *metrcsim.Sim { return d.sim.Load() }

// VendorKey and UserKey are the keys the demo simulator accepts.
func (d *Demo) VendorKey() string { return metrcsim.DemoVendorKey }

// UserKey is the user key the demo simulator accepts.
func (d *Demo) UserKey() string { return metrcsim.DemoUserKey }

// Licenses are the demo world's facilities, in the demo zone.
func (d *Demo) Licenses() []app.License {
	return []app.License{
		{Number: metrcsim.DemoDistributorLicense, Name: metrcsim.DemoDistributorName, TimeZone: Zone},
		{Number: metrcsim.DemoRetailLicense, Name: metrcsim.DemoRetailName, TimeZone: Zone},
	}
}

// SetFaults replaces the simulator's faults.
func (d *Demo) SetFaults(f metrcsim.Faults) {
	d.mu.Lock()
	d.faults = f
	d.mu.Unlock()
	d.sim.Load().SetFaults(f)
}

// Faults returns the faults set.
func (d *Demo) Faults() metrcsim.Faults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.faults
}

// Toggle switches one named fault on or off, keeping the others: "outage",
// "slow", "429", "500", "lost" (lost responses).
func (d *Demo) Toggle(name string, on bool) {
	d.mu.Lock()
	f := d.faults
	switch name {
	case "outage":
		f.Outage = metrcsim.OutageNone
		if on {
			f.Outage = metrcsim.Outage503
		}
	case "slow":
		f.Latency = 0
		if on {
			f.Latency = 12 * time.Second
		}
	case "429":
		f.GetRateLimit, f.RetryAfter = 0, 0
		if on {
			f.GetRateLimit, f.RetryAfter = 1, 5*time.Second
		}
	case "500":
		f.Fail500, f.Fail500Prob = nil, 0
		if on {
			f.Fail500, f.Fail500Prob = []string{"/"}, 0.5
		}
	case "lost":
		f.DropAfterApply = 0
		if on {
			f.DropAfterApply = 0.5
		}
	}
	d.faults = f
	d.mu.Unlock()
	d.sim.Load().SetFaults(f)
	d.log.Info("demo fault", "fault", name, "on", on)
}

// Reset starts the simulated world over from the demo seed (faults off).
func (d *Demo) Reset() error {
	s := metrcsim.New(metrcsim.Options{Seed: "demo"})
	d.mu.Lock()
	d.faults = metrcsim.Faults{}
	d.mu.Unlock()
	d.sim.Store(s)
	if err := d.save(); err != nil {
		return fmt.Errorf("reset demo: %w", err)
	}
	d.log.Info("demo simulator reset")
	return nil
}

// Stop stops the sales generator and the simulator and saves its world.
func (d *Demo) Stop() error {
	d.StopSales()
	d.stop()
	<-d.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		d.srv.Close() // hung requests (the "hang" outage)
	}
	if err := d.save(); err != nil {
		return fmt.Errorf("save demo simulator: %w", err)
	}
	return nil
}

// Enqueuer is where the sales generator queues receipts (*engine.Engine).
type Enqueuer interface {
	Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error)
}

// StartSales queues a receipt of the demo retailer every so often (every
// few seconds when every is zero) until StopSales or Stop.
func (d *Demo) StartSales(e *engine.Engine, every time.Duration) {
	d.StartSalesTo(e, e.Store(), every)
}

// StartSalesTo is StartSales with the queue and the inventory given apart.
func (d *Demo) StartSalesTo(q Enqueuer, inv app.PackageStore, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	d.StopSales()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	d.mu.Lock()
	d.salesStop, d.salesDone = cancel, done
	d.mu.Unlock()
	go func() {
		defer close(done)
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		t := time.NewTimer(every / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if j, ok := d.sale(rng, inv, time.Now()); ok {
				if _, err := q.Enqueue(j); err != nil {
					d.log.Warn("demo sale not queued", "err", err)
				}
			}
			// Jitter: customers do not arrive on a clock.
			t.Reset(every/2 + time.Duration(rng.Int63n(int64(every))))
		}
	}()
}

// StopSales stops the sales generator.
func (d *Demo) StopSales() {
	d.mu.Lock()
	stop, done := d.salesStop, d.salesDone
	d.salesStop, d.salesDone = nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// SalesRunning reports whether the generator runs.
func (d *Demo) SalesRunning() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.salesStop != nil
}

// sale builds one receipt of one to three lines from packages on the sales
// floor of the retailer, as the last pull saw them. No packages pulled yet:
// no sale.
func (d *Demo) sale(rng *rand.Rand, inv app.PackageStore, now time.Time) (app.Job, bool) {
	lic := metrcsim.DemoRetailLicense
	pkgs, err := inv.Packages(lic, "", "", 500)
	if err != nil {
		return app.Job{}, false
	}
	var floor []app.Package
	for _, p := range pkgs {
		st := p.Metrc
		if p.Local != nil {
			st = p.Local
		}
		if st == nil || st.Finished || st.OnHold || st.Quantity < 5 {
			continue
		}
		if st.Location != "" && !strings.EqualFold(st.Location, "Sales Floor") && len(floor) > 0 {
			continue
		}
		floor = append(floor, p)
	}
	if len(floor) == 0 {
		return app.Job{}, false
	}
	n := 1 + rng.Intn(3)
	r := app.SalesReceipt{
		SalesCustomerType:     "Consumer",
		ExternalReceiptNumber: fmt.Sprintf("DEMO-%d-%d", now.Unix(), d.seq.Add(1)),
	}
	used := map[string]bool{}
	for i := 0; i < n; i++ {
		p := floor[rng.Intn(len(floor))]
		if used[p.Label] {
			continue
		}
		used[p.Label] = true
		st := p.Metrc
		if p.Local != nil {
			st = p.Local
		}
		q, price := 1.0, 20+float64(rng.Intn(40))
		switch strings.ToLower(st.Unit) {
		case "grams":
			q = []float64{1, 3.5, 7}[rng.Intn(3)]
			price = q * (9 + float64(rng.Intn(6)))
		case "each":
			q = float64(1 + rng.Intn(2))
			price = q * (15 + float64(rng.Intn(30)))
		}
		r.Transactions = append(r.Transactions, app.SalesTransaction{PackageLabel: p.Label, Quantity: q, UnitOfMeasure: st.Unit, TotalAmount: price})
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		loc = time.UTC
	}
	j, err := app.NewReceiptJob(lic, loc, r, now, now)
	if err != nil {
		return app.Job{}, false
	}
	return j, true
}
