package metrc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"tracesync/app"
	"tracesync/app/metrcsim"
)

const (
	licA = "C10-0000001-LIC"
	licB = "C10-0000002-LIC"
)

func label(n int) string { return fmt.Sprintf("1A40603000%014d", n) } // 24 characters

// simWorld serves an empty-seeded simulator on 127.0.0.1 with two
// licenses, items, locations and packages, and a client for it.
func simWorld(t *testing.T, o metrcsim.Options, mod func(*Options)) (*metrcsim.Sim, *Client, *calls) {
	t.Helper()
	o.Seed = "empty"
	o.VendorKey, o.UserKey = testVendor, testUser
	sim := metrcsim.New(o)
	for _, l := range []string{licA, licB} {
		sim.AddLicense(l, "Shop "+l)
		sim.AddItem(l, "Buds", "Buds", "Grams")
		sim.AddItem(l, "Pre-Roll", "Pre-Roll", "Each")
		sim.AddLocation(l, "Vault")
		sim.AddLocation(l, "Sales Floor")
	}
	for i := 1; i <= 3; i++ {
		sim.AddPackage(licA, metrcsim.SimPackage{Label: label(i), Item: "Buds", Quantity: 100, UnitOfMeasure: "Grams", Location: "Vault"})
	}
	sim.AddPackage(licB, metrcsim.SimPackage{Label: label(900), Item: "Buds", Quantity: 5, UnitOfMeasure: "Grams", Location: "Vault"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("simulator not on loopback: %s", srv.URL)
	}
	c, obs := newTestClient(t, srv.URL, mod)
	return sim, c, obs
}

func TestSimReferenceData(t *testing.T) {
	_, c, obs := simWorld(t, metrcsim.Options{}, nil)
	ctx := context.Background()
	fs, err := c.Facilities(ctx)
	if err != nil || len(fs) != 2 {
		t.Fatalf("Facilities = %v, %v", fs, err)
	}
	got := map[string]bool{}
	for _, f := range fs {
		got[f.License] = f.Name != ""
	}
	if !got[licA] || !got[licB] {
		t.Errorf("facilities %+v", fs)
	}
	us, err := c.Units(ctx)
	if err != nil || len(us) == 0 {
		t.Fatalf("Units = %v, %v", us, err)
	}
	var grams bool
	for _, u := range us {
		grams = grams || (u.Name == "Grams" && u.Abbreviation == "g" && u.QuantityType != "")
	}
	if !grams {
		t.Errorf("units %+v", us)
	}
	items, err := c.Items(ctx, licA)
	if err != nil || len(items) != 2 || items[0].ID == 0 || items[0].UnitOfMeasure == "" {
		t.Fatalf("Items = %+v, %v", items, err)
	}
	locs, err := c.Locations(ctx, licA)
	if err != nil || len(locs) != 2 || locs[0].Name == "" {
		t.Fatalf("Locations = %+v, %v", locs, err)
	}
	want := []string{"GET /facilities/v2", "GET /unitsofmeasure/v2/active", "GET /items/v2/active", "GET /locations/v2/active"}
	for i, x := range obs.all() {
		if x.Endpoint != want[i] || x.Status != 200 || x.Duration <= 0 {
			t.Errorf("call %d observed as %+v", i, x)
		}
	}
}

func TestSimPackages(t *testing.T) {
	sim, c, _ := simWorld(t, metrcsim.Options{}, nil)
	ctx := context.Background()
	for i := 10; i < 55; i++ { // three pages
		sim.AddPackage(licA, metrcsim.SimPackage{Label: label(i), Item: "Pre-Roll", Quantity: 3, UnitOfMeasure: "Each", Location: "Sales Floor"})
	}
	all, err := c.Packages(ctx, licA, true, time.Time{}, time.Time{})
	if err != nil || len(all) != 48 {
		t.Fatalf("all active: %d, %v", len(all), err)
	}
	now := time.Now()
	recent, err := c.Packages(ctx, licA, true, now.Add(-50*time.Hour), now.Add(time.Minute))
	if err != nil || len(recent) != 48 {
		t.Fatalf("50 h of changes: %d, %v", len(recent), err)
	}
	old, err := c.Packages(ctx, licA, true, now.Add(-72*time.Hour), now.Add(-48*time.Hour))
	if err != nil || len(old) != 0 {
		t.Fatalf("old window: %d, %v", len(old), err)
	}
	p, err := c.PackageByLabel(ctx, licA, label(1))
	if err != nil || p.Label != label(1) || p.Item != "Buds" || p.Quantity != 100 || p.UnitOfMeasure != "Grams" ||
		p.Location != "Vault" || p.LastModified.IsZero() || p.ID == 0 || p.PackagedDate == "" {
		t.Fatalf("PackageByLabel = %+v, %v", p, err)
	}
	if _, err := c.PackageByLabel(ctx, licA, label(12345)); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("unknown label: %v", err)
	}
	if _, err := c.PackageByLabel(ctx, licA, label(900)); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("label of license B: %v", err)
	}
	sim.SetPackageQuantity(licA, label(2), 0)
	sim.FinishPackage(licA, label(2))
	in, err := c.Packages(ctx, licA, false, time.Time{}, time.Time{})
	if err != nil || len(in) != 1 || in[0].Label != label(2) || !in[0].Finished {
		t.Fatalf("inactive: %+v, %v", in, err)
	}
	sim.SetOnHold(licA, label(3), true)
	if p, _ := c.PackageByLabel(ctx, licA, label(3)); !p.OnHold {
		t.Errorf("on hold not seen: %+v", p)
	}
}

