package metrc

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"tracesync/app"
)

// specDir holds Metrc's own documents (swagger, Postman, v2 doc examples).
const specDir = "../../../shared/metrc"

func needSpecs(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(specDir, "metrc-swagger-v2.yaml")); err != nil {
		t.Skipf("Metrc's specs are not at %s (they live beside the repository in ../shared/metrc): %v", specDir, err)
	}
}

// specOp is one method+path as a document describes it.
type specOp struct {
	source   string
	params   map[string]bool // query parameter -> required
	example  string          // bru: the example response
	examples []string
}

// specs maps "METHOD /path/{}" (parameters anonymised, no trailing slash)
// to what each document says.
type specs map[string][]specOp

var pathParam = regexp.MustCompile(`\{\{?[^}/]*\}?\}`)

func specKey(method, path string) string {
	path = strings.TrimRight(pathParam.ReplaceAllString(path, "{}"), "/")
	return strings.ToUpper(method) + " " + path
}

func (s specs) add(method, path string, op specOp) {
	k := specKey(method, path)
	s[k] = append(s[k], op)
}

// loadSwagger reads the swagger's paths, methods and query parameters with
// a line scanner (the file is regular; no YAML library needed).
func loadSwagger(t *testing.T, s specs) {
	f, err := os.Open(filepath.Join(specDir, "metrc-swagger-v2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var path, method string
	var op *specOp
	var name, in string
	var required bool
	flushParam := func() {
		if op != nil && name != "" && in == "query" {
			op.params[name] = required
		}
		name, in, required = "", "", false
	}
	flushOp := func() {
		flushParam()
		if op != nil {
			s.add(method, path, *op)
		}
		op = nil
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			flushOp()
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case len(line) > 4 && strings.HasPrefix(line, "    ") && line[4] != ' ' && strings.HasSuffix(line, ":"):
			flushOp()
			method = strings.TrimSuffix(strings.TrimSpace(line), ":")
			op = &specOp{source: "swagger", params: map[string]bool{}}
		case strings.HasPrefix(line, "      - ") && op != nil:
			flushParam()
			kv(strings.TrimPrefix(line, "      - "), &name, &in, &required)
		case strings.HasPrefix(line, "        ") && op != nil:
			kv(strings.TrimSpace(line), &name, &in, &required)
		}
	}
	flushOp()
}

func kv(line string, name, in *string, required *bool) {
	k, v, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	v = strings.TrimSpace(v)
	switch k {
	case "name":
		*name = v
	case "in":
		*in = v
	case "required":
		*required = v == "true"
	}
}

var bruRequired = regexp.MustCompile(`- (\w+) \(Required\)`)

// loadBru reads the v2 doc examples: URL, method, query, required
// parameters and the example response.
func loadBru(t *testing.T, s specs) {
	files, err := filepath.Glob(filepath.Join(specDir, "v2-doc-examples", "*", "*.bru"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no doc examples: %v", err)
	}
	for _, fn := range files {
		b, err := os.ReadFile(fn)
		if err != nil {
			t.Fatal(err)
		}
		var method, path string
		op := specOp{source: filepath.Base(filepath.Dir(fn)) + "/" + filepath.Base(fn), params: map[string]bool{}}
		lines := strings.Split(string(b), "\n")
		block := ""
		for i, line := range lines {
			if strings.HasSuffix(line, " {") && !strings.HasPrefix(line, " ") {
				block = strings.TrimSuffix(line, " {")
				if block == "get" || block == "post" || block == "put" || block == "delete" {
					method = block
				}
				continue
			}
			if line == "}" {
				block = ""
				continue
			}
			switch block {
			case "get", "post", "put", "delete":
				if u, ok := strings.CutPrefix(strings.TrimSpace(line), "url: {{baseUrl}}"); ok {
					path = u
				}
			case "params:query":
				if k, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
					op.params[k] = false
				}
			case "docs":
				if m := bruRequired.FindStringSubmatch(line); m != nil {
					op.params[m[1]] = true
				}
				if strings.Contains(line, "Example Response:") {
					var ex []string
					for _, l := range lines[i+1:] {
						if l == "}" {
							break
						}
						ex = append(ex, strings.TrimPrefix(l, "  "))
					}
					op.example = strings.TrimSpace(strings.Join(ex, "\n"))
				}
			}
		}
		if method != "" && path != "" {
			s.add(method, path, op)
		}
	}
}

// loadPostman reads the California collection's v2 requests.
func loadPostman(t *testing.T, s specs) {
	b, err := os.ReadFile(filepath.Join(specDir, "ca-postman.json"))
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		Name    string `json:"name"`
		Item    []json.RawMessage
		Request *struct {
			Method string `json:"method"`
			URL    struct {
				Host  []string `json:"host"`
				Path  []string `json:"path"`
				Query []struct {
					Key string `json:"key"`
				} `json:"query"`
			} `json:"url"`
		} `json:"request"`
	}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var it item
		if json.Unmarshal(raw, &it) != nil {
			return
		}
		for _, sub := range it.Item {
			walk(sub)
		}
		if it.Request == nil {
			return
		}
		host := strings.Join(it.Request.URL.Host, "")
		host = strings.TrimPrefix(host, "{{Metrc.api.server}}")
		path := host + "/" + strings.Join(it.Request.URL.Path, "/")
		if !strings.Contains(path, "/v2") {
			return
		}
		op := specOp{source: "postman", params: map[string]bool{}}
		for _, q := range it.Request.URL.Query {
			op.params[q.Key] = false
		}
		s.add(it.Request.Method, path, op)
	}
	var root struct {
		Item []json.RawMessage `json:"item"`
	}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	for _, it := range root.Item {
		walk(it)
	}
}

