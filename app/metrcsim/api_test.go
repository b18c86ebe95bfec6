package metrcsim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.AddLicense("C10-0000003-LIC", "Revoked")
	w.sim.SetLicenseAccess("C10-0000003-LIC", false)
	cases := []struct {
		name, path, vendor, user string
		status                   int
	}{
		{"no auth", "/packages/v2/active" + q(licA), "", "", 401},
		{"wrong vendor key", "/packages/v2/active" + q(licA), "nope", DemoUserKey, 401},
		{"wrong user key", "/packages/v2/active" + q(licA), DemoVendorKey, "nope", 401},
		{"unknown license", "/packages/v2/active" + q("C10-9999999-LIC"), DemoVendorKey, DemoUserKey, 401},
		{"revoked license", "/packages/v2/active" + q("C10-0000003-LIC"), DemoVendorKey, DemoUserKey, 401},
		{"no licenseNumber", "/packages/v2/active", DemoVendorKey, DemoUserKey, 400},
		{"another license's package", "/packages/v2/" + tagB1 + q(licA), DemoVendorKey, DemoUserKey, 401},
		{"unknown label", "/packages/v2/1A4FF0100000022000999999" + q(licA), DemoVendorKey, DemoUserKey, 404},
		{"ok", "/packages/v2/active" + q(licA), DemoVendorKey, DemoUserKey, 200},
		{"unknown path", "/plants/v2/active" + q(licA), DemoVendorKey, DemoUserKey, 404},
		{"wrong method", "/packages/v2/finish" + q(licA), DemoVendorKey, DemoUserKey, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := w.try(context.Background(), http.MethodGet, c.path, nil, c.vendor, c.user)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != c.status {
				t.Fatalf("status %d, want %d (%s)", a.status, c.status, a.body)
			}
			if c.status == 401 && !strings.Contains(string(a.body), "Authorization has been denied") {
				t.Errorf("401 body %s", a.body)
			}
		})
	}
	// a write with wrong keys changes nothing
	body := []map[string]any{{"Label": tagP1, "Quantity": -1, "UnitOfMeasure": "Grams", "AdjustmentReason": "Drying", "AdjustmentDate": "2026-03-10"}}
	a, _ := w.try(context.Background(), http.MethodPost, "/packages/v2/adjust"+q(licA), body, DemoVendorKey, "bad")
	w.want(a, 401)
	if got := w.qty(licA, tagP1); got != 100 {
		t.Errorf("quantity %v after a rejected write", got)
	}
}

func TestReferenceData(t *testing.T) {
	w := newTestWorld(t, nil)
	for _, p := range []string{"/facilities/v2/", "/facilities/v2"} {
		var fs []struct {
			Name    string
			License struct{ Number, LicenseType string }
		}
		w.call("GET", p, nil).json(t, &fs)
		if len(fs) != 2 || fs[0].License.Number != licA || fs[0].Name != "Test Shop A" {
			t.Fatalf("%s: %+v", p, fs)
		}
	}
	var us []wireUnit
	w.call("GET", "/unitsofmeasure/v2/active", nil).json(t, &us)
	found := false
	for _, u := range us {
		found = found || (u.Name == "Grams" && u.Abbreviation == "g" && u.QuantityType == "WeightBased")
	}
	if !found {
		t.Errorf("units %+v", us)
	}
	var items page[wireItem]
	w.call("GET", "/items/v2/active"+q(licA), nil).json(t, &items)
	if items.Total != 2 || items.Data[0].Name != "Flower" || items.Data[0].UnitOfMeasureName != "Grams" {
		t.Errorf("items %+v", items)
	}
	var locs page[wireLocation]
	w.call("GET", "/locations/v2/active"+q(licA), nil).json(t, &locs)
	if locs.Total != 2 || locs.Data[1].Name != "Vault" {
		t.Errorf("locations %+v", locs)
	}
}