func TestSimWrites(t *testing.T) {
	sim, c, _ := simWorld(t, metrcsim.Options{}, nil)
	ctx := context.Background()
	today := time.Now().Format(app.DateLayout)

	errs := c.CreatePackages(ctx, licA, []app.PackageCreate{{
		Tag: label(100), Location: "Vault", Item: "Buds", Quantity: 10, UnitOfMeasure: "Grams", ActualDate: today,
		Note: app.StampNote("", 7), Ingredients: []app.Ingredient{{Package: label(1), Quantity: 10, UnitOfMeasure: "Grams"}},
	}})
	if errs[0] != nil {
		t.Fatalf("create: %v", errs[0])
	}
	if p, ok := sim.Package(licA, label(1)); !ok || p.Quantity != 90 {
		t.Errorf("ingredient not deducted: %+v", p)
	}
	p, err := c.PackageByLabel(ctx, licA, label(100))
	if err != nil || p.Quantity != 10 || p.Note == "" {
		t.Fatalf("created package: %+v, %v", p, err)
	}
	if id, ok := app.NoteJobID(p.Note); !ok || id != 7 {
		t.Errorf("note stamp lost: %q", p.Note)
	}

	errs = c.AdjustPackages(ctx, licA, []app.PackageAdjust{{Label: label(100), Quantity: -2, UnitOfMeasure: "Grams",
		AdjustmentReason: "Drying", AdjustmentDate: today, ReasonNote: app.StampNote("dried", 8)}})
	if errs[0] != nil {
		t.Fatalf("adjust: %v", errs[0])
	}
	adj, err := c.Adjustments(ctx, licA, label(100))
	if err != nil || len(adj) != 1 || adj[0].Quantity != -2 || adj[0].Reason != "Drying" || adj[0].Date != today || adj[0].UnitOfMeasure != "Grams" {
		t.Fatalf("adjustments = %+v, %v", adj, err)
	}
	if id, ok := app.NoteJobID(adj[0].Note); !ok || id != 8 {
		t.Errorf("adjustment note %q", adj[0].Note)
	}

	if errs := c.ChangeLocations(ctx, licA, []app.LocationChange{{Label: label(100), Location: "Sales Floor", MoveDate: today}}); errs[0] != nil {
		t.Fatalf("move: %v", errs[0])
	}
	if p, _ := sim.Package(licA, label(100)); p.Location != "Sales Floor" {
		t.Errorf("not moved: %+v", p)
	}

	la, _ := time.LoadLocation("America/Los_Angeles")
	sold := time.Now().Add(-time.Hour)
	rc := app.SalesReceipt{SalesDateTime: sold.In(la).Format(app.SalesDateTimeLayout), SalesCustomerType: "Consumer", ExternalReceiptNumber: "R-1",
		Transactions: []app.SalesTransaction{{PackageLabel: label(100), Quantity: 8, UnitOfMeasure: "Grams", TotalAmount: 80}}}
	if errs := c.CreateReceipts(ctx, licA, []app.SalesReceipt{rc}); errs[0] != nil {
		t.Fatalf("receipt: %v", errs[0])
	}
	r, err := c.ReceiptByExternalNumber(ctx, licA, "R-1")
	if err != nil || r.ID == 0 || r.SalesDateTime != rc.SalesDateTime || len(r.Transactions) != 1 ||
		r.Transactions[0].PackageLabel != label(100) || r.Transactions[0].Quantity != 8 {
		t.Fatalf("receipt by external number = %+v, %v", r, err)
	}
	if _, err := c.ReceiptByExternalNumber(ctx, licA, "R-404"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("unknown receipt: %v", err)
	}
	rs, err := c.ActiveReceipts(ctx, licA, la, sold.Add(-30*time.Hour), time.Now())
	if err != nil || len(rs) != 1 || rs[0].ExternalReceiptNumber != "R-1" {
		t.Fatalf("active receipts by sales date = %+v, %v", rs, err)
	}
	rs, err = c.ActiveReceipts(ctx, licA, la, sold.Add(-5*time.Hour), sold.Add(-time.Hour))
	if err != nil || len(rs) != 0 {
		t.Fatalf("receipts outside the range = %+v, %v", rs, err)
	}

	if errs := c.FinishPackages(ctx, licA, []app.PackageFinish{{Label: label(100), ActualDate: today}}); errs[0] != nil {
		t.Fatalf("finish: %v", errs[0])
	}
	if p, _ := sim.Package(licA, label(100)); p.FinishedDate == "" {
		t.Errorf("not finished: %+v", p)
	}

	w := 20.5
	errs = c.CreateOutgoingTemplates(ctx, licA, []app.OutgoingTemplate{{Name: "Weekly run", Destinations: []app.TemplateDestination{{
		RecipientLicenseNumber: licB, TransferTypeName: "Transfer",
		EstimatedDepartureDateTime: "2026-03-06T09:15:00.000", EstimatedArrivalDateTime: "2026-03-06T12:24:00.000",
		Packages: []app.TemplatePackage{{PackageLabel: label(3), GrossWeight: &w, GrossUnitOfWeightName: "Grams"}},
	}}}})
	if errs[0] != nil {
		t.Fatalf("template: %v", errs[0])
	}
	if ts := sim.Templates(licA); len(ts) != 1 || ts[0].Name != "Weekly run" {
		t.Errorf("templates %+v", ts)
	}
}

