package metrcsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkGetActivePackagesPage(b *testing.B) {
	s := New(Options{Seed: "demo"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/packages/v2/active"+q(DemoRetailLicense)+"&pageSize=20", nil)
	req.SetBasicAuth(DemoVendorKey, DemoUserKey)
	c := srv.Client()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp, err)
		}
		resp.Body.Close()
	}
}

func BenchmarkPostReceipt(b *testing.B) {
	s := New(Options{})
	s.AddLicense(licA, "A")
	s.AddItem(licA, "Jar", "Flower", "Each")
	s.AddPackage(licA, SimPackage{Label: tagP2, Item: "Jar", Quantity: 1e12, UnitOfMeasure: "Each"})
	i := 0
	for b.Loop() {
		i++
		body, _ := json.Marshal([]any{receipt(fmt.Sprint(i), "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1))})
		r := httptest.NewRequest("POST", "/sales/v2/receipts"+q(licA), bytes.NewReader(body))
		r.SetBasicAuth(DemoVendorKey, DemoUserKey)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body)
		}
	}
}

// FuzzWriteBodies: whatever a client posts, the simulator answers 200, 400
// or 413 and never panics.
func FuzzWriteBodies(f *testing.F) {
	f.Add("POST", "/packages/v2", `[{"Tag":"T","Item":"Flower","Quantity":1,"UnitOfMeasure":"Grams","ActualDate":"2026-03-10","Ingredients":[{"Package":"`+tagP1+`","Quantity":1,"UnitOfMeasure":"Grams"}]}]`)
	f.Add("POST", "/sales/v2/receipts", `[{"SalesDateTime":"2026-03-10T10:00:00.000","SalesCustomerType":"Consumer","Transactions":[{"PackageLabel":"`+tagP2+`","Quantity":1,"UnitOfMeasure":"Each"}]}]`)
	f.Add("POST", "/packages/v2/adjust", `[{"Label":"`+tagP1+`","Quantity":-1e308,"UnitOfMeasure":"Grams","AdjustmentReason":"x","AdjustmentDate":"2026-03-10"}]`)
	f.Add("PUT", "/packages/v2/finish", `[null, 3, "x"]`)
	f.Add("PUT", "/packages/v2/location", `{`)
	f.Add("POST", "/transfers/v2/templates/outgoing", `[{"Name":"n","Destinations":[{"Packages":[{}]}]}]`)
	s := New(Options{})
	s.AddLicense(licA, "A")
	s.AddItem(licA, "Flower", "Flower", "Grams")
	s.AddLocation(licA, "Floor")
	s.AddPackage(licA, SimPackage{Label: tagP1, Item: "Flower", Quantity: 100, UnitOfMeasure: "Grams"})
	s.AddPackage(licA, SimPackage{Label: tagP2, Item: "Flower", Quantity: 100, UnitOfMeasure: "Grams"})
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if method != "POST" && method != "PUT" {
			return
		}
		r := httptest.NewRequest(method, "http://sim"+"/x", bytes.NewBufferString(body))
		r.URL.Path = path
		r.URL.RawQuery = "licenseNumber=" + licA
		r.SetBasicAuth(DemoVendorKey, DemoUserKey)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, r)
		switch rec.Code {
		case 200, 400, 404, 405, 413:
		default:
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
	})
}