func TestPagination(t *testing.T) {
	w := newTestWorld(t, nil)
	for i := 0; i < 43; i++ { // 45 active with P1, P2
		w.sim.AddPackage(licA, SimPackage{Label: fmt.Sprintf("1A4FF0100000022000%06d", 100+i), Item: "Flower", Quantity: 1, UnitOfMeasure: "Grams"})
	}
	var all page[pkgRead]
	w.call("GET", "/packages/v2/active"+q(licA), nil).json(t, &all)
	if all.Total != 45 || all.TotalRecords != 45 || len(all.Data) != 45 || all.TotalPages != 1 || all.PageSize != 45 || all.RecordsOnPage != 45 {
		t.Fatalf("unpaged: %+v", all)
	}
	seen := map[string]bool{}
	for n, want := range []int{20, 20, 5, 0} {
		var p page[pkgRead]
		w.call("GET", fmt.Sprintf("/packages/v2/active%s&pageNumber=%d&pageSize=20", q(licA), n+1), nil).json(t, &p)
		if p.RecordsOnPage != want || len(p.Data) != want || p.TotalPages != 3 || p.Page != n+1 || p.CurrentPage != n+1 || p.PageSize != 20 || p.Total != 45 {
			t.Fatalf("page %d: %+v", n+1, p)
		}
		for _, d := range p.Data {
			seen[d.Label] = true
		}
	}
	if len(seen) != 45 {
		t.Errorf("pages gave %d distinct packages", len(seen))
	}
	for _, bad := range []string{"&pageSize=21", "&pageSize=0", "&pageSize=x", "&pageNumber=0&pageSize=5"} {
		w.want(w.call("GET", "/packages/v2/active"+q(licA)+bad, nil), 400)
	}
}

func TestLastModifiedWindow(t *testing.T) {
	w := newTestWorld(t, nil)
	base := w.clk.Now()
	w.sim.AddPackage(licA, SimPackage{Label: "1A4FF0100000022000000010", Item: "Flower", Quantity: 1, UnitOfMeasure: "Grams", LastModified: base.Add(-30 * time.Hour)})
	w.sim.AddPackage(licA, SimPackage{Label: "1A4FF0100000022000000011", Item: "Flower", Quantity: 1, UnitOfMeasure: "Grams", LastModified: base.Add(-2 * time.Hour)})
	w.sim.AddPackage(licA, SimPackage{Label: "1A4FF0100000022000000012", Item: "Flower", Quantity: 0, UnitOfMeasure: "Grams", FinishedDate: "2026-03-10", LastModified: base.Add(-time.Hour)})
	get := func(kind string, from, to time.Time) (answer, []string) {
		path := fmt.Sprintf("/packages/v2/%s%s&lastModifiedStart=%s&lastModifiedEnd=%s", kind, q(licA),
			url.QueryEscape(from.Format(time.RFC3339)), url.QueryEscape(to.Format(time.RFC3339)))
		a := w.call("GET", path, nil)
		var p page[pkgRead]
		var labels []string
		if a.status == 200 {
			a.json(t, &p)
			for _, d := range p.Data {
				labels = append(labels, d.Label)
			}
		}
		return a, labels
	}
	pdt := time.FixedZone("PDT", -7*3600)
	_, got := get("active", base.Add(-3*time.Hour).In(pdt), base.Add(-90*time.Minute).In(pdt))
	if len(got) != 1 || got[0] != "1A4FF0100000022000000011" {
		t.Errorf("active window: %v", got)
	}
	_, got = get("inactive", base.Add(-24*time.Hour), base)
	if len(got) != 1 || got[0] != "1A4FF0100000022000000012" {
		t.Errorf("inactive window: %v", got)
	}
	a, _ := get("active", base.Add(-24*time.Hour-time.Second), base)
	w.want(a, 400)
	a, _ = get("active", base, base.Add(-time.Hour))
	w.want(a, 400)
	// only one end, an unencoded '+' (decoded as a space), garbage
	w.want(w.call("GET", "/packages/v2/active"+q(licA)+"&lastModifiedStart=2026-03-10T00:00:00Z", nil), 400)
	w.want(w.call("GET", "/packages/v2/active"+q(licA)+"&lastModifiedStart=2026-03-10T00:00:00+00:00&lastModifiedEnd=2026-03-10T01:00:00+00:00", nil), 400)
	w.want(w.call("GET", "/packages/v2/active"+q(licA)+"&lastModifiedStart=x&lastModifiedEnd=y", nil), 400)
	// LastModified comes back with an offset
	var p pkgRead
	w.call("GET", "/packages/v2/1A4FF0100000022000000011"+q(licA), nil).json(t, &p)
	if p.LastModified != "2026-03-10T16:00:00+00:00" {
		t.Errorf("LastModified %q", p.LastModified)
	}
}