func TestSimIncomingTransfers(t *testing.T) {
	sim, c, obs := simWorld(t, metrcsim.Options{}, nil)
	sim.AddTransfer(metrcsim.SimTransfer{ShipperLicense: licB, ShipperName: "Shop B", Recipient: licA,
		Packages: []metrcsim.SimTransferPackage{
			{Label: label(500), Item: "Buds", Quantity: 50, UnitOfMeasure: "Grams", State: "Shipped"},
			{Label: label(501), Item: "Pre-Roll", Quantity: 20, UnitOfMeasure: "Each", State: "Accepted"},
		}})
	now := time.Now()
	ts, err := c.IncomingTransfers(context.Background(), licA, now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil || len(ts) != 1 {
		t.Fatalf("IncomingTransfers = %+v, %v", ts, err)
	}
	tr := ts[0]
	if tr.ID == 0 || tr.ManifestNumber == "" || tr.ShipperLicense != licB || tr.LastModified.IsZero() || len(tr.Packages) != 2 {
		t.Fatalf("transfer %+v", tr)
	}
	if p := tr.Packages[1]; p.Label != label(501) || p.Item != "Pre-Roll" || p.Quantity != 20 || p.UnitOfMeasure != "Each" || p.State != "Accepted" {
		t.Errorf("transfer package %+v", p)
	}
	var eps []string
	for _, x := range obs.all() {
		eps = append(eps, x.Endpoint)
	}
	if strings.Join(eps, ",") != "GET /transfers/v2/incoming,GET /transfers/v2/{id}/deliveries,GET /transfers/v2/deliveries/{id}/packages" {
		t.Errorf("endpoints %v", eps)
	}
	if ts, err := c.IncomingTransfers(context.Background(), licB, now.Add(-time.Hour), now.Add(time.Minute)); err != nil || len(ts) != 0 {
		t.Errorf("shipper's incoming: %+v, %v", ts, err)
	}
}

// TestSim400: Metrc's validation array names the bad object; nothing of
// that request is applied, the others come back not sent.
func TestSim400(t *testing.T) {
	sim, c, _ := simWorld(t, metrcsim.Options{}, nil)
	today := time.Now().Format(app.DateLayout)
	mk := func(tag, item string) app.PackageCreate {
		return app.PackageCreate{Tag: tag, Location: "Vault", Item: item, Quantity: 1, UnitOfMeasure: "Grams", ActualDate: today,
			Ingredients: []app.Ingredient{{Package: label(1), Quantity: 1, UnitOfMeasure: "Grams"}}}
	}
	errs := c.CreatePackages(context.Background(), licA, []app.PackageCreate{mk(label(200), "Buds"), mk(label(201), "No Such Item"), mk(label(202), "Buds")})
	me := metrcErr(t, errs[1])
	if me.Class != app.ClassPermanent || me.Status != 400 || len(me.Messages) == 0 {
		t.Fatalf("bad object: %+v", me)
	}
	t.Logf("Metrc's message: %q", me.Messages)
	for _, i := range []int{0, 2} {
		if got := metrcErr(t, errs[i]).Class; got != app.ClassNotSent {
			t.Errorf("object %d: %v", i, got)
		}
	}
	if sim.CountPackagesByTag(licA, label(200)) != 0 {
		t.Error("an object of a rejected request was applied")
	}
	// Resent without the bad one, the others go through.
	errs = c.CreatePackages(context.Background(), licA, []app.PackageCreate{mk(label(200), "Buds"), mk(label(202), "Buds")})
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("resend: %v", errs)
	}
}

