package metrcsim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// served is every method and path template the simulator answers, with the
// query parameters it requires.
var served = []struct{ method, path, query string }{
	{"GET", "/facilities/v2", ""},
	{"GET", "/unitsofmeasure/v2/active", ""},
	{"GET", "/unitsofmeasure/v2/inactive", ""},
	{"GET", "/items/v2/active", "licenseNumber"},
	{"GET", "/locations/v2/active", "licenseNumber"},
	{"GET", "/packages/v2/active", "licenseNumber"},
	{"GET", "/packages/v2/inactive", "licenseNumber"},
	{"GET", "/packages/v2/onhold", "licenseNumber"},
	{"GET", "/packages/v2/adjustments", "licenseNumber"},
	{"GET", "/packages/v2/adjust/reasons", "licenseNumber"},
	{"GET", "/packages/v2/{label}", "licenseNumber"},
	{"GET", "/packages/v2/{id}", "licenseNumber"},
	{"POST", "/packages/v2", "licenseNumber"},
	{"POST", "/packages/v2/adjust", "licenseNumber"},
	{"PUT", "/packages/v2/location", "licenseNumber"},
	{"PUT", "/packages/v2/finish", "licenseNumber"},
	{"GET", "/transfers/v2/incoming", "licenseNumber"},
	{"GET", "/transfers/v2/{id}/deliveries", ""},
	{"GET", "/transfers/v2/deliveries/{id}/packages", ""},
	{"GET", "/transfers/v2/deliveries/packages/states", ""},
	{"GET", "/transfers/v2/templates/outgoing", "licenseNumber"},
	{"POST", "/transfers/v2/templates/outgoing", "licenseNumber"},
	{"POST", "/sales/v2/receipts", "licenseNumber"},
	{"GET", "/sales/v2/receipts/active", "licenseNumber"},
	{"GET", "/sales/v2/receipts/inactive", "licenseNumber"},
	{"GET", "/sales/v2/receipts/external/{externalNumber}", "licenseNumber"},
	{"GET", "/sales/v2/receipts/{id}", "licenseNumber"},
}

// TestConformsToPostman checks every served path against Metrc's California
// Postman collection (../shared/metrc), when it is present.
func TestConformsToPostman(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "metrc", "ca-postman.json"))
	if err != nil {
		t.Skipf("Metrc's documents are not here: %v", err)
	}
	var doc struct{ Item []json.RawMessage }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	type item struct {
		Item    []json.RawMessage
		Request *struct {
			Method string
			URL    struct {
				Host  []string
				Path  []string
				Query []struct{ Key string }
			}
		}
	}
	known := map[string]map[string]bool{} // "GET /packages/v2/{x}" -> query keys
	param := regexp.MustCompile(`\{\{?[A-Za-z]+\}?\}`)
	var walk func([]json.RawMessage)
	walk = func(items []json.RawMessage) {
		for _, raw := range items {
			var it item
			if json.Unmarshal(raw, &it) != nil {
				continue
			}
			walk(it.Item)
			if it.Request == nil {
				continue
			}
			u := strings.Join(it.Request.URL.Host, "") + "/" + strings.Join(it.Request.URL.Path, "/")
			u = strings.TrimSuffix(strings.ReplaceAll(u, "{{Metrc.api.server}}", ""), "/")
			key := it.Request.Method + " " + param.ReplaceAllString(u, "{x}")
			qs := map[string]bool{}
			for _, q := range it.Request.URL.Query {
				qs[q.Key] = true
			}
			known[key] = qs
		}
	}
	walk(doc.Item)
	for _, s := range served {
		key := s.method + " " + param.ReplaceAllString(s.path, "{x}")
		qs, ok := known[key]
		if !ok {
			t.Errorf("%s is not in Metrc's collection", key)
			continue
		}
		if s.query != "" && !qs[s.query] {
			t.Errorf("%s: Metrc's collection has no %s", key, s.query)
		}
	}
}