func createBody(tag, item string, qty float64, unit string, ings ...map[string]any) map[string]any {
	return map[string]any{"Tag": tag, "Location": "Floor", "Item": item, "Quantity": qty, "UnitOfMeasure": unit,
		"ActualDate": "2026-03-10", "Ingredients": ings}
}

func ing(label string, qty float64, unit string) map[string]any {
	return map[string]any{"Package": label, "Quantity": qty, "UnitOfMeasure": unit}
}

func TestCreatePackagesDeductsIngredients(t *testing.T) {
	w := newTestWorld(t, nil)
	const n1, n2 = "1A4FF0100000022000000101", "1A4FF0100000022000000102"
	a := w.call("POST", "/packages/v2"+q(licA), []any{
		createBody(n1, "Jar 3.5g", 10, "Each", ing(tagP1, 35, "Grams")),
		createBody(n2, "Flower", 1, "Ounces", ing(tagP1, 1, "Ounces")), // 28.349523 g
	})
	w.want(a, 200)
	var res struct {
		Ids      []int64
		Warnings []string
	}
	a.json(t, &res)
	if len(res.Ids) != 2 || !strings.Contains(string(a.body), `"Warnings":null`) {
		t.Fatalf("answer %s", a.body)
	}
	if got := w.qty(licA, tagP1); got != 36.650477 {
		t.Errorf("ingredient left %v, want 36.650477", got)
	}
	var p pkgRead
	w.call("GET", "/packages/v2/"+n1+q(licA), nil).json(t, &p)
	if p.Id != res.Ids[0] || p.Quantity != 10 || p.Item.Name != "Jar 3.5g" || p.LocationName == nil || *p.LocationName != "Floor" ||
		p.SourcePackageLabels == nil || *p.SourcePackageLabels != tagP1 {
		t.Errorf("created %+v", p)
	}
	// by ID too
	w.want(w.call("GET", fmt.Sprintf("/packages/v2/%d%s", res.Ids[1], q(licA)), nil), 200)
}

