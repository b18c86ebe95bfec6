package metrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesync/app"
)

const (
	testVendor = "vendor-KEY-0123456789"
	testUser   = "user-KEY-9876543210"
)

// seen is one request a scripted server received.
type seen struct {
	Method, Path string
	Query        map[string][]string
	Body         string
	User, Pass   string
}

// scripted is an httptest server answering with a script: a function of
// the request number (0-based) and the request.
type scripted struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newScripted(t *testing.T, answer func(n int, r *http.Request, body string, w http.ResponseWriter)) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u, p, _ := r.BasicAuth()
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, seen{r.Method, r.URL.Path, r.URL.Query(), string(b), u, p})
		s.mu.Unlock()
		answer(n, r, string(b), w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// calls collects what the observer saw.
type calls struct {
	mu sync.Mutex
	cs []app.Call
}

func (c *calls) observe(x app.Call) { c.mu.Lock(); c.cs = append(c.cs, x); c.mu.Unlock() }
func (c *calls) all() []app.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]app.Call(nil), c.cs...)
}

func newTestClient(t *testing.T, url string, mod func(*Options)) (*Client, *calls) {
	t.Helper()
	obs := &calls{}
	o := Options{BaseURL: url, VendorKey: testVendor, UserKey: testUser, GetRate: MaxGetRate, WriteInterval: -1, Observer: obs.observe}
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, obs
}

func metrcErr(t *testing.T, err error) *app.MetrcError {
	t.Helper()
	var me *app.MetrcError
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *app.MetrcError", err, err)
	}
	return me
}

func checkNoKeys(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, k := range []string{testVendor, testUser} {
			if strings.Contains(s, k) {
				t.Errorf("API key in %q", s)
			}
		}
	}
}

func TestNewOptions(t *testing.T) {
	if StateURL("CA") != "https://api-ca.metrc.com" || SandboxURL("ca") != "https://sandbox-api-ca.metrc.com" {
		t.Fatal("state URLs")
	}
	good := []string{"https://api-ca.metrc.com", "https://api-co.metrc.com/", "http://127.0.0.1:8080", "http://127.8.9.1",
		"http://[::1]:9000", "http://localhost:1234", "https://proxy.example.com/metrc"}
	for _, u := range good {
		if _, err := New(Options{BaseURL: u, VendorKey: "v", UserKey: "u"}); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
	bad := []Options{
		{BaseURL: "http://api-ca.metrc.com", VendorKey: "v", UserKey: "u"},
		{BaseURL: "http://10.0.0.1", VendorKey: "v", UserKey: "u"},
		{BaseURL: "ftp://127.0.0.1", VendorKey: "v", UserKey: "u"},
		{BaseURL: "api-ca.metrc.com", VendorKey: "v", UserKey: "u"},
		{BaseURL: "https://" + testVendor + ":" + testUser + "@api-ca.metrc.com", VendorKey: "v", UserKey: "u"},
		{BaseURL: "https://api-ca.metrc.com", VendorKey: "", UserKey: "u"},
		{BaseURL: "https://api-ca.metrc.com", VendorKey: "v", UserKey: "u", GetRate: 51},
		{BaseURL: "https://api-ca.metrc.com", VendorKey: "v", UserKey: "u", VendorGetRate: 151},
		{BaseURL: "https://api-ca.metrc.com", VendorKey: "v", UserKey: "u", ChunkSize: 11},
		{BaseURL: "https://api-ca.metrc.com", VendorKey: "v", UserKey: "u", MaxConcurrentGets: 11},
	}
	for _, o := range bad {
		_, err := New(o)
		if err == nil {
			t.Errorf("New(%+v) accepted", o)
			continue
		}
		checkNoKeys(t, err.Error())
	}
}

func TestAuthAndLicenseSent(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		io.WriteString(w, `{"Data":[{"Id":1,"Name":"Vault"}],"TotalPages":1}`)
	})
	c, obs := newTestClient(t, s.URL, nil)
	locs, err := c.Locations(context.Background(), "C11-0000001-LIC")
	if err != nil || len(locs) != 1 || locs[0].Name != "Vault" {
		t.Fatalf("Locations = %v, %v", locs, err)
	}
	r := s.requests()[0]
	if r.User != testVendor || r.Pass != testUser {
		t.Errorf("basic auth %q/%q", r.User, r.Pass)
	}
	if r.Query["licenseNumber"][0] != "C11-0000001-LIC" || r.Query["pageSize"][0] != "20" || r.Query["pageNumber"][0] != "1" {
		t.Errorf("query %v", r.Query)
	}
	cs := obs.all()
	if len(cs) != 1 || cs[0].Endpoint != "GET /locations/v2/active" || cs[0].License != "C11-0000001-LIC" || cs[0].Status != 200 || cs[0].Err != nil {
		t.Errorf("observed %+v", cs)
	}
}