// TestSim413: the simulator takes 5 objects per request; the client sends
// 10, gets 413, and sends batches of 5.
func TestSim413(t *testing.T) {
	sim, c, obs := simWorld(t, metrcsim.Options{ObjectLimit: 5}, func(o *Options) { o.ChunkSize = 10 })
	la, _ := time.LoadLocation("America/Los_Angeles")
	at := time.Now().In(la).Format(app.SalesDateTimeLayout)
	var rs []app.SalesReceipt
	for i := range 20 {
		rs = append(rs, app.SalesReceipt{SalesDateTime: at, SalesCustomerType: "Consumer", ExternalReceiptNumber: fmt.Sprint("R-", i),
			Transactions: []app.SalesTransaction{{PackageLabel: label(1), Quantity: 1, UnitOfMeasure: "Grams", TotalAmount: 10}}})
	}
	for i, e := range c.CreateReceipts(context.Background(), licA, rs) {
		if e != nil {
			t.Errorf("receipt %d: %v", i, e)
		}
	}
	var statuses []int
	for _, x := range obs.all() {
		statuses = append(statuses, x.Status)
	}
	if fmt.Sprint(statuses) != "[413 200 200 200 200]" {
		t.Errorf("statuses %v, want one 413 then four batches of 5", statuses)
	}
	for i := range 20 {
		if n := sim.CountReceipts(licA, fmt.Sprint("R-", i)); n != 1 {
			t.Errorf("receipt R-%d in Metrc %d times", i, n)
		}
	}
	if p, _ := sim.Package(licA, label(1)); p.Quantity != 80 {
		t.Errorf("quantity %v after 20 sales", p.Quantity)
	}
}