func TestValidationRejectsWholeRequest(t *testing.T) {
	w := newTestWorld(t, nil)
	const n1 = "1A4FF0100000022000000201"
	cases := []struct {
		name string
		obj  map[string]any
		msg  string
	}{
		{"tag in use", createBody(tagP2, "Flower", 1, "Grams", ing(tagP1, 1, "Grams")), "already in use"},
		{"tag of another license", createBody(tagB1, "Flower", 1, "Grams", ing(tagP1, 1, "Grams")), "already in use"},
		{"unknown item", createBody("1A4FF0100000022000000202", "Nope", 1, "Grams", ing(tagP1, 1, "Grams")), "Item"},
		{"unknown unit", createBody("1A4FF0100000022000000203", "Flower", 1, "Bushels", ing(tagP1, 1, "Grams")), "Unit of Measure"},
		{"unit of wrong kind", createBody("1A4FF0100000022000000204", "Flower", 1, "Each", ing(tagP1, 1, "Grams")), "cannot be used"},
		{"unknown location", func() map[string]any {
			b := createBody("1A4FF0100000022000000205", "Flower", 1, "Grams", ing(tagP1, 1, "Grams"))
			b["Location"] = "Roof"
			return b
		}(), "Location"},
		{"ingredient missing", createBody("1A4FF0100000022000000206", "Flower", 1, "Grams", ing("1A4FF0100000022000999999", 1, "Grams")), "could not be found"},
		{"ingredient of another license", createBody("1A4FF0100000022000000207", "Flower", 1, "Grams", ing(tagB1, 1, "Grams")), "could not be found"},
		{"ingredient short", createBody("1A4FF0100000022000000208", "Flower", 1, "Grams", ing(tagP1, 100.5, "Grams")), "insufficient quantity"},
		{"no ingredients", createBody("1A4FF0100000022000000209", "Flower", 1, "Grams"), "ingredient"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			good := createBody(n1, "Flower", 1, "Grams", ing(tagP1, 1, "Grams"))
			a := w.call("POST", "/packages/v2"+q(licA), []any{good, c.obj})
			w.want(a, 400)
			rs := rows(t, a)
			if !hasRow(rs, 1, c.msg) || hasRow(rs, 0, "") {
				t.Errorf("rows %+v, want row 1 with %q", rs, c.msg)
			}
			if w.sim.CountPackagesByTag(licA, n1) != 0 || w.qty(licA, tagP1) != 100 {
				t.Errorf("the valid object was applied")
			}
		})
	}
	// the same tag twice in one request, and two ingredients that together overdraw
	a := w.call("POST", "/packages/v2"+q(licA), []any{
		createBody(n1, "Flower", 1, "Grams", ing(tagP1, 60, "Grams")),
		createBody(n1, "Flower", 1, "Grams", ing(tagP1, 60, "Grams")),
	})
	w.want(a, 400)
	rs := rows(t, a)
	if !hasRow(rs, 1, "already in use") || !hasRow(rs, 1, "insufficient") || len(rs) != 2 {
		t.Errorf("rows %+v", rs)
	}
	// not an array, empty array
	w.want(w.call("POST", "/packages/v2"+q(licA), map[string]any{"Tag": n1}), 400)
	w.want(w.call("POST", "/packages/v2"+q(licA), []any{}), 400)
}

func receipt(ext, at string, lines ...map[string]any) map[string]any {
	return map[string]any{"SalesDateTime": at, "SalesCustomerType": "Consumer", "ExternalReceiptNumber": ext, "Transactions": lines}
}

func line(label string, qty float64, unit string, amount float64) map[string]any {
	return map[string]any{"PackageLabel": label, "Quantity": qty, "UnitOfMeasure": unit, "TotalAmount": amount}
}

