package metrcsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 10, 18, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	licA  = "C10-0000001-LIC"
	licB  = "C10-0000002-LIC"
	tagP1 = "1A4FF0100000022000000001" // Flower, 100 g
	tagP2 = "1A4FF0100000022000000002" // Jar, 50 ea
	tagB1 = "1A4FF0100000022000000901" // license B's
)

// testWorld is an empty sim with two licenses, two items, two locations
// and a few packages, served on 127.0.0.1.
type testWorld struct {
	t   *testing.T
	sim *Sim
	srv *httptest.Server
	clk *clock
}

func newTestWorld(t *testing.T, mod func(*Options)) *testWorld {
	t.Helper()
	clk := newClock()
	o := Options{Seed: "empty", RandSeed: 1, Now: clk.Now}
	if mod != nil {
		mod(&o)
	}
	s := New(o)
	s.AddLicense(licA, "Test Shop A")
	s.AddLicense(licB, "Test Shop B")
	for _, l := range []string{licA, licB} {
		s.AddItem(l, "Flower", "Flower", "Grams")
		s.AddItem(l, "Jar 3.5g", "Flower", "Each")
		s.AddLocation(l, "Floor")
		s.AddLocation(l, "Vault")
	}
	s.AddPackage(licA, SimPackage{Label: tagP1, Item: "Flower", Quantity: 100, UnitOfMeasure: "Grams", Location: "Vault"})
	s.AddPackage(licA, SimPackage{Label: tagP2, Item: "Jar 3.5g", Quantity: 50, UnitOfMeasure: "Each", Location: "Floor"})
	s.AddPackage(licB, SimPackage{Label: tagB1, Item: "Flower", Quantity: 10, UnitOfMeasure: "Grams"})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &testWorld{t: t, sim: s, srv: srv, clk: clk}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// call sends one request with the right keys (unless the path starts with
// "noauth:") and returns the answer; a transport error fails the test.
func (w *testWorld) call(method, path string, body any) answer {
	w.t.Helper()
	a, err := w.try(context.Background(), method, path, body, DemoVendorKey, DemoUserKey)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

func (w *testWorld) try(ctx context.Context, method, path string, body any, vendor, user string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.srv.URL+path, rd)
	if err != nil {
		return answer{}, err
	}
	if vendor != "" || user != "" {
		req.SetBasicAuth(vendor, user)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{resp.StatusCode, resp.Header, b}, nil
}

func (w *testWorld) want(a answer, status int) {
	w.t.Helper()
	if a.status != status {
		w.t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
}

func (w *testWorld) qty(lic, label string) float64 {
	w.t.Helper()
	p, ok := w.sim.Package(lic, label)
	if !ok {
		w.t.Fatalf("package %s missing", label)
	}
	return p.Quantity
}

// page is the v2 envelope as a test reads it.
type page[T any] struct {
	Data          []T
	Total         int
	TotalRecords  int
	PageSize      int
	RecordsOnPage int
	Page          int
	CurrentPage   int
	TotalPages    int
}

type pkgRead struct {
	Id                  int64
	Label               string
	Quantity            float64
	UnitOfMeasureName   string
	LocationName        *string
	SourcePackageLabels *string
	IsOnHold            bool
	FinishedDate        *string
	LastModified        string
	Item                struct{ Name string }
}

func rows(t *testing.T, a answer) []rowError {
	t.Helper()
	var r []rowError
	a.json(t, &r)
	return r
}

func hasRow(rs []rowError, row int, substr string) bool {
	for _, r := range rs {
		if r.Row == row && strings.Contains(r.Message, substr) {
			return true
		}
	}
	return false
}

func q(lic string) string { return "?licenseNumber=" + lic }

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