func TestSimAuth(t *testing.T) {
	sim, c, _ := simWorld(t, metrcsim.Options{}, nil)
	ctx := context.Background()
	bad, err := New(Options{BaseURL: c.base.String(), VendorKey: testVendor, UserKey: "wrong-user-key"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Items(ctx, licA); metrcErr(t, err).Class != app.ClassAuth {
		t.Errorf("wrong key: %v", err)
	}
	errs := bad.AdjustPackages(ctx, licA, []app.PackageAdjust{{Label: label(1)}})
	if metrcErr(t, errs[0]).Class != app.ClassAuth {
		t.Errorf("wrong key on a write: %v", errs[0])
	}
	checkNoKeys(t, errs[0].Error())
	sim.SetLicenseAccess(licB, false)
	if _, err := c.Packages(ctx, licB, true, time.Time{}, time.Time{}); metrcErr(t, err).Class != app.ClassAuth {
		t.Errorf("license without access: %v", err)
	}
	if _, err := c.PackageByLabel(ctx, licB, label(900)); metrcErr(t, err).Class != app.ClassAuth || errors.Is(err, app.ErrNotFound) {
		t.Errorf("lookup in a license without access: %v", err)
	}
}

// TestSimFaults: each fault mode of the simulator gives the engine the
// class it needs.
func TestSimFaults(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	receipt := func(n string) []app.SalesReceipt {
		return []app.SalesReceipt{{SalesDateTime: time.Now().In(la).Format(app.SalesDateTimeLayout), SalesCustomerType: "Consumer",
			ExternalReceiptNumber: n, Transactions: []app.SalesTransaction{{PackageLabel: label(1), Quantity: 1, UnitOfMeasure: "Grams", TotalAmount: 1}}}}
	}
	tests := []struct {
		name     string
		faults   metrcsim.Faults
		getClass app.ErrorClass
		putClass app.ErrorClass // a POST of one receipt
		applied  int            // how many times the receipt landed
		message  string
	}{
		{"503 html", metrcsim.Faults{Outage: metrcsim.Outage503}, app.ClassAmbiguous, app.ClassAmbiguous, 0, ""},
		{"drop", metrcsim.Faults{Outage: metrcsim.OutageDrop}, app.ClassAmbiguous, app.ClassAmbiguous, 0, ""},
		{"hang", metrcsim.Faults{Outage: metrcsim.OutageHang}, app.ClassAmbiguous, app.ClassAmbiguous, 0, "timeout"},
		{"500", metrcsim.Faults{Fail500: []string{"/"}}, app.ClassAmbiguous, app.ClassAmbiguous, 0, ""},
		{"accept then drop", metrcsim.Faults{DropAfterApply: 1}, 0, app.ClassAmbiguous, 1, ""},
		{"latency", metrcsim.Faults{Latency: 50 * time.Millisecond}, 0, 0, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, c, obs := simWorld(t, metrcsim.Options{RandSeed: 1}, func(o *Options) { o.Timeout = 500 * time.Millisecond })
			sim.SetFaults(tt.faults)
			_, err := c.Locations(context.Background(), licA)
			if tt.getClass == 0 {
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
			} else if me := metrcErr(t, err); me.Class != tt.getClass || !strings.Contains(me.Error(), tt.message) {
				t.Fatalf("GET: %v (class %v)", err, me.Class)
			}
			errs := c.CreateReceipts(context.Background(), licA, receipt("R-F"))
			if tt.putClass == 0 {
				if errs[0] != nil {
					t.Fatalf("POST: %v", errs[0])
				}
			} else if me := metrcErr(t, errs[0]); me.Class != tt.putClass {
				t.Fatalf("POST: %v (class %v)", errs[0], me.Class)
			}
			if n := sim.CountReceipts(licA, "R-F"); n != tt.applied {
				t.Errorf("receipt applied %d times, want %d", n, tt.applied)
			}
			if tt.name == "503 html" {
				me := metrcErr(t, errs[0])
				if len(me.Messages) != 1 || len(me.Messages[0]) > maxHTMLMessage*3 || strings.Contains(me.Messages[0], "<") {
					t.Errorf("HTML page message %q", me.Messages)
				}
			}
			if tt.name == "latency" {
				for _, x := range obs.all() {
					if x.Duration < 50*time.Millisecond {
						t.Errorf("call %s took %s with 50 ms latency", x.Endpoint, x.Duration)
					}
				}
			}
			// Verification after the outage: the lookup says whether it landed.
			sim.SetFaults(metrcsim.Faults{})
			_, err = c.ReceiptByExternalNumber(context.Background(), licA, "R-F")
			if (tt.applied == 1) != (err == nil) || (err != nil && !errors.Is(err, app.ErrNotFound)) {
				t.Errorf("verification: %v", err)
			}
		})
	}
}

func TestSimRateLimited(t *testing.T) {
	sim, c, _ := simWorld(t, metrcsim.Options{}, nil) // client at 50/s
	sim.SetFaults(metrcsim.Faults{GetRateLimit: 2, RetryAfter: 2 * time.Second})
	var err error
	for range 10 {
		if _, err = c.Items(context.Background(), licA); err != nil {
			break
		}
	}
	me := metrcErr(t, err)
	if me.Class != app.ClassRateLimited || me.Status != 429 || me.RetryAfter != 2*time.Second {
		t.Fatalf("429: %+v", me)
	}
	before := sim.Stats().RateLimited
	_, err = c.Items(context.Background(), licA)
	if me := metrcErr(t, err); me.Class != app.ClassRateLimited || me.Status != 0 {
		t.Errorf("during Retry-After: %+v", me)
	}
	if sim.Stats().RateLimited != before {
		t.Error("the client called Metrc during Retry-After")
	}
}

// TestSimGetRate: at the default 5/s the client never trips a simulator
// limiting at 6/s.
func TestSimGetRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 s")
	}
	sim, c, _ := simWorld(t, metrcsim.Options{}, func(o *Options) { o.GetRate = 5 })
	sim.SetFaults(metrcsim.Faults{GetRateLimit: 6})
	for i := range 10 {
		if _, err := c.Locations(context.Background(), licA); err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
	}
	if n := sim.Stats().RateLimited; n != 0 {
		t.Errorf("%d 429s", n)
	}
}