func TestPaginationAndWindows(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		q := r.URL.Query()
		page := q.Get("pageNumber")
		start := q.Get("lastModifiedStart")
		fmt.Fprintf(w, `{"Data":[{"Id":%d,"Label":"L-%s-%s","Quantity":"2.5","Item":{"Name":"Buds"},"IsOnHold":"true","LastModified":"2026-03-01T00:00:00+00:00"}],"TotalPages":3,"PageSize":20}`,
			n, start, page)
	})
	c, obs := newTestClient(t, s.URL, nil)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	pkgs, err := c.Packages(context.Background(), "LIC-1", true, from, from.Add(36*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 6 { // 2 windows x 3 pages
		t.Fatalf("%d packages, want 6", len(pkgs))
	}
	if p := pkgs[0]; p.Quantity != 2.5 || p.Item != "Buds" || !p.OnHold {
		t.Errorf("package decoded as %+v", p)
	}
	for _, r := range s.requests() {
		a, _ := time.Parse(time.RFC3339, r.Query["lastModifiedStart"][0])
		b, _ := time.Parse(time.RFC3339, r.Query["lastModifiedEnd"][0])
		if b.Sub(a) > 24*time.Hour || b.Before(a) {
			t.Errorf("window %s .. %s", a, b)
		}
	}
	if n := len(obs.all()); n != 6 {
		t.Errorf("%d calls observed", n)
	}
}

// TestErrorClasses: each HTTP outcome maps to DESIGN.md's class.
func TestErrorClasses(t *testing.T) {
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		class   app.ErrorClass
		status  int
		message string
		retry   bool
	}{
		{"400", func(w http.ResponseWriter) { w.WriteHeader(400); io.WriteString(w, `{"Message":"No license"}`) }, app.ClassPermanent, 400, "No license", false},
		{"401", func(w http.ResponseWriter) { w.WriteHeader(401) }, app.ClassAuth, 401, "", false},
		{"403", func(w http.ResponseWriter) { w.WriteHeader(403); io.WriteString(w, "Forbidden") }, app.ClassAuth, 403, "Forbidden", false},
		{"429 seconds", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			io.WriteString(w, "The limit of API calls allowed has been exceeded")
		}, app.ClassRateLimited, 429, "The limit of API calls allowed has been exceeded", true},
		{"429 date", func(w http.ResponseWriter) { w.Header().Set("Retry-After", date); w.WriteHeader(429) }, app.ClassRateLimited, 429, "", true},
		{"429 bare", func(w http.ResponseWriter) { w.WriteHeader(429) }, app.ClassRateLimited, 429, "", false},
		{"500", func(w http.ResponseWriter) { w.WriteHeader(500) }, app.ClassAmbiguous, 500, "", false},
		{"503 html", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(503)
			io.WriteString(w, "<html><head><title>Service Unavailable</title></head><body>down</body></html>")
		}, app.ClassAmbiguous, 503, "Service Unavailable", false},
		{"405", func(w http.ResponseWriter) { w.WriteHeader(405) }, app.ClassPermanent, 405, "", false},
		{"eof", func(w http.ResponseWriter) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, app.ClassAmbiguous, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) { tt.answer(w) })
			c, obs := newTestClient(t, s.URL, nil)
			_, err := c.Items(context.Background(), "LIC-1")
			me := metrcErr(t, err)
			if me.Class != tt.class || me.Status != tt.status {
				t.Fatalf("class %v status %d, want %v %d (%v)", me.Class, me.Status, tt.class, tt.status, err)
			}
			if tt.message != "" && (len(me.Messages) == 0 || me.Messages[0] != tt.message) {
				t.Errorf("messages %q, want %q", me.Messages, tt.message)
			}
			if tt.retry != (me.RetryAfter > 0) {
				t.Errorf("RetryAfter %s", me.RetryAfter)
			}
			cs := obs.all()
			if len(cs) != 1 || cs[0].Err == nil || cs[0].Status != tt.status {
				t.Errorf("observed %+v", cs)
			}
			checkNoKeys(t, err.Error())
			// The same class on a write, for every object.
			errs := c.AdjustPackages(context.Background(), "LIC-1", []app.PackageAdjust{{Label: "A"}, {Label: "B"}})
			if tt.retry { // the facility is paused: nothing sent
				for _, e := range errs {
					if metrcErr(t, e).Class != app.ClassRateLimited {
						t.Errorf("write during 429 pause: %v", e)
					}
				}
				return
			}
			for i, e := range errs {
				if got := metrcErr(t, e).Class; got != tt.class && !(tt.status == 400) {
					t.Errorf("write object %d: %v, want %v", i, got, tt.class)
				}
			}
		})
	}
}

func TestNotSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	c, _ := newTestClient(t, "http://"+addr, nil)
	errs := c.CreateReceipts(context.Background(), "LIC-1", []app.SalesReceipt{{SalesDateTime: "2026-03-01T10:00:00.000", ExternalReceiptNumber: "R1"}})
	if me := metrcErr(t, errs[0]); me.Class != app.ClassNotSent || me.Status != 0 {
		t.Fatalf("refused connection: %v (class %v)", errs[0], me.Class)
	}
	checkNoKeys(t, errs[0].Error())

	// DNS failure, without asking a real resolver (tests stay on loopback):
	// the dialer fails the way the resolver does.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api-xx.metrc.com", IsNotFound: true}}
	}}}
	c2, err := New(Options{BaseURL: "https://api-xx.metrc.com", VendorKey: testVendor, UserKey: testUser, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Units(context.Background())
	if me := metrcErr(t, err); me.Class != app.ClassNotSent {
		t.Fatalf("DNS failure: %v (class %v)", err, me.Class)
	}
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Errorf("DNS error not kept: %v", err)
	}
}

func TestTimeoutAmbiguous(t *testing.T) {
	release := make(chan struct{})
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c, _ := newTestClient(t, s.URL, func(o *Options) { o.Timeout = 200 * time.Millisecond })
	errs := c.CreatePackages(context.Background(), "LIC-1", []app.PackageCreate{{Tag: "T1"}})
	me := metrcErr(t, errs[0])
	if me.Class != app.ClassAmbiguous || !strings.Contains(me.Error(), "timeout") {
		t.Fatalf("hang: %v (class %v)", me, me.Class)
	}
}

