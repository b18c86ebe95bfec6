package metrcsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOutage503(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{Outage: Outage503})
	a := w.call("GET", "/packages/v2/active"+q(licA), nil)
	w.want(a, 503)
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !strings.Contains(string(a.body), "<html>") {
		t.Errorf("503 answer %v %s", a.header, a.body)
	}
	// even a bad key gets the proxy's page: Metrc itself is not reached
	a, _ = w.try(context.Background(), "GET", "/facilities/v2", nil, "x", "y")
	w.want(a, 503)
	w.sim.SetFaults(Faults{})
	w.want(w.call("GET", "/packages/v2/active"+q(licA), nil), 200)
}

func TestOutageDrop(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{Outage: OutageDrop})
	body := []any{receipt("D-1", "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1))}
	for _, m := range []string{"GET", "POST"} {
		_, err := w.try(context.Background(), m, "/sales/v2/receipts"+q(licA), body, DemoVendorKey, DemoUserKey)
		if err == nil {
			t.Fatalf("%s: answer during a drop outage", m)
		}
	}
	if w.sim.CountReceipts(licA, "D-1") != 0 {
		t.Error("a dropped request was applied")
	}
	if st := w.sim.Stats(); st.Dropped < 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestOutageHang(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{Outage: OutageHang})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := w.try(ctx, "GET", "/packages/v2/active"+q(licA), nil, DemoVendorKey, DemoUserKey)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a deadline", err)
	}
	if st := w.sim.Stats(); st.Hung != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestLatency(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := w.try(ctx, "GET", "/packages/v2/active"+q(licA), nil, DemoVendorKey, DemoUserKey); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want a deadline", err)
	}
	w.sim.SetFaults(Faults{Latency: time.Millisecond})
	w.want(w.call("GET", "/packages/v2/active"+q(licA), nil), 200)
}

func TestGetRateLimit(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{GetRateLimit: 2, RetryAfter: 1500 * time.Millisecond})
	path := "/packages/v2/active" + q(licA)
	w.want(w.call("GET", path, nil), 200)
	w.want(w.call("GET", path, nil), 200)
	a := w.call("GET", path, nil)
	w.want(a, 429)
	if a.header.Get("Retry-After") != "2" || !strings.Contains(string(a.body), "limit of API calls") {
		t.Errorf("429 answer %v %s", a.header, a.body)
	}
	// per license: B has its own budget; writes are not limited
	w.want(w.call("GET", "/packages/v2/active"+q(licB), nil), 200)
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), []any{receipt("X", "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1))}), 200)
	w.clk.Add(500 * time.Millisecond) // one token back
	w.want(w.call("GET", path, nil), 200)
	w.want(w.call("GET", path, nil), 429)
	w.sim.SetFaults(Faults{GetRateLimit: 2})
	if a := w.call("GET", path, nil); a.status != 429 || a.header.Get("Retry-After") != "" {
		t.Errorf("no RetryAfter: %d %v", a.status, a.header)
	}
	if st := w.sim.Stats(); st.RateLimited != 3 {
		t.Errorf("RateLimited %d", st.RateLimited)
	}
}

func TestFail500(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{Fail500: []string{"/sales/"}})
	w.want(w.call("GET", "/sales/v2/receipts/active"+q(licA), nil), 500)
	w.want(w.call("GET", "/packages/v2/active"+q(licA), nil), 200)

	w.sim.SetFaults(Faults{Fail500: []string{"/packages/v2/active"}, Fail500Prob: 0.5})
	fails := 0
	for i := 0; i < 100; i++ {
		if w.call("GET", "/packages/v2/active"+q(licA), nil).status == 500 {
			fails++
		}
	}
	if fails < 25 || fails > 75 {
		t.Errorf("%d of 100 failed at p=0.5", fails)
	}
	// the same seed draws the same sequence
	seq := func() string {
		s := New(Options{RandSeed: 7})
		s.AddLicense(licA, "A")
		s.SetFaults(Faults{Fail500: []string{"/"}, Fail500Prob: 0.3})
		var b strings.Builder
		for i := 0; i < 40; i++ {
			r := httptest.NewRequest("GET", "/packages/v2/active"+q(licA), nil)
			r.SetBasicAuth(DemoVendorKey, DemoUserKey)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, r)
			b.WriteString(http.StatusText(rec.Code)[:1])
		}
		return b.String()
	}
	if a, b := seq(), seq(); a != b {
		t.Errorf("seeded draws differ: %s %s", a, b)
	}
}

