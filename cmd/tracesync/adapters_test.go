package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"tracesync/app"
	"tracesync/app/engine"
	"tracesync/app/metrc"
	"tracesync/app/metrcsim"
	"tracesync/app/reconcile"
	"tracesync/store"
)

// "Check now" compares with what Metrc holds now: it pulls first, so a
// change made in Metrc a moment ago is repaired at once, not after the next
// scheduled pull.
func TestCheckNowPullsFirst(t *testing.T) {
	sim := metrcsim.New(metrcsim.Options{Seed: "empty", VendorKey: "vendor-key-1", UserKey: "user-key-1"})
	sim.AddLicense("L1", "Shop")
	sim.AddItem("L1", "Flower", "Buds", "Grams")
	sim.AddLocation("L1", "Vault")
	sim.AddPackage("L1", metrcsim.SimPackage{Label: "1A4FF0100000022000000001", Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams", Location: "Vault"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	st, err := store.Open(filepath.Join(t.TempDir(), DBName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := metrc.New(metrc.Options{BaseURL: srv.URL, VendorKey: "vendor-key-1", UserKey: "user-key-1", GetRate: 50})
	if err != nil {
		t.Fatal(err)
	}
	lics := []app.License{{Number: "L1", Name: "Shop", TimeZone: "America/Los_Angeles"}}
	r := reconcile.New(reconcile.Params{Store: st, Licenses: lics, Interval: time.Hour})
	e, err := engine.New(engine.Params{Store: st, Metrc: c, Licenses: lics, PullInterval: time.Hour, AfterPull: r.AfterPull})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	quantity := func() float64 {
		p, err := st.Package("L1", "1A4FF0100000022000000001")
		if err != nil || p.Local == nil {
			return -1
		}
		return p.Local.Quantity
	}
	for deadline := time.Now().Add(20 * time.Second); quantity() != 10; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first pull and import did not happen: quantity %v", quantity())
		}
	}
	sim.SetPackageQuantity("L1", "1A4FF0100000022000000001", 3) // someone worked in Metrc directly
	repairs, _, err := auditChecker{r: r, e: e}.CheckNow(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}
	if q := quantity(); q != 3 || repairs != 1 {
		t.Fatalf("after Check now: local quantity %v with %d repairs, want 3 with 1", q, repairs)
	}
}