// Test413Rechunk: a server that takes at most 3 objects gets 10 objects as
// 5 (413), then 2 + 2 + 1 ... the size halves until it fits and stays.
func Test413Rechunk(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		var objs []json.RawMessage
		json.Unmarshal([]byte(body), &objs)
		if len(objs) > 3 {
			w.WriteHeader(413)
			return
		}
		io.WriteString(w, `{"Ids":[1],"Warnings":null}`)
	})
	c, _ := newTestClient(t, s.URL, nil)
	in := make([]app.PackageAdjust, 12)
	for i := range in {
		in[i].Label = fmt.Sprint("L", i)
	}
	for i, e := range c.AdjustPackages(context.Background(), "LIC-1", in) {
		if e != nil {
			t.Errorf("object %d: %v", i, e)
		}
	}
	var sizes []int
	var labels []string
	for _, r := range s.requests() {
		var objs []app.PackageAdjust
		json.Unmarshal([]byte(r.Body), &objs)
		sizes = append(sizes, len(objs))
		if len(objs) <= 3 {
			for _, o := range objs {
				labels = append(labels, o.Label)
			}
		}
	}
	want := []int{10, 5, 2, 2, 2, 2, 2, 2} // 10 -> 413, 5 -> 413, then pairs for all 12
	if fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Errorf("request sizes %v, want %v", sizes, want)
	}
	if len(labels) != 12 || labels[0] != "L0" || labels[11] != "L11" {
		t.Errorf("objects sent %v", labels)
	}
	// The learned size is kept for the facility.
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
	c.AdjustPackages(context.Background(), "LIC-1", in[:4])
	if r := s.requests(); len(r) != 2 {
		t.Errorf("second call sent %d requests, want 2", len(r))
	}
}

// Test400Rows: Metrc's row messages go to the objects they name (row =
// position in the chunk); the other objects of that request are not sent;
// other chunks are unaffected.
func Test400Rows(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		var objs []app.PackageAdjust
		json.Unmarshal([]byte(body), &objs)
		for i, o := range objs {
			if o.Label == "BAD" {
				w.WriteHeader(400)
				fmt.Fprintf(w, `[{"row":%d,"message":"Package BAD not found."}]`, i)
				return
			}
		}
		io.WriteString(w, `{"Ids":[1],"Warnings":null}`)
	})
	c, _ := newTestClient(t, s.URL, func(o *Options) { o.ChunkSize = 4 })
	in := []app.PackageAdjust{{Label: "A"}, {Label: "B"}, {Label: "C"}, {Label: "D"}, {Label: "E"}, {Label: "BAD"}, {Label: "G"}}
	errs := c.AdjustPackages(context.Background(), "LIC-1", in)
	for i, e := range errs {
		switch {
		case i < 4:
			if e != nil {
				t.Errorf("object %d of the good chunk: %v", i, e)
			}
		case i == 5:
			me := metrcErr(t, e)
			if me.Class != app.ClassPermanent || me.Status != 400 || len(me.Messages) != 1 || me.Messages[0] != "Package BAD not found." {
				t.Errorf("bad object: %+v", me)
			}
		default:
			if me := metrcErr(t, e); me.Class != app.ClassNotSent {
				t.Errorf("object %d beside the bad one: %v", i, me.Class)
			}
		}
	}
}

// Test400Unattributed: a 400 naming no row is narrowed down by halves.
func Test400Unattributed(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		if strings.Contains(body, `"BAD"`) {
			w.WriteHeader(400)
			io.WriteString(w, `{"Message":"Something is wrong."}`)
			return
		}
		io.WriteString(w, `{"Ids":[1],"Warnings":null}`)
	})
	c, _ := newTestClient(t, s.URL, nil)
	in := []app.PackageFinish{{Label: "A"}, {Label: "B"}, {Label: "BAD"}, {Label: "D"}}
	errs := c.FinishPackages(context.Background(), "LIC-1", in)
	for i, e := range errs {
		if i == 2 {
			if me := metrcErr(t, e); me.Class != app.ClassPermanent || me.Messages[0] != "Something is wrong." {
				t.Errorf("bad object: %+v", me)
			}
		} else if e != nil {
			t.Errorf("object %d: %v", i, e)
		}
	}
}