func TestReceiptsDeductAndDuplicate(t *testing.T) {
	w := newTestWorld(t, nil)
	body := []any{receipt("R-1", "2026-03-10T10:15:00.000", line(tagP2, 2, "Each", 70), line(tagP1, 3.5, "Grams", 35))}
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), body), 200)
	if w.qty(licA, tagP2) != 48 || w.qty(licA, tagP1) != 96.5 {
		t.Fatalf("not deducted: %v %v", w.qty(licA, tagP2), w.qty(licA, tagP1))
	}
	// like Metrc, the same POST again records a second receipt
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), body), 200)
	if n := w.sim.CountReceipts(licA, "R-1"); n != 2 {
		t.Errorf("CountReceipts %d, want 2", n)
	}
	if w.qty(licA, tagP2) != 46 {
		t.Errorf("second receipt not deducted")
	}
	var r struct {
		Id                    int64
		ExternalReceiptNumber string
		SalesDateTime         string
		TotalPackages         int
		TotalPrice            float64
		LastModified          string
		Transactions          []struct {
			PackageLabel string
			QuantitySold float64
		}
	}
	w.call("GET", "/sales/v2/receipts/external/R-1"+q(licA), nil).json(t, &r)
	if r.SalesDateTime != "2026-03-10T10:15:00.000" || r.TotalPackages != 2 || r.TotalPrice != 105 ||
		len(r.Transactions) != 2 || r.Transactions[0].QuantitySold != 2 || !strings.HasSuffix(r.LastModified, "+00:00") {
		t.Errorf("receipt %+v", r)
	}
	w.want(w.call("GET", "/sales/v2/receipts/external/R-404"+q(licA), nil), 404)
	w.want(w.call("GET", "/sales/v2/receipts/external/R-1"+q(licB), nil), 401)
	w.want(w.call("GET", fmt.Sprintf("/sales/v2/receipts/%d%s", r.Id, q(licA)), nil), 200)

	// active receipts by sales date (facility-local wall clock)
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), []any{receipt("R-2", "2026-03-11T09:00:00.000", line(tagP2, 1, "Each", 35))}), 200)
	var list page[wireReceipt]
	w.call("GET", "/sales/v2/receipts/active"+q(licA)+"&salesDateStart=2026-03-10&salesDateEnd=2026-03-10", nil).json(t, &list)
	if list.Total != 2 || list.Data[0].ExternalReceiptNumber != "R-1" {
		t.Errorf("sales date filter: %+v", list)
	}
	w.call("GET", "/sales/v2/receipts/active"+q(licA)+"&salesDateStart=2026-03-11T00:00:00&salesDateEnd=2026-03-11T23:59:59", nil).json(t, &list)
	if list.Total != 1 || list.Data[0].ExternalReceiptNumber != "R-2" {
		t.Errorf("sales date filter: %+v", list)
	}
	w.want(w.call("GET", "/sales/v2/receipts/active"+q(licA)+"&salesDateStart=2026-03-11&salesDateEnd=2026-03-11&lastModifiedStart=2026-03-11T00:00:00Z&lastModifiedEnd=2026-03-11T01:00:00Z", nil), 400)

	// validation: short, missing package, on hold, bad type, bad date
	w.sim.SetOnHold(licA, tagP1, true)
	a := w.call("POST", "/sales/v2/receipts"+q(licA), []any{
		receipt("R-3", "2026-03-11T09:00:00.000", line(tagP2, 1000, "Each", 1)),
		receipt("R-4", "2026-03-11T09:00:00.000", line("1A4FF0100000022000999999", 1, "Each", 1)),
		receipt("R-5", "2026-03-11T09:00:00.000", line(tagP1, 1, "Grams", 1)),
		map[string]any{"SalesDateTime": "yesterday", "SalesCustomerType": "Alien", "Transactions": []any{line(tagP2, 1, "Each", 1)}},
	})
	w.want(a, 400)
	rs := rows(t, a)
	for i, m := range []string{"insufficient quantity", "could not be found", "on hold", "SalesDateTime"} {
		if !hasRow(rs, i, m) {
			t.Errorf("row %d: want %q in %+v", i, m, rs)
		}
	}
	if w.sim.CountReceipts(licA, "R-3") != 0 {
		t.Error("rejected receipt recorded")
	}
}

