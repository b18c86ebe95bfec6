package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

func TestStartStopContinues(t *testing.T) {
	dir := t.TempDir()
	d, err := Start(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(d.URL() + "/sim/stats")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %v %v", resp, err)
	}
	resp.Body.Close()
	n := len(d.Sim().Packages(metrcsim.DemoRetailLicense))
	if n == 0 {
		t.Fatal("demo seed has no packages")
	}
	d.Sim().AddLicense("TEST-1", "Added before stop")
	d.Toggle("outage", true)
	if d.Faults().Outage != metrcsim.Outage503 {
		t.Errorf("faults %+v", d.Faults())
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, StateName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	d2, err := Start(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Stop()
	found := false
	for _, l := range d2.Sim().Licenses() {
		found = found || l == "TEST-1"
	}
	if !found || len(d2.Sim().Packages(metrcsim.DemoRetailLicense)) != n {
		t.Fatalf("restart did not continue: licenses %v", d2.Sim().Licenses())
	}
	if err := d2.Reset(); err != nil {
		t.Fatal(err)
	}
	for _, l := range d2.Sim().Licenses() {
		if l == "TEST-1" {
			t.Fatal("reset kept the added license")
		}
	}
	// The address stays the same across Reset.
	resp, err = http.Get(d2.URL() + "/sim/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f metrcsim.Faults
	json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if f.Outage != metrcsim.OutageNone {
		t.Errorf("faults after reset %+v", f)
	}
}

type fakeInv struct {
	app.PackageStore
	pkgs []app.Package
}

func (f fakeInv) Packages(license, search, after string, limit int) ([]app.Package, error) {
	return f.pkgs, nil
}

type rec struct {
	mu   sync.Mutex
	jobs []app.Job
}

func (r *rec) Enqueue(jobs ...app.Job) ([]app.EnqueueResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, jobs...)
	return nil, nil
}

func (r *rec) n() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.jobs) }

func TestSales(t *testing.T) {
	d, err := Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	inv := fakeInv{pkgs: []app.Package{
		{License: metrcsim.DemoRetailLicense, Label: "1A4FF0100000022000000001", Metrc: &app.PackageState{Item: "Flower", Quantity: 100, Unit: "Grams", Location: "Sales Floor"}},
		{License: metrcsim.DemoRetailLicense, Label: "1A4FF0100000022000000002", Metrc: &app.PackageState{Item: "Pre-Roll", Quantity: 50, Unit: "Each", Location: "Sales Floor"}},
	}}
	r := &rec{}
	d.StartSalesTo(r, inv, 20*time.Millisecond)
	if !d.SalesRunning() {
		t.Error("SalesRunning false while sales run")
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.n() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	d.StopSales()
	if r.n() < 3 {
		t.Fatalf("%d sales", r.n())
	}
	keys := map[string]bool{}
	for _, j := range r.jobs {
		var sr app.SalesReceipt
		if err := json.Unmarshal(j.Body, &sr); err != nil || len(sr.Transactions) == 0 || j.Kind != app.KindSalesReceipt {
			t.Fatalf("job %+v %v", j, err)
		}
		if keys[j.Key] {
			t.Fatalf("duplicate key %s", j.Key)
		}
		keys[j.Key] = true
	}
	if d.SalesRunning() {
		t.Error("still running")
	}
}