func TestDropAfterApply(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.SetFaults(Faults{DropAfterApply: 1})
	body := []any{receipt("A-1", "2026-03-10T10:00:00.000", line(tagP2, 1, "Each", 1))}
	if _, err := w.try(context.Background(), "POST", "/sales/v2/receipts"+q(licA), body, DemoVendorKey, DemoUserKey); err == nil {
		t.Fatal("answer despite DropAfterApply")
	}
	if w.sim.CountReceipts(licA, "A-1") != 1 || w.qty(licA, tagP2) != 49 {
		t.Fatal("write not applied before the drop")
	}
	// a rejected write is answered normally; reads are never dropped
	bad := []any{receipt("A-2", "2026-03-10T10:00:00.000", line(tagP2, 1000, "Each", 1))}
	w.want(w.call("POST", "/sales/v2/receipts"+q(licA), bad), 400)
	w.want(w.call("GET", "/packages/v2/active"+q(licA), nil), 200)
	// PUTs too
	if _, err := w.try(context.Background(), "PUT", "/packages/v2/location"+q(licA),
		[]any{map[string]any{"Label": tagP2, "Location": "Vault", "MoveDate": "2026-03-10"}}, DemoVendorKey, DemoUserKey); err == nil {
		t.Fatal("PUT answered despite DropAfterApply")
	}
	if p, _ := w.sim.Package(licA, tagP2); p.Location != "Vault" {
		t.Error("PUT not applied before the drop")
	}
}

func TestSchedule(t *testing.T) {
	w := newTestWorld(t, nil)
	w.sim.Schedule(
		Phase{After: 10 * time.Second, Faults: Faults{Outage: Outage503}},
		Phase{After: 20 * time.Second, Faults: Faults{Fail500: []string{"/"}}},
		Phase{After: 30 * time.Second},
	)
	path := "/packages/v2/active" + q(licA)
	for _, step := range []struct {
		at     time.Duration
		status int
	}{{0, 200}, {10 * time.Second, 503}, {19 * time.Second, 503}, {20 * time.Second, 500}, {30 * time.Second, 200}, {time.Hour, 200}} {
		c := newClock()
		w.clk.mu.Lock()
		w.clk.t = c.t.Add(step.at)
		w.clk.mu.Unlock()
		if a := w.call("GET", path, nil); a.status != step.status {
			t.Errorf("at %v: %d, want %d", step.at, a.status, step.status)
		}
	}
	if f := w.sim.Faults(); f.Outage != OutageNone || len(f.Fail500) != 0 {
		t.Errorf("after the schedule: %+v", f)
	}
	w.sim.Schedule(Phase{Faults: Faults{Outage: OutageHang}})
	if w.sim.Faults().Outage != OutageHang {
		t.Error("phase at 0 not in force")
	}
	w.sim.SetFaults(Faults{})
	if w.sim.Faults().Outage != OutageNone {
		t.Error("SetFaults did not cancel the schedule")
	}
}