func TestAdjustMoveFinish(t *testing.T) {
	w := newTestWorld(t, nil)
	adj := func(label string, qty float64, unit string) map[string]any {
		return map[string]any{"Label": label, "Quantity": qty, "UnitOfMeasure": unit, "AdjustmentReason": "Drying", "AdjustmentDate": "2026-03-10", "ReasonNote": "n"}
	}
	a := w.call("POST", "/packages/v2/adjust"+q(licA), []any{adj(tagP1, -0.1, "Kilograms"), adj(tagP2, 5, "Each")})
	w.want(a, 200)
	if w.qty(licA, tagP1) != 0 || w.qty(licA, tagP2) != 55 {
		t.Fatalf("adjust: %v %v", w.qty(licA, tagP1), w.qty(licA, tagP2))
	}
	w.want(w.call("POST", "/packages/v2/adjust"+q(licA), []any{adj(tagP1, -1, "Grams")}), 400)
	w.want(w.call("POST", "/packages/v2/adjust"+q(licA), []any{adj(tagP2, -1, "Grams")}), 400) // kind mismatch
	var adjs page[wireAdjustment]
	w.call("GET", "/packages/v2/adjustments"+q(licA), nil).json(t, &adjs)
	if adjs.Total != 2 || adjs.Data[0].PackageLabel != tagP1 || adjs.Data[0].AdjustmentQuantity != -0.1 ||
		adjs.Data[0].AdjustmentUnitOfMeasureName != "Kilograms" || adjs.Data[0].AdjustmentReasonName != "Drying" {
		t.Errorf("adjustments %+v", adjs)
	}

	a = w.call("PUT", "/packages/v2/location"+q(licA), []any{map[string]any{"Label": tagP2, "Location": "Vault", "MoveDate": "2026-03-10"}})
	w.want(a, 200)
	if len(a.body) != 0 {
		t.Errorf("PUT body %q", a.body)
	}
	if p, _ := w.sim.Package(licA, tagP2); p.Location != "Vault" {
		t.Errorf("location %q", p.Location)
	}
	w.want(w.call("PUT", "/packages/v2/location"+q(licA), []any{map[string]any{"Label": tagP2, "Location": "Roof", "MoveDate": "2026-03-10"}}), 400)

	// only an empty package finishes
	a = w.call("PUT", "/packages/v2/finish"+q(licA), []any{map[string]any{"Label": tagP1, "ActualDate": "2026-03-10"}, map[string]any{"Label": tagP2, "ActualDate": "2026-03-10"}})
	w.want(a, 400)
	if rs := rows(t, a); !hasRow(rs, 1, "cannot be finished") || len(rs) != 1 {
		t.Errorf("rows %+v", rs)
	}
	w.want(w.call("PUT", "/packages/v2/finish"+q(licA), []any{map[string]any{"Label": tagP1, "ActualDate": "2026-03-10"}}), 200)
	var inactive page[pkgRead]
	w.call("GET", "/packages/v2/inactive"+q(licA), nil).json(t, &inactive)
	if inactive.Total != 1 || inactive.Data[0].Label != tagP1 || inactive.Data[0].FinishedDate == nil {
		t.Errorf("inactive %+v", inactive)
	}
	w.want(w.call("PUT", "/packages/v2/finish"+q(licA), []any{map[string]any{"Label": tagP1, "ActualDate": "2026-03-10"}}), 400)
}