func loadSpecs(t *testing.T) specs {
	t.Helper()
	needSpecs(t)
	s := specs{}
	loadSwagger(t, s)
	loadBru(t, s)
	loadPostman(t, s)
	if len(s) < 100 {
		t.Fatalf("only %d operations read from the specs", len(s))
	}
	return s
}

// exercise runs every call of the client against a server that answers
// 200 with an empty list, and returns what was sent: endpoint template ->
// query keys.
func exercise(t *testing.T) map[string]map[string]bool {
	t.Helper()
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/transfers/v2/incoming"):
			io.WriteString(w, `{"Data":[{"Id":4,"DeliveryId":0}],"TotalPages":1}`)
		case strings.HasSuffix(r.URL.Path, "/deliveries"):
			io.WriteString(w, `{"Data":[{"Id":5}],"TotalPages":1}`)
		case r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/external/") || strings.HasPrefix(r.URL.Path, "/packages/v2/LABEL")):
			io.WriteString(w, `{"Id":1}`)
		case r.Method == http.MethodGet:
			io.WriteString(w, `{"Data":[],"TotalPages":1}`)
		default:
			io.WriteString(w, `{"Ids":[1],"Warnings":null}`)
		}
	})
	c, obs := newTestClient(t, s.URL, nil)
	ctx := context.Background()
	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Facilities(ctx)
	must(err)
	_, err = c.Units(ctx)
	must(err)
	_, err = c.Items(ctx, "L")
	must(err)
	_, err = c.Locations(ctx, "L")
	must(err)
	_, err = c.Packages(ctx, "L", true, now.Add(-time.Hour), now)
	must(err)
	_, err = c.Packages(ctx, "L", false, time.Time{}, time.Time{})
	must(err)
	_, err = c.PackageByLabel(ctx, "L", "LABEL")
	must(err)
	_, err = c.Adjustments(ctx, "L", "LABEL")
	must(err)
	_, err = c.IncomingTransfers(ctx, "L", now.Add(-time.Hour), now)
	must(err)
	_, err = c.ReceiptByExternalNumber(ctx, "L", "R1")
	must(err)
	_, err = c.ActiveReceipts(ctx, "L", time.UTC, now.Add(-time.Hour), now)
	must(err)
	for _, e := range c.CreatePackages(ctx, "L", []app.PackageCreate{{}}) {
		must(e)
	}
	for _, e := range c.AdjustPackages(ctx, "L", []app.PackageAdjust{{}}) {
		must(e)
	}
	for _, e := range c.ChangeLocations(ctx, "L", []app.LocationChange{{}}) {
		must(e)
	}
	for _, e := range c.FinishPackages(ctx, "L", []app.PackageFinish{{}}) {
		must(e)
	}
	for _, e := range c.CreateReceipts(ctx, "L", []app.SalesReceipt{{SalesDateTime: "2026-03-01T10:00:00.000"}}) {
		must(e)
	}
	for _, e := range c.CreateOutgoingTemplates(ctx, "L", []app.OutgoingTemplate{{}}) {
		must(e)
	}
	// The 401 probe of lookups.
	_, err = c.get(ctx, "L", "GET /packages/v2/active", "/packages/v2/active", nil)
	must(err)

	reqs, cs := s.requests(), obs.all()
	if len(reqs) != len(cs) {
		t.Fatalf("%d requests, %d observed", len(reqs), len(cs))
	}
	used := map[string]map[string]bool{}
	for i, x := range cs {
		method, tmpl, _ := strings.Cut(x.Endpoint, " ")
		if method != reqs[i].Method {
			t.Errorf("observed %s for a %s", x.Endpoint, reqs[i].Method)
		}
		// The concrete path must fit the template.
		if !templateMatches(tmpl, reqs[i].Path) {
			t.Errorf("path %s does not fit template %s", reqs[i].Path, tmpl)
		}
		if used[x.Endpoint] == nil {
			used[x.Endpoint] = map[string]bool{}
		}
		for k := range reqs[i].Query {
			used[x.Endpoint][k] = true
		}
	}
	return used
}