func TestStopAfterOutage(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) { w.WriteHeader(502) })
	c, _ := newTestClient(t, s.URL, func(o *Options) { o.ChunkSize = 2 })
	errs := c.CreatePackages(context.Background(), "LIC-1", make([]app.PackageCreate, 5))
	if len(s.requests()) != 1 {
		t.Fatalf("%d requests after a 502", len(s.requests()))
	}
	want := []app.ErrorClass{app.ClassAmbiguous, app.ClassAmbiguous, app.ClassNotSent, app.ClassNotSent, app.ClassNotSent}
	for i, e := range errs {
		if got := metrcErr(t, e).Class; got != want[i] {
			t.Errorf("object %d: %v, want %v", i, got, want[i])
		}
	}
}

func TestReceiptNeedsLocalTime(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		io.WriteString(w, `{"Ids":[1],"Warnings":null}`)
	})
	c, _ := newTestClient(t, s.URL, nil)
	errs := c.CreateReceipts(context.Background(), "LIC-1", []app.SalesReceipt{
		{SalesDateTime: "2026-03-01T10:00:00Z", ExternalReceiptNumber: "R1"},
		{SalesDateTime: "2026-03-01T10:00:00.000", ExternalReceiptNumber: "R2"},
	})
	if me := metrcErr(t, errs[0]); me.Class != app.ClassPermanent {
		t.Errorf("offset SalesDateTime: %v", me.Class)
	}
	if errs[1] != nil {
		t.Errorf("local SalesDateTime: %v", errs[1])
	}
	r := s.requests()
	if len(r) != 1 || !strings.Contains(r[0].Body, `"SalesDateTime":"2026-03-01T10:00:00.000"`) || strings.Contains(r[0].Body, "R1") {
		t.Errorf("sent %v", r)
	}
}

func TestLookups(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/NOPE"):
			w.WriteHeader(404)
		case strings.HasSuffix(r.URL.Path, "/THEIRS"):
			w.WriteHeader(401)
			io.WriteString(w, `{"Message":"Authorization denied"}`)
		case r.URL.Path == "/packages/v2/active":
			io.WriteString(w, `{"Data":[],"TotalPages":0}`)
		default:
			io.WriteString(w, `{"Id":7,"Label":"MINE","LocationName":"Vault","UnitOfMeasureName":"Grams","Quantity":3,"LastModified":"2026-02-08T07:05:59.804361+00:00"}`)
		}
	})
	c, obs := newTestClient(t, s.URL, nil)
	ctx := context.Background()
	p, err := c.PackageByLabel(ctx, "LIC-1", "MINE")
	if err != nil || p.ID != 7 || p.Location != "Vault" || p.LastModified.IsZero() {
		t.Fatalf("PackageByLabel = %+v, %v", p, err)
	}
	if _, err := c.PackageByLabel(ctx, "LIC-1", "NOPE"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if _, err := c.PackageByLabel(ctx, "LIC-1", "THEIRS"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("401 for another license's package: %v", err)
	}
	if _, err := c.ReceiptByExternalNumber(ctx, "LIC-1", "NOPE"); !errors.Is(err, app.ErrNotFound) {
		t.Errorf("receipt 404: %v", err)
	}
	var eps []string
	for _, x := range obs.all() {
		eps = append(eps, x.Endpoint)
	}
	want := "GET /packages/v2/{label}"
	if eps[0] != want || eps[2] != want || eps[3] != "GET /packages/v2/active" {
		t.Errorf("endpoints %v", eps)
	}
}

func TestLookupAuthFailure(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) { w.WriteHeader(401) })
	c, _ := newTestClient(t, s.URL, nil)
	_, err := c.PackageByLabel(context.Background(), "LIC-1", "X")
	if me := metrcErr(t, err); me.Class != app.ClassAuth || errors.Is(err, app.ErrNotFound) {
		t.Fatalf("bad credentials on a lookup: %v", err)
	}
}