// TestSimDemoSeed: the demo world (hundreds of packages, transfers) reads
// back in full through pagination and windows.
func TestSimDemoSeed(t *testing.T) {
	sim := metrcsim.New(metrcsim.Options{Seed: "demo"})
	if len(sim.Licenses()) == 0 {
		t.Skip("the simulator's demo seed is empty")
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL, VendorKey: metrcsim.DemoVendorKey, UserKey: metrcsim.DemoUserKey, GetRate: MaxGetRate})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fs, err := c.Facilities(ctx)
	if err != nil || len(fs) < 2 {
		t.Fatalf("facilities %+v, %v", fs, err)
	}
	for _, f := range fs {
		want := 0
		for _, p := range sim.Packages(f.License) {
			if p.Active() {
				want++
			}
		}
		ps, err := c.Packages(ctx, f.License, true, time.Time{}, time.Time{})
		if err != nil || len(ps) != want {
			t.Errorf("%s: %d active packages read, %d in the simulator, %v", f.License, len(ps), want, err)
		}
		for _, p := range ps {
			if len(p.Label) != 24 || p.Item == "" || p.UnitOfMeasure == "" || p.LastModified.IsZero() {
				t.Errorf("%s: package %+v", f.License, p)
				break
			}
		}
		ts, err := c.IncomingTransfers(ctx, f.License, time.Now().Add(-30*24*time.Hour), time.Now().Add(time.Minute))
		if err != nil || len(ts) != len(sim.Transfers(f.License)) {
			t.Errorf("%s: %d transfers read, %d in the simulator, %v", f.License, len(ts), len(sim.Transfers(f.License)), err)
		}
		t.Logf("%s %q: %d active packages, %d incoming transfers", f.License, f.Name, len(ps), len(ts))
	}
}