func TestControlEndpoints(t *testing.T) {
	w := newTestWorld(t, nil)
	put := func(path, body string) answer {
		req, _ := http.NewRequest("PUT", w.srv.URL+path, strings.NewReader(body))
		resp, err := w.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, b}
	}
	a := put("/sim/faults", `{"Outage":"503","Latency":"5ms","GetRateLimit":5,"RetryAfter":2000,"Fail500":["/sales/"],"Fail500Prob":0.5,"DropAfterApply":0.25}`)
	w.want(a, 200)
	f := w.sim.Faults()
	if f.Outage != Outage503 || f.Latency != 5*time.Millisecond || f.GetRateLimit != 5 || f.RetryAfter != 2*time.Second ||
		len(f.Fail500) != 1 || f.Fail500Prob != 0.5 || f.DropAfterApply != 0.25 {
		t.Fatalf("faults %+v", f)
	}
	var back Faults
	w.call("GET", "/sim/faults", nil).json(t, &back)
	if back.Outage != Outage503 || back.Latency != f.Latency || back.RetryAfter != f.RetryAfter {
		t.Errorf("GET /sim/faults %+v", back)
	}
	w.want(put("/sim/faults", `{"Outage":"sideways"}`), 400)
	w.want(put("/sim/schedule", `[{"After":"1m","Faults":{"Outage":"drop"}}]`), 200)
	if w.sim.Faults().Outage != OutageNone {
		t.Error("schedule phase started early")
	}
	w.clk.Add(time.Minute)
	if w.sim.Faults().Outage != OutageDrop {
		t.Error("schedule phase not started")
	}
	w.want(put("/sim/faults", `{}`), 200)
	w.want(put("/sim/package", `{"License":"`+licA+`","Label":"`+tagP2+`","Quantity":7,"OnHold":true}`), 200)
	if p, _ := w.sim.Package(licA, tagP2); p.Quantity != 7 || !p.OnHold {
		t.Errorf("package %+v", p)
	}
	var ps []SimPackage
	w.call("GET", "/sim/packages"+q(licA), nil).json(t, &ps)
	if len(ps) != 2 {
		t.Errorf("packages %d", len(ps))
	}
	w.want(w.call("GET", "/facilities/v2", nil), 200)
	var st SimStats
	w.call("GET", "/sim/stats", nil).json(t, &st)
	if st.Requests["GET 200"] == 0 {
		t.Errorf("stats %+v", st)
	}
	// controls refuse anyone but loopback
	for _, ra := range []string{"10.0.0.5:4000", "[2001:db8::1]:4000", "garbage"} {
		r := httptest.NewRequest("PUT", "/sim/faults", bytes.NewBufferString(`{"Outage":"503"}`))
		r.RemoteAddr = ra
		rec := httptest.NewRecorder()
		w.sim.ServeHTTP(rec, r)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d", ra, rec.Code)
		}
	}
	if w.sim.Faults().Outage != OutageNone {
		t.Error("a remote client changed the faults")
	}
}

func TestFaultsJSONRoundTrip(t *testing.T) {
	f := Faults{Outage: OutageHang, Latency: 1500 * time.Millisecond, RetryAfter: time.Second, Fail500: []string{"/a"}, Fail500Prob: 0.1, DropAfterApply: 0.2, GetRateLimit: 3}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"Latency":"1.5s"`) || !strings.Contains(string(b), `"Outage":"hang"`) {
		t.Errorf("json %s", b)
	}
	var g Faults
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if g.Latency != f.Latency || g.Outage != f.Outage || g.Fail500[0] != "/a" || g.GetRateLimit != 3 {
		t.Errorf("round trip %+v", g)
	}
}

func TestTransport(t *testing.T) {
	s := New(Options{Seed: "demo"})
	c := &http.Client{Transport: s.Transport()}
	get := func() (*http.Response, error) {
		req, _ := http.NewRequest("GET", "http://sim.invalid/packages/v2/active"+q(DemoRetailLicense)+"&pageSize=5", nil)
		req.SetBasicAuth(DemoVendorKey, DemoUserKey)
		return c.Do(req)
	}
	resp, err := get()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	var p page[pkgRead]
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || len(p.Data) != 5 {
		t.Fatalf("%v %+v", err, p)
	}
	s.SetFaults(Faults{Outage: OutageDrop})
	if _, err := get(); !errors.Is(err, ErrDropped) {
		t.Errorf("drop: %v", err)
	}
	s.SetFaults(Faults{Outage: Outage503})
	if resp, err := get(); err != nil || resp.StatusCode != 503 {
		t.Errorf("503: %v %v", resp, err)
	}
}

func TestServe(t *testing.T) {
	s := New(Options{Seed: "demo"})
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", s, func(u string) { urls <- u }) }()
	var u string
	select {
	case u = <-urls:
	case err := <-done:
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u+"/facilities/v2/", nil)
	req.SetBasicAuth(DemoVendorKey, DemoUserKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	// a hanging request does not hold up shutdown
	s.SetFaults(Faults{Outage: OutageHang})
	go func() {
		req, _ := http.NewRequest("GET", u+"/facilities/v2/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for s.Stats().Hung == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), "0.0.0.0:0", s, nil); err == nil {
		t.Error("served on a non-loopback address")
	}
}