func TestObjectLimit(t *testing.T) {
	for _, limit := range []int{0, 5} {
		w := newTestWorld(t, func(o *Options) { o.ObjectLimit = limit })
		max := limit
		if max == 0 {
			max = DefaultObjectLimit
		}
		mk := func(n int) []any {
			var out []any
			for i := 0; i < n; i++ {
				out = append(out, receipt(fmt.Sprintf("L-%d", i), "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1)))
			}
			return out
		}
		w.want(w.call("POST", "/sales/v2/receipts"+q(licA), mk(max+1)), 413)
		if w.qty(licA, tagP2) != 50 {
			t.Fatal("413 applied something")
		}
		w.want(w.call("POST", "/sales/v2/receipts"+q(licA), mk(max)), 200)
		if w.qty(licA, tagP2) != float64(50-max) {
			t.Fatalf("limit %d: quantity %v", max, w.qty(licA, tagP2))
		}
	}
}

func TestTemplates(t *testing.T) {
	w := newTestWorld(t, nil)
	tpl := map[string]any{"Name": "Weekly run", "Destinations": []any{map[string]any{
		"RecipientLicenseNumber": licB, "TransferTypeName": "Transfer",
		"Packages": []any{map[string]any{"PackageLabel": tagP2}},
	}}}
	w.want(w.call("POST", "/transfers/v2/templates/outgoing"+q(licA), []any{tpl}), 200)
	if ts := w.sim.Templates(licA); len(ts) != 1 || ts[0].Name != "Weekly run" {
		t.Errorf("templates %+v", ts)
	}
	tpl["Destinations"].([]any)[0].(map[string]any)["Packages"] = []any{map[string]any{"PackageLabel": tagB1}}
	w.want(w.call("POST", "/transfers/v2/templates/outgoing"+q(licA), []any{tpl}), 400)
}

func TestDemoSeedAndTransfers(t *testing.T) {
	s := New(Options{Seed: "demo", Now: newClock().Now})
	srv := newServerFor(t, s)
	if ls := s.Licenses(); len(ls) != 2 || ls[0] != DemoDistributorLicense || ls[1] != DemoRetailLicense {
		t.Fatalf("licenses %v", ls)
	}
	ps := s.Packages(DemoRetailLicense)
	if len(ps) < 200 {
		t.Fatalf("%d retail packages", len(ps))
	}
	for _, p := range ps {
		if len(p.Label) != 24 || p.Item == "" {
			t.Fatalf("package %+v", p)
		}
	}
	var in page[wireTransfer]
	srv.call("GET", "/transfers/v2/incoming"+q(DemoRetailLicense), nil).json(t, &in)
	if in.Total < 5 || in.Data[0].ShipperFacilityName != DemoDistributorName || in.Data[0].DeliveryId == 0 {
		t.Fatalf("incoming %+v", in)
	}
	var ds page[wireDelivery]
	srv.call("GET", fmt.Sprintf("/transfers/v2/%d/deliveries", in.Data[0].Id), nil).json(t, &ds)
	if ds.Total != 1 || ds.Data[0].Id != in.Data[0].DeliveryId {
		t.Fatalf("deliveries %+v", ds)
	}
	var dp page[wireDeliveryPackage]
	srv.call("GET", fmt.Sprintf("/transfers/v2/deliveries/%d/packages", ds.Data[0].Id), nil).json(t, &dp)
	if dp.Total != in.Data[0].PackageCount || dp.Data[0].ShipmentPackageState != "Accepted" || len(dp.Data[0].PackageLabel) != 24 {
		t.Fatalf("delivery packages %+v", dp)
	}
	// accepted packages are the retailer's now
	if _, ok := s.Package(DemoRetailLicense, dp.Data[0].PackageLabel); !ok {
		t.Error("accepted package not in the retailer's inventory")
	}
	srv.want(srv.call("GET", "/transfers/v2/deliveries/999999999/packages", nil), 404)
	var rs page[wireReceipt]
	srv.call("GET", "/sales/v2/receipts/active"+q(DemoRetailLicense), nil).json(t, &rs)
	if rs.Total != 40 || len(rs.Data[0].SalesDateTime) != len("2006-01-02T15:04:05.000") {
		t.Errorf("demo receipts %d %+v", rs.Total, rs.Data[0])
	}
	// two demo worlds are the same
	if a, b := New(Options{Seed: "demo", Now: newClock().Now}).Packages(DemoRetailLicense), ps; fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("demo seed is not deterministic")
	}
}

func newServerFor(t *testing.T, s *Sim) *testWorld {
	srv := newHTTPServer(t, s)
	return &testWorld{t: t, sim: s, srv: srv}
}

func TestConcurrentClients(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetPackageQuantity(licA, tagP2, 1000)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				body := []any{receipt(fmt.Sprintf("C-%d-%d", g, i), "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1))}
				a, err := w.try(context.Background(), "POST", "/sales/v2/receipts"+q(licA), body, DemoVendorKey, DemoUserKey)
				if err != nil || a.status != 200 {
					t.Errorf("post: %v %d", err, a.status)
				}
				if _, err := w.try(context.Background(), "GET", "/packages/v2/active"+q(licA), nil, DemoVendorKey, DemoUserKey); err != nil {
					t.Error(err)
				}
				_ = w.sim.Faults()
				_ = w.sim.Stats()
			}
		}(g)
	}
	wg.Wait()
	if got := w.qty(licA, tagP2); got != 920 {
		t.Errorf("quantity %v, want 920", got)
	}
	if st := w.sim.Stats(); st.WritesApplied != 80 || st.Requests["POST 200"] != 80 {
		t.Errorf("stats %+v", st)
	}
}

func TestAddPackageMovesLabel(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.AddPackage(licB, SimPackage{Label: tagP2, Item: "Jar 3.5g", Quantity: 5, UnitOfMeasure: "Each"})
	if _, ok := w.sim.Package(licA, tagP2); ok {
		t.Error("label still at A")
	}
	if p, ok := w.sim.Package(licB, tagP2); !ok || p.Quantity != 5 {
		t.Errorf("at B: %+v %v", p, ok)
	}
	w.want(w.call("GET", "/packages/v2/"+tagP2+q(licA), nil), 401)
	w.want(w.call("GET", "/packages/v2/"+tagP2+q(licB), nil), 200)
}