// TestKeysNeverLeak: a server echoing the Authorization header in its
// error bodies does not get the keys into errors.
func TestKeysNeverLeak(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		w.WriteHeader(400)
		u, p, _ := r.BasicAuth()
		fmt.Fprintf(w, `[{"row":0,"message":"bad auth %s %s %s"}]`, r.Header.Get("Authorization"), u, p)
	})
	c, obs := newTestClient(t, s.URL, nil)
	errs := c.AdjustPackages(context.Background(), "LIC-1", []app.PackageAdjust{{Label: "A"}})
	checkNoKeys(t, errs[0].Error(), fmt.Sprintf("%+v", errs[0]))
	for _, x := range obs.all() {
		checkNoKeys(t, x.Err.Error(), fmt.Sprintf("%+v", x))
	}
	if !strings.Contains(errs[0].Error(), "[redacted]") {
		t.Errorf("expected redaction in %q", errs[0])
	}
}

func TestRateLimitPause(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, `[]`)
	})
	c, _ := newTestClient(t, s.URL, nil)
	_, err := c.Items(context.Background(), "LIC-1")
	if metrcErr(t, err).Class != app.ClassRateLimited {
		t.Fatal(err)
	}
	_, err = c.Items(context.Background(), "LIC-1")
	if me := metrcErr(t, err); me.Class != app.ClassRateLimited || me.RetryAfter <= 0 {
		t.Fatalf("second call during Retry-After: %v", err)
	}
	if len(s.requests()) != 1 {
		t.Errorf("%d requests sent during the pause", len(s.requests()))
	}
	// Another facility is not paused.
	if _, err := c.Items(context.Background(), "LIC-2"); err != nil {
		t.Errorf("other license: %v", err)
	}
}

// TestConcurrentGetLimit: no more than MaxConcurrentGets GETs of a
// facility are in flight at once.
func TestConcurrentGetLimit(t *testing.T) {
	var mu sync.Mutex
	inflight, peak := 0, 0
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		io.WriteString(w, `[]`)
	})
	c, _ := newTestClient(t, s.URL, func(o *Options) { o.MaxConcurrentGets = 3 })
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Locations(context.Background(), "LIC-1") }()
	}
	wg.Wait()
	if peak > 3 {
		t.Errorf("%d concurrent GETs, limit 3", peak)
	}
}

// TestBucketWindow: at no moment do more than k events of a bucket fall in
// one window, and the rate is close to its setting even with 10 callers.
func TestBucketWindow(t *testing.T) {
	b := newBucket(100)
	var mu sync.Mutex
	var at []time.Time
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if err := b.wait(context.Background()); err != nil {
					t.Error(err)
				}
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Times were taken after wait returned, so allow the margin's jitter.
	rate, most := rateOf(at)
	// Loose bounds: -race on a shared machine; BenchmarkGetRate measures.
	if rate > 100 || rate < 80 {
		t.Errorf("rate %.1f/s, want just under 100", rate)
	}
	if most > 100 {
		t.Errorf("%d events in one second", most)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: %v", err)
	}
}

func TestCanceledBeforeSend(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {})
	c, _ := newTestClient(t, s.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	errs := c.CreateReceipts(ctx, "LIC-1", []app.SalesReceipt{{SalesDateTime: "2026-03-01T10:00:00"}})
	if me := metrcErr(t, errs[0]); me.Class != app.ClassNotSent || len(s.requests()) != 0 {
		t.Fatalf("canceled call: %v, %d requests", me, len(s.requests()))
	}
}

func TestPathEscaping(t *testing.T) {
	s := newScripted(t, func(n int, r *http.Request, body string, w http.ResponseWriter) {
		if r.RequestURI != "/sales/v2/receipts/external/R%201%2F2%3F?licenseNumber=LIC+1" {
			t.Errorf("request URI %s", r.RequestURI)
		}
		io.WriteString(w, `{"Id":1,"ExternalReceiptNumber":"R 1/2?"}`)
	})
	c, _ := newTestClient(t, s.URL, nil)
	if r, err := c.ReceiptByExternalNumber(context.Background(), "LIC 1", "R 1/2?"); err != nil || r.ID != 1 {
		t.Fatalf("%+v, %v", r, err)
	}
}
