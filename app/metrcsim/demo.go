package metrcsim

import (
	"fmt"
	"math/rand"
	"time"
)

// demoItems are the demo licenses' products: name, category, unit.
var demoItems = [][3]string{
	{"Blue Dream Flower", "Flower", "Grams"},
	{"OG Kush Flower", "Flower", "Grams"},
	{"Sour Diesel Flower", "Flower", "Grams"},
	{"Gelato Flower", "Flower", "Grams"},
	{"Mixed Shake", "Shake", "Ounces"},
	{"Gelato 3.5g Jar", "Flower", "Each"},
	{"Wedding Cake 3.5g Jar", "Flower", "Each"},
	{"Blue Dream 3.5g Jar", "Flower", "Each"},
	{"Gorilla Glue #4 1g Pre-Roll", "Pre-Roll Flower", "Each"},
	{"Jack Herer 1g Pre-Roll", "Pre-Roll Flower", "Each"},
	{"Pre-Roll Pack 5x0.5g", "Pre-Roll Flower", "Each"},
	{"Pineapple Express 0.5g Vape Cartridge", "Vape Cartridge (weight - each)", "Each"},
	{"Granddaddy Purple 1g Vape Cartridge", "Vape Cartridge (weight - each)", "Each"},
	{"Watermelon Gummies 100mg", "Edible (weight - each)", "Each"},
	{"Dark Chocolate Bar 100mg", "Edible (weight - each)", "Each"},
	{"Sparkling Lemonade 10mg", "Edible (volume - each)", "Each"},
	{"CBD:THC 1:1 Tincture 30ml", "Tincture (volume - each)", "Each"},
	{"Relief Balm 500mg", "Topical (weight - each)", "Each"},
	{"Live Resin Badder 1g", "Concentrate (each)", "Each"},
	{"Bulk Live Resin", "Concentrate", "Grams"},
}

var (
	demoRetailLocations      = []string{"Sales Floor", "Back Stock", "Vault", "Quarantine"}
	demoDistributorLocations = []string{"Warehouse A", "Warehouse B", "Quarantine Cage", "Shipping Dock"}
)

const (
	demoCultivatorLicense = "CCL18-0001234"
	demoCultivatorName    = "Humboldt Ridge Farms"
)

// demoLocation is the facilities' time zone (Pacific), for SalesDateTime.
func demoLocation() *time.Location {
	if loc, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return loc
	}
	return time.FixedZone("PST", -8*3600)
}

// seedDemo fills w with the demo data set. It draws from a fixed seed so
// every demo world starts the same (relative to now).
func seedDemo(w *world, now time.Time) {
	rng := rand.New(rand.NewSource(20210305))
	now = now.UTC().Truncate(time.Second)
	w.addLicense(DemoRetailLicense, DemoRetailName, "Commercial - Retailer")
	w.addLicense(DemoDistributorLicense, DemoDistributorName, "Commercial - Distributor")
	created := now.Add(-90 * 24 * time.Hour)
	for _, lic := range []string{DemoRetailLicense, DemoDistributorLicense} {
		for _, it := range demoItems {
			w.addItem(lic, it[0], it[1], it[2], created)
		}
	}
	for _, n := range demoRetailLocations {
		w.addLocation(DemoRetailLicense, n, created)
	}
	for _, n := range demoDistributorLocations {
		w.addLocation(DemoDistributorLicense, n, created)
	}
	seedPackages(w, rng, now, DemoRetailLicense, "1A4FF0100000022000", 240, demoRetailLocations)
	seedPackages(w, rng, now, DemoDistributorLicense, "1A4FF0200000011000", 90, demoDistributorLocations)
	seedTransfers(w, rng, now)
	seedReceipts(w, rng, now)
}

func demoQuantity(rng *rand.Rand, u string) float64 {
	switch u {
	case "Grams":
		return round(float64(100+rng.Intn(1900)) + float64(rng.Intn(10))/10)
	case "Ounces":
		return float64(4 + rng.Intn(60))
	}
	return float64(12 + rng.Intn(190))
}