func templateMatches(tmpl, path string) bool {
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if !strings.HasPrefix(ts[i], "{") && ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// TestConformance: every method+path the client uses is in Metrc's
// documents, with the query parameters they require, and nothing they do
// not know.
func TestConformance(t *testing.T) {
	s := loadSpecs(t)
	used := exercise(t)
	want := []string{
		"GET /facilities/v2", "GET /unitsofmeasure/v2/active", "GET /items/v2/active", "GET /locations/v2/active",
		"GET /packages/v2/active", "GET /packages/v2/inactive", "GET /packages/v2/{label}", "GET /packages/v2/adjustments",
		"GET /transfers/v2/incoming", "GET /transfers/v2/{id}/deliveries", "GET /transfers/v2/deliveries/{id}/packages",
		"GET /sales/v2/receipts/external/{externalNumber}", "GET /sales/v2/receipts/active",
		"POST /packages/v2", "POST /packages/v2/adjust", "PUT /packages/v2/location", "PUT /packages/v2/finish",
		"POST /sales/v2/receipts", "POST /transfers/v2/templates/outgoing",
	}
	for _, ep := range want {
		if used[ep] == nil {
			t.Errorf("client did not call %s", ep)
		}
	}
	eps := make([]string, 0, len(used))
	for ep := range used {
		eps = append(eps, ep)
	}
	sort.Strings(eps)
	for _, ep := range eps {
		method, path, _ := strings.Cut(ep, " ")
		ops := s[specKey(method, path)]
		if len(ops) == 0 {
			t.Errorf("%s is in none of Metrc's documents", ep)
			continue
		}
		known := map[string]bool{}
		var sources []string
		for _, op := range ops {
			sources = append(sources, op.source)
			for p, req := range op.params {
				known[p] = true
				if req && !used[ep][p] {
					t.Errorf("%s: %s requires %s, not sent", ep, op.source, p)
				}
			}
		}
		for p := range used[ep] {
			if !known[p] {
				t.Errorf("%s: query parameter %s is in no document (%v)", ep, p, sources)
			}
		}
		t.Logf("%-50s %v", ep, sources)
	}
}

// example returns the doc example response of one .bru file.
func example(t *testing.T, s specs, method, path string) string {
	t.Helper()
	for _, op := range s[specKey(method, path)] {
		if op.example != "" && strings.HasSuffix(op.source, ".bru") {
			return op.example
		}
	}
	t.Fatalf("no example response for %s %s", method, path)
	return ""
}

// TestDocExamplesDecode: Metrc's example responses, served as they are,
// come out of the client's calls with the fields the engine uses intact.
func TestDocExamplesDecode(t *testing.T) {
	s := loadSpecs(t)
	bodies := map[string]string{}
	for _, p := range []string{"/facilities/v2", "/unitsofmeasure/v2/active", "/items/v2/active", "/locations/v2/active",
		"/packages/v2/active", "/packages/v2/inactive", "/packages/v2/{label}", "/packages/v2/adjustments",
		"/transfers/v2/incoming", "/transfers/v2/{id}/deliveries", "/transfers/v2/deliveries/{id}/packages",
		"/sales/v2/receipts/external/{externalNumber}", "/sales/v2/receipts/active"} {
		bodies[p] = example(t, s, "GET", p)
	}
	for _, p := range []string{"/packages/v2/adjust", "/sales/v2/receipts", "/transfers/v2/templates/outgoing"} {
		if ex := example(t, s, "POST", p); !strings.Contains(ex, `"Ids"`) {
			t.Errorf("POST %s example %q", p, ex)
		}
	}
	srv := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		p := r.URL.Path
		switch {
		case strings.HasPrefix(p, "/transfers/v2/deliveries/"):
			p = "/transfers/v2/deliveries/{id}/packages"
		case strings.HasPrefix(p, "/transfers/v2/") && strings.HasSuffix(p, "/deliveries"):
			p = "/transfers/v2/{id}/deliveries"
		case strings.HasPrefix(p, "/sales/v2/receipts/external/"):
			p = "/sales/v2/receipts/external/{externalNumber}"
		case strings.HasPrefix(p, "/packages/v2/ABC"):
			p = "/packages/v2/{label}"
		}
		b, ok := bodies[p]
		if !ok {
			w.WriteHeader(404)
			return
		}
		io.WriteString(w, b)
	})
	c, _ := newTestClient(t, srv.URL, nil)
	ctx := context.Background()

	fs, err := c.Facilities(ctx)
	if err != nil || len(fs) == 0 || fs[0] != (app.Facility{License: "403-X0001", Name: "Cultivation LLC", DisplayName: "Cultivation on Road St"}) {
		t.Errorf("facilities %+v, %v", fs, err)
	}
	us, err := c.Units(ctx)
	if err != nil || len(us) != 6 || us[0] != (app.Unit{Name: "Each", Abbreviation: "ea", QuantityType: "CountBased"}) {
		t.Errorf("units %+v, %v", us, err)
	}
	items, err := c.Items(ctx, "L")
	if err != nil || len(items) == 0 || items[0] != (app.Item{ID: 1, Name: "Buds", Category: "Buds", UnitOfMeasure: "Ounces"}) {
		t.Errorf("items %+v, %v", items, err)
	}
	locs, err := c.Locations(ctx, "L")
	if err != nil || len(locs) != 2 || locs[0] != (app.Location{ID: 1, Name: "Harvest Location"}) {
		t.Errorf("locations %+v, %v", locs, err)
	}
	lm := time.Date(2026, 2, 8, 7, 5, 59, 804361000, time.UTC)
	wantPkg := app.MetrcPackage{ID: 2, Label: "ABCDEF012345670000010042", Item: "Buds", Quantity: 1, UnitOfMeasure: "Ounces", PackagedDate: "2014-11-29", LastModified: lm}
	ps, err := c.Packages(ctx, "L", true, time.Time{}, time.Time{})
	if err != nil || len(ps) != 2 || ps[0] != wantPkg {
		t.Errorf("active packages %+v, %v", ps, err)
	}
	ps, err = c.Packages(ctx, "L", false, time.Time{}, time.Time{})
	wantInactive := wantPkg
	wantInactive.Quantity, wantInactive.Finished = 0, true
	wantInactive.LastModified = time.Date(2026, 2, 8, 7, 5, 59, 913844800, time.UTC)
	if err != nil || len(ps) != 2 || ps[0] != wantInactive {
		t.Errorf("inactive packages %+v, %v", ps, err)
	}
	p, err := c.PackageByLabel(ctx, "L", "ABCDEF012345670000010042")
	wantPkg.LastModified = time.Date(2026, 2, 8, 7, 5, 59, 665445700, time.UTC)
	if err != nil || p != wantPkg {
		t.Errorf("package by label %+v, %v", p, err)
	}
	adj, err := c.Adjustments(ctx, "L", "ABCDEF012345670000010111")
	want := app.Adjustment{PackageLabel: "ABCDEF012345670000010111", Quantity: -2, UnitOfMeasure: "Each", Reason: "Spoilage", Note: "Cooler stopped working", Date: "2024-01-20"}
	if err != nil || len(adj) != 1 || adj[0] != want {
		t.Errorf("adjustments %+v, %v", adj, err)
	}
	ts, err := c.IncomingTransfers(ctx, "123-ABC", time.Time{}, time.Time{})
	if err != nil || len(ts) != 1 {
		t.Fatalf("transfers %+v, %v", ts, err)
	}
	tr := ts[0]
	if tr.ID != 1 || tr.ManifestNumber != "0000000001" || tr.ShipperLicense != "123-ABC" || tr.ShipperName != "Lofty Med-Cultivation B" || len(tr.Packages) < 2 {
		t.Errorf("transfer %+v", tr)
	}
	if tp := tr.Packages[0]; tp != (app.TransferPackage{Label: "ABCDEF012345670000010026", Item: "Buds", Quantity: 10, UnitOfMeasure: "Ounces", State: "Accepted"}) {
		t.Errorf("transfer package %+v", tp)
	}
	r, err := c.ReceiptByExternalNumber(ctx, "L", "ABC-123")
	if err != nil || r.ID != 1 || r.ExternalReceiptNumber != "ABC-123" || r.SalesDateTime != "2016-01-01T17:35:45.000" || r.SalesCustomerType != "Consumer" {
		t.Errorf("receipt %+v, %v", r, err)
	}
	rs, err := c.ActiveReceipts(ctx, "L", time.UTC, time.Now().Add(-time.Hour), time.Now())
	if err != nil || len(rs) != 2 || rs[1].ExternalReceiptNumber != "ABC-124" {
		t.Errorf("active receipts %+v, %v", rs, err)
	}
}