// TestSimSynctest: inside a testing/synctest bubble (the engine's tests)
// the client works over the simulator's in-memory transport, and its
// limiter spaces GETs exactly: 11 GETs at 5/s take 10 intervals of fake time.
func TestSimSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim := metrcsim.New(metrcsim.Options{Seed: "empty"})
		sim.AddLicense(licA, "A")
		c, err := New(Options{BaseURL: "http://127.0.0.1", VendorKey: metrcsim.DemoVendorKey, UserKey: metrcsim.DemoUserKey,
			HTTPClient: &http.Client{Transport: sim.Transport()}, GetRate: 5})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for range 11 {
			if _, err := c.Locations(context.Background(), licA); err != nil {
				t.Fatal(err)
			}
		}
		want := 10 * time.Duration(float64(time.Second)/5*(1+margin))
		if got := time.Since(start); got != want {
			t.Errorf("11 GETs at 5/s took %s of fake time, want %s", got, want)
		}
		sim.SetFaults(metrcsim.Faults{Outage: metrcsim.OutageHang})
		_, err = c.Locations(context.Background(), licA)
		if me := metrcErr(t, err); me.Class != app.ClassAmbiguous {
			t.Errorf("hang in a bubble: %v", err)
		}
	})
}

// lateTransport forwards to a round tripper set after the client is built.
type lateTransport struct{ rt http.RoundTripper }

func (l *lateTransport) RoundTrip(r *http.Request) (*http.Response, error) { return l.rt.RoundTrip(r) }

// Over the simulator's in-memory transport (the one synctest bubbles use),
// a write that was applied and then lost its answer is ambiguous too, so
// the engine verifies it before any resend instead of sending it again.
func TestSimTransportAcceptThenDropIsAmbiguous(t *testing.T) {
	lt := &lateTransport{}
	sim, c, _ := simWorld(t, metrcsim.Options{RandSeed: 1}, func(o *Options) { o.HTTPClient = &http.Client{Transport: lt} })
	lt.rt = sim.Transport()
	sim.SetFaults(metrcsim.Faults{DropAfterApply: 1})
	la, _ := time.LoadLocation("America/Los_Angeles")
	errs := c.CreateReceipts(context.Background(), licA, []app.SalesReceipt{{
		SalesDateTime: time.Now().In(la).Format(app.SalesDateTimeLayout), SalesCustomerType: "Consumer", ExternalReceiptNumber: "R-MEM",
		Transactions: []app.SalesTransaction{{PackageLabel: label(1), Quantity: 1, UnitOfMeasure: "Grams", TotalAmount: 1}}}})
	if me := metrcErr(t, errs[0]); me.Class != app.ClassAmbiguous {
		t.Fatalf("accept then drop in memory: %v (class %v), want no answer", errs[0], me.Class)
	}
	if n := sim.CountReceipts(licA, "R-MEM"); n != 1 {
		t.Fatalf("receipt applied %d times, want 1", n)
	}
}