func seedPackages(w *world, rng *rand.Rand, now time.Time, lic, prefix string, n int, locs []string) {
	for i := 1; i <= n; i++ {
		it := demoItems[rng.Intn(len(demoItems))]
		p := SimPackage{
			Label:         fmt.Sprintf("%s%06d", prefix, i),
			Item:          it[0],
			Quantity:      demoQuantity(rng, it[2]),
			UnitOfMeasure: it[2],
			Location:      locs[rng.Intn(len(locs)-1)], // not the quarantine
			PackagedDate:  now.Add(-time.Duration(2+rng.Intn(88)) * 24 * time.Hour).Format(dateLayout),
			LastModified:  now.Add(-time.Duration(rng.Intn(14*24*3600)) * time.Second),
		}
		switch {
		case i%12 == 0: // sold out and finished
			p.Quantity = 0
			p.FinishedDate = p.LastModified.Format(dateLayout)
		case i%37 == 0:
			p.OnHold = true
			p.Location = locs[len(locs)-1]
		}
		w.addPackage(lic, p, now)
	}
}

func seedTransfers(w *world, rng *rand.Rand, now time.Time) {
	next := 500001
	add := func(to, from, fromName string, days int, accepted bool) {
		created := now.Add(-time.Duration(days)*24*time.Hour - time.Duration(rng.Intn(8*3600))*time.Second)
		t := SimTransfer{ShipperLicense: from, ShipperName: fromName, Recipient: to, Created: created, LastModified: created}
		if accepted {
			t.Received = created.Add(3 * time.Hour)
			t.LastModified = t.Received
		}
		for k, np := 0, 3+rng.Intn(6); k < np; k++ {
			it := demoItems[rng.Intn(len(demoItems))]
			state := "Shipped"
			if accepted {
				state = "Accepted"
			}
			t.Packages = append(t.Packages, SimTransferPackage{
				Label: fmt.Sprintf("1A4FF0200000011000%06d", next), Item: it[0],
				Quantity: demoQuantity(rng, it[2]), UnitOfMeasure: it[2], State: state,
			})
			next++
		}
		w.addTransfer(t, now)
	}
	for d := 8; d >= 1; d-- {
		add(DemoRetailLicense, DemoDistributorLicense, DemoDistributorName, d, d > 3)
	}
	for d := 3; d >= 1; d-- {
		add(DemoDistributorLicense, demoCultivatorLicense, demoCultivatorName, d*2, d > 1)
	}
}

func seedReceipts(w *world, rng *rand.Rand, now time.Time) {
	l := w.Licenses[DemoRetailLicense]
	var sellable []*SimPackage
	for _, p := range l.Packages {
		if p.Active() && !p.OnHold && p.UnitOfMeasure == "Each" && p.Quantity > 10 {
			sellable = append(sellable, p)
		}
	}
	loc := demoLocation()
	for i := 1; i <= 40; i++ {
		at := now.Add(-time.Duration(7*24*3600*(41-i)/40) * time.Second)
		r := &SimReceipt{
			ID: w.id(), ExternalReceiptNumber: fmt.Sprintf("POS-%06d", i),
			SalesDateTime:     at.In(loc).Format("2006-01-02T15:04:05.000"),
			SalesCustomerType: "Consumer", RecordedDateTime: at, LastModified: at,
		}
		for k, nt := 0, 1+rng.Intn(3); k < nt; k++ {
			p := sellable[rng.Intn(len(sellable))]
			q := float64(1 + rng.Intn(2))
			p.Quantity -= q
			r.Transactions = append(r.Transactions, SimTransaction{
				PackageID: p.ID, PackageLabel: p.Label, Quantity: q, UnitOfMeasure: "Each",
				TotalAmount: round(q * float64(15+rng.Intn(45))),
			})
		}
		l.Receipts = append(l.Receipts, r)
	}
}
